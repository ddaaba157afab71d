// The package as a new user meets it through a bundler: the packed tarball (npm pack) is
// installed into a temporary app folder, the app in tests/bundlers/app/ (all three entry
// points, a worker included) is built by Vite 7 (production build, and its dev server
// with and without the isolation headers), webpack 5 and esbuild, and also served as is
// (plain <script type="module">, the package folder untouched), then run in one headless
// Chromium. No qforget-specific bundler configuration, except esbuild's, which the README
// documents. Every static app is served with
// `Content-Security-Policy: script-src 'self' 'wasm-unsafe-eval'` (workers included), so a
// glue that evaluates strings fails here too; and each is served twice, as most sites are (one thread, the SIMD build) and cross-origin isolated (the threaded
// build, its pthreads in workers started from where the bundler put their script). Not a
// test of the API: the app does a tiny fit and predict; the other tests check results.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import sirv from 'sirv';
import * as vite from 'vite';
import webpack from 'webpack';

import { CHROMIUM, CHROMIUM_ARGS } from './browser.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP = join(ROOT, 'tests/bundlers/app');
const CSP = "script-src 'self' 'wasm-unsafe-eval'";
// What makes a page cross-origin isolated, so that it may run the threaded build.
const ISOLATION_HEADERS = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

const run = promisify(execFile);

/** Packs the repository into `dir`; resolves to the tarball's path. */
async function packPackage(dir) {
  const { stdout } = await run('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: ROOT });
  return join(dir, stdout.trim().split('\n').at(-1));
}

/**
 * A new app in `dir`/`name`, as a user makes one: a package.json, the tarball installed
 * with npm, and the test app's page and code, its bare specifiers rewritten by `rewrite`.
 */
async function makeApp(dir, name, tarball, rewrite = (code) => code) {
  const app = join(dir, name);
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: `qforget-${name}-app`, private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--no-update-notifier', tarball], { cwd: app });
  await cp(join(APP, 'index.html'), join(app, 'index.html'));
  await writeFile(join(app, 'main.js'), rewrite(await readFile(join(APP, 'main.js'), 'utf8')));
  return app;
}

// Each builder makes its app in `dir` from `tarball` and returns the folder to serve and
// the page's path in it.
const builders = {
  // The package folder as npm installed it, imported by path: no bundler at all.
  async static(dir, tarball) {
    const app = await makeApp(dir, 'static', tarball, (code) => code.replace(/from 'qforget(\/\w+)?'/g, (_, sub) => `from './node_modules/qforget/web/${sub ? sub.slice(1) : 'index'}.js'`));
    return { root: app, page: '/index.html' };
  },

  async viteBuild(dir, tarball) {
    const app = await makeApp(dir, 'vite-build', tarball);
    await vite.build({ root: app, configFile: false, logLevel: 'error', build: { outDir: join(app, 'vite-dist') } });
    return { root: join(app, 'vite-dist'), page: '/index.html' };
  },

  async webpack(dir, tarball) {
    const app = await makeApp(dir, 'webpack', tarball);
    const compiler = webpack({ mode: 'production', context: app, entry: './main.js', output: { path: join(app, 'dist') } });
    const stats = await promisify(compiler.run.bind(compiler))();
    await promisify(compiler.close.bind(compiler))();
    if (stats.hasErrors()) throw new Error(stats.toString({ all: false, errors: true }));
    await cp(join(APP, 'index.html'), join(app, 'dist/index.html'));
    return { root: join(app, 'dist'), page: '/index.html' };
  },

  // esbuild copies nothing that `new URL(…, import.meta.url)` names: as the README says,
  // the worker is an entry point and the package's dist/ folder is copied next to the bundle.
  async esbuild(dir, tarball) {
    const app = await makeApp(dir, 'esbuild', tarball);
    await esbuild.build({
      absWorkingDir: app,
      entryPoints: ['main.js', { in: 'qforget/worker_thread.js', out: 'worker_thread' }],
      bundle: true,
      format: 'esm',
      outdir: join(app, 'out'),
      logLevel: 'error',
    });
    await cp(join(app, 'node_modules/qforget/web/dist'), join(app, 'out/dist'), { recursive: true });
    await writeFile(join(app, 'out/index.html'), (await readFile(join(APP, 'index.html'), 'utf8')));
    return { root: join(app, 'out'), page: '/index.html' };
  },
};

/**
 * Serves `root` read-only on localhost with the strict CSP on every response, and with
 * the two headers that make a page cross-origin isolated when `isolated`.
 */
async function serveStatic(root, { isolated }) {
  const headers = { 'content-security-policy': CSP };
  if (isolated) Object.assign(headers, ISOLATION_HEADERS);
  const setHeaders = (res) => { for (const [name, value] of Object.entries(headers)) res.setHeader(name, value); };
  const files = sirv(root, { dev: true, setHeaders });
  const server = http.createServer((req, res) => files(req, res, () => {
    res.writeHead(404, headers);
    res.end('not found');
  }));
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((done) => server.close(done)) };
}

