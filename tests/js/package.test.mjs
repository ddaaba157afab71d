// The npm package as a consumer gets it: `npm pack` must ship the built wasm modules (so
// no one needs Emscripten), the JS and the types, and nothing of the sources, tests or
// benchmarks; the tarball must install offline into an empty project (no runtime
// dependencies) and a sample importing 'qforget' must train, forget, save, load and
// predict there with both builds. Uses only temporary directories, removed afterwards,
// and nothing from the repository's node_modules.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));

let root;     // the temporary directory holding everything below
let tarball;  // the packed .tgz
let packed;   // paths inside the tarball, relative to the package root

// Children get a clean environment: no variables of an outer `npm test` (prefix, config)
// or of the test runner, and an npm cache of their own so nothing comes from (or goes
// to) a warm cache.
function childEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'NODE_OPTIONS' || key === 'NODE_PATH' || key.startsWith('NODE_TEST')) continue;
    env[key] = value;
  }
  return {
    ...env,
    npm_config_cache: join(root, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

async function npm(args, cwd) {
  try {
    return await run('npm', args, { cwd, env: childEnv(), timeout: 60_000, maxBuffer: 16 << 20 });
  } catch (error) {
    throw new Error(`npm ${args.join(' ')} failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`, { cause: error });
  }
}

/** The repository's files in `dir` whose names end with one of `suffixes`. */
function repoFiles(dir, suffixes) {
  const abs = join(repo, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .filter((name) => suffixes.some((s) => name.endsWith(s)) && statSync(join(abs, name)).isFile())
    .map((name) => `${dir}/${name}`);
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'qforget-pack-'));
  const destination = join(root, 'pack');
  mkdirSync(destination);
  const { stdout } = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', destination], repo);
  const [info] = JSON.parse(stdout);
  tarball = join(destination, info.filename);
  packed = info.files.map((f) => f.path);
  assert.ok(existsSync(tarball), `npm pack wrote ${tarball}`);
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('npm package', () => {
  it('the tarball holds the built wasm, the JS, the types and the README, and nothing else', () => {
    const has = new Set(packed);
    const required = [
      'package.json',
      'README.md',
      'web/index.js',
      'web/index.d.ts',
      'web/dist/qforget-simd.wasm',
      'web/dist/qforget-simd.js',
      'web/dist/qforget-nosimd.wasm',
      'web/dist/qforget-nosimd.js',
      // Every module and type file of web/ and web/dist/ as the repository has it now
      // (worker.js, storage.js, ... once they exist).
      ...repoFiles('web', ['.js', '.d.ts']),
      ...repoFiles('web/dist', ['.js', '.wasm']),
    ];
    if (existsSync(join(repo, 'LICENSE'))) required.push('LICENSE');
    for (const file of required) assert.ok(has.has(file), `the tarball has ${file}`);
    // The built modules are shipped whole.
    for (const file of ['web/dist/qforget-simd.wasm', 'web/dist/qforget-nosimd.wasm']) {
      assert.ok(statSync(join(repo, file)).size > 100_000, `${file} is a real build`);
    }
    // Every target "exports" names is shipped, when it exists in the repository yet.
    for (const [subpath, entry] of Object.entries(pkg.exports)) {
      const targets = typeof entry === 'string' ? [entry] : Object.values(entry);
      for (const target of targets) {
        if (target.includes('*')) continue;  // ./dist/*: covered by the web/dist files above
        const file = target.replace(/^\.\//, '');
        if (existsSync(join(repo, file))) assert.ok(has.has(file), `exports["${subpath}"] -> ${file} is in the tarball`);
      }
    }
    const forbidden = /^(src|tests|bench|build|node_modules|scripts|demo|\.ci)\/|\.tgz$|^CMakeLists\.txt$/;
    const leaked = packed.filter((file) => forbidden.test(file));
    assert.deepEqual(leaked, [], 'no sources, tests, benchmarks, build trees or dependencies');
    assert.deepEqual(pkg.dependencies ?? {}, {}, 'no runtime dependencies');
  });

  it('installs offline into an empty project, where a sample runs on both builds', { timeout: 60_000 }, async (t) => {
    const project = join(root, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'qforget-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2));
    writeFileSync(join(project, 'sample.mjs'), SAMPLE);
    copyFileSync(new URL('./synthetic.mjs', import.meta.url), join(project, 'synthetic.mjs'));
    await npm(['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], project);

    const installed = join(project, 'node_modules', 'qforget');
    assert.ok(lstatSync(installed).isDirectory(), 'an installed copy, not a link to the repository');
    assert.deepEqual(readdirSync(join(project, 'node_modules')).filter((n) => !n.startsWith('.')), ['qforget'], 'nothing else was installed');
    for (const file of ['web/dist/qforget-simd.wasm', 'web/dist/qforget-nosimd.wasm']) {
      assert.equal(statSync(join(installed, file)).size, statSync(join(repo, file)).size, `${file} installed whole`);
    }

    let stdout, stderr;
    try {
      ({ stdout, stderr } = await run(process.execPath, ['sample.mjs'], { cwd: project, env: childEnv(), timeout: 50_000 }));
    } catch (error) {
      throw new Error(`the sample failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`, { cause: error });
    }
    const line = stdout.trim().split('\n').pop();
    const report = JSON.parse(line);
    t.diagnostic(line);

    // 'qforget' resolved to the installed copy, not to this repository.
    const inside = (url) => relative(realpathSync(project), fileURLToPath(url));
    assert.equal(inside(report.resolved['.']), join('node_modules', 'qforget', 'web', 'index.js'), stderr);
    assert.equal(inside(report.resolved['./dist/qforget-simd.wasm']), join('node_modules', 'qforget', 'web', 'dist', 'qforget-simd.wasm'));
    for (const sub of ['./worker', './storage']) {
      const target = pkg.exports[sub]?.default;
      if (target && existsSync(join(repo, target))) {
        assert.ok(existsSync(fileURLToPath(report.resolved[sub])), `qforget/${sub.slice(2)} resolves to an installed file`);
      }
    }

    assert.deepEqual(report.builds.map((b) => b.simd), [true, false]);
    for (const b of report.builds) {
      const label = `${b.simd ? 'SIMD' : 'no-SIMD'} build`;
      assert.equal(b.isa, b.simd ? 'wasmsimd' : 'scalar', label);
      assert.equal(b.version, report.builds[0].version, label);
      assert.ok(b.accuracy > 0.5, `${label}: accuracy after fit ${b.accuracy}`);
      assert.ok(b.bytes > 0, label);
      assert.equal(b.logits, 50 * 9, label);
      assert.ok(b.samePredictions, `${label}: the loaded model predicts exactly as the saved one`);
      assert.ok(b.refusedBadInput, `${label}: bad input is a QforgetError INVALID_ARGUMENT`);
      assert.ok(b.forgetChangedModel, `${label}: forget changed the model`);
      assert.equal(b.liveHandles, 0, `${label}: every wasm object released`);
    }
  });
});

// The consumer's script: plain ESM importing the package by name.
const SAMPLE = String.raw`
import { createQforget, liveHandles, QforgetError } from 'qforget';

import { synthetic } from './synthetic.mjs';

const slice = (ds, lo, hi) => ({ x: ds.x.slice(lo * 144, hi * 144), y: ds.y.slice(lo, hi), shape: [hi - lo, 12, 12, 1] });
const sameBits = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

const resolved = {};
for (const sub of ['.', './dist/qforget-simd.wasm', './worker', './storage']) {
  try {
    resolved[sub] = import.meta.resolve(sub === '.' ? 'qforget' : 'qforget' + sub.slice(1));
  } catch {
    resolved[sub] = null;
  }
}

const builds = [];
for (const simd of [true, false]) {
  const qf = await createQforget({ simd });
  const model = qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 3 });
  const train = synthetic(300, 1);
  await model.fit(train, { epochs: 2, batchSize: 32, lr: 0.05, seed: 1 });
  const accuracy = model.evaluate(synthetic(100, 2)).accuracy;
  const probe = synthetic(50, 3);
  const before = model.predict(probe.x);
  const forgetSet = slice(train, 0, 6);
  const retain = slice(train, 6, 300);
  await model.forget(forgetSet, { retain, method: 'ft', epochs: 1 });
  const want = model.predict(probe.x);
  const bytes = model.save();
  const loaded = qf.loadModel(bytes);
  const got = loaded.predict(probe.x);
  let refused = false;
  try {
    loaded.predict(new Uint8Array(3));
  } catch (e) {
    refused = e instanceof QforgetError && e.code === 'INVALID_ARGUMENT';
  }
  loaded.dispose();
  model.dispose();
  builds.push({
    simd: qf.simd,
    isa: qf.kernels.isa,
    version: qf.version,
    accuracy,
    bytes: bytes.length,
    logits: got.length,
    samePredictions: sameBits(want, got),
    refusedBadInput: refused,
    forgetChangedModel: !sameBits(before, want),
    liveHandles: liveHandles(),
  });
}
console.log(JSON.stringify({ resolved, builds }));
`;