/**
 * Loads `url` in a fresh context of `browser`. Resolves to the app's report, what the
 * page logged, and the workers it started, each with the CSP its script was served with.
 */
async function runApp(browser, url) {
  const context = await browser.newContext();
  const log = [];
  const csp = new Map();  // response URL -> its content-security-policy header
  const workers = [];
  try {
    const page = await context.newPage();
    page.on('console', (message) => message.type() === 'error' && log.push(message.text()));
    page.on('pageerror', (error) => log.push(`uncaught: ${error.message}`));
    context.on('response', async (response) => csp.set(response.url(), (await response.allHeaders())['content-security-policy']));
    page.on('worker', (worker) => workers.push(worker.url()));
    await page.goto(url);
    let report;
    try {
      report = await (await page.waitForFunction(() => window.qforgetReport, null, { timeout: 60_000 })).jsonValue();
    } catch (error) {
      report = { error: `no report from the page (${error.message})` };
    }
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    return { report, log, cores, workers: workers.map((worker) => ({ url: worker, csp: csp.get(worker) })) };
  } finally {
    await context.close();
  }
}

// `threads`: how many the page and the worker must run (1: the SIMD build, else the
// threaded one).
function checkReport(name, { report, log }, threads) {
  const why = `${name}: ${JSON.stringify(report)}\npage errors:\n${log.join('\n')}`;
  assert.equal(report.error, undefined, why);
  for (const part of ['page', 'worker']) {
    assert.equal(report[part].logits.length, 2, why);
    assert.ok(report[part].logits.every(Number.isFinite), why);
    assert.deepEqual([report[part].build, report[part].threads], threads === 1 ? ['simd', 1] : ['threads', threads], `${part}: ${why}`);
  }
  // The same seed, data and build: the page and the worker train the same model.
  assert.deepEqual(report.worker.logits, report.page.logits, why);
  assert.deepEqual(report.storage.logits, report.worker.logits, why);
  assert.deepEqual(report.storage.keys, ['model'], why);
}

describe('bundlers (the packed package in a new app, in Chromium)', { timeout: 600_000 }, () => {
  let dir;
  let tarball;
  let browser;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qforget-bundlers-'));
    tarball = await packPackage(dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const name of Object.keys(builders)) {
    it(`${name}: qforget, qforget/worker and qforget/storage work under a strict CSP, with and without threads`, async () => {
      const { root, page } = await builders[name](dir, tarball);
      const logits = [];
      for (const isolated of [false, true]) {
        const server = await serveStatic(root, { isolated });
        try {
          const result = await runApp(browser, server.origin + page);
          const threads = isolated ? Math.min(8, result.cores) : 1;
          checkReport(`${name}${isolated ? ', isolated' : ''}`, result, threads);
          // The worker ran under the same policy: a worker's CSP is its script's header.
          assert.ok(result.workers.length > 0, `${name}: no worker was seen`);
          for (const worker of result.workers) assert.equal(worker.csp, CSP, `${name}: worker ${worker.url}`);
          logits.push(result.report.page.logits);
        } finally {
          await server.close();
        }
      }
      assert.deepEqual(logits[1], logits[0], `${name}: the threaded build trains what the SIMD build does`);
    });
  }

  it('Vite dev server (dependency pre-bundling): all three entry points work, with and without threads', async () => {
    const app = await makeApp(dir, 'vite-dev', tarball);
    for (const isolated of [false, true]) {
      const headers = isolated ? ISOLATION_HEADERS : {};
      const server = await vite.createServer({ root: app, configFile: false, logLevel: 'error', server: { host: '127.0.0.1', port: 0, strictPort: false, headers } });
      try {
        await server.listen();
        const result = await runApp(browser, server.resolvedUrls.local[0]);
        checkReport(`vite dev${isolated ? ', isolated' : ''}`, result, isolated ? Math.min(8, result.cores) : 1);
      } finally {
        await server.close();
      }
    }
  });
});
