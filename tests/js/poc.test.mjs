// `npx qforget poc` as a user runs it: the package packed and installed offline into an
// empty project, the command run there on a Fashion-MNIST slice written out as PNGs with a
// labels.csv; its report.json checked and its report.html opened in Chromium. Also: every
// dataset loader gives the same samples for the same images, bad input is one line and exit
// code 1, and Ctrl-C leaves a partial report with exit code 130.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { zipSync } from 'fflate';
import jpeg from 'jpeg-js';
import { dump as dumpNpy } from 'npyjs';
import pngjs from 'pngjs';

import { loadDataset, readIdx } from '../../cli/datasets.mjs';
import { InputError } from '../../cli/input_error.mjs';
import { recommend } from '../../cli/recommend.mjs';
import { createQforget } from '../../web/index.js';
import { withChromium } from './browser.mjs';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const FASHION_TRAIN = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const TRAIN_IMAGES = 600;

let root;     // the temporary directory holding everything below
let project;  // the consumer project qforget is installed in
let slice;    // the Fashion-MNIST slice: {x, y, shape}

// As tests/js/package.test.mjs: no variables of an outer npm or test runner; an npm cache
// of the children's own.
function childEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'NODE_OPTIONS' || key === 'NODE_PATH' || key.startsWith('NODE_TEST')) continue;
    env[key] = value;
  }
  return { ...env, npm_config_cache: join(root, 'npm-cache'), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

async function npm(args, cwd) {
  try {
    return await run('npm', args, { cwd, env: childEnv(), timeout: 90_000, maxBuffer: 16 << 20 });
  } catch (error) {
    throw new Error(`npm ${args.join(' ')} failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`, { cause: error });
  }
}

/** `npx qforget ...args` in the consumer project: {code, stdout, stderr}. */
async function qforget(args, timeout = 120_000) {
  try {
    const { stdout, stderr } = await run('npx', ['qforget', ...args], { cwd: project, env: childEnv(), timeout, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    if (typeof error.code !== 'number') throw error;
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

/** A grey PNG of `pixels` (width × height bytes). */
function png(pixels, width = 28, height = 28) {
  const image = new pngjs.PNG({ width, height });
  for (let p = 0; p < width * height; p++) image.data.set([pixels[p], pixels[p], pixels[p], 255], p * 4);
  return pngjs.PNG.sync.write(image, { colorType: 0 });
}

/** A folder of the first `n` slice images as PNGs (JPEGs with `jpegs`) and its labels.csv. */
function imageFolder(name, n, { jpegs = false } = {}) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const rows = ['file,label'];
  for (let i = 0; i < n; i++) {
    const pixels = slice.x.subarray(i * 784, (i + 1) * 784);
    const file = `img${i}.${jpegs ? 'jpg' : 'png'}`;
    if (jpegs) {
      const rgba = new Uint8Array(784 * 4);
      for (let p = 0; p < 784; p++) rgba.set([pixels[p], pixels[p], pixels[p], 255], p * 4);
      writeFileSync(join(dir, file), jpeg.encode({ data: rgba, width: 28, height: 28 }, 95).data);
    } else {
      writeFileSync(join(dir, file), png(pixels));
    }
    rows.push(`${file},${slice.y[i]}`);
  }
  writeFileSync(join(dir, 'labels.csv'), `${rows.join('\n')}\n`);
  return dir;
}

const npy = (array, shape, dtype) => new Uint8Array(dumpNpy(array, shape, { dtype }));

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'qforget-poc-'));
  const qf = await createQforget({ threads: 1 });
  const { x, y, shape } = readIdx(qf, FASHION_TRAIN, TRAIN_IMAGES);
  slice = { x: x.slice(), y: y.slice(), shape };
  imageFolder('pngs', TRAIN_IMAGES);

  const pack = join(root, 'pack');
  mkdirSync(pack);
  const { stdout } = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', pack], repo);
  const tarball = join(pack, JSON.parse(stdout)[0].filename);
  project = join(root, 'consumer');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'qforget-poc-consumer', version: '1.0.0', private: true, type: 'module' }));
  await npm(['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], project);
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('npx qforget poc', () => {
  it('runs end to end on a folder of PNGs: a complete report, its page rendered in Chromium', { timeout: 150_000 }, async (t) => {
    const out = join(root, 'out');
    const { code, stdout, stderr } = await qforget(['poc', '--data', join(root, 'pngs'), '--epochs', '2', '--request', 'random:0.1', '--methods', 'qmul,rl', '--threads', '1', '--out', out]);
    assert.equal(code, 0, stderr);
    t.diagnostic(stdout);
    assert.match(stderr, /\[ *\d+%\] retraining the reference/, 'progress lines on a non-terminal stderr');
    assert.match(stdout, /Report: .*report\.html/);

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(report.version, 1);
    assert.equal(report.complete, true);
    assert.equal(report.data.samples, TRAIN_IMAGES);
    assert.deepEqual(report.data.inputShape, [28, 28, 1]);
    assert.equal(report.data.training + report.data.validation.samples, TRAIN_IMAGES);
    assert.equal(report.request.forgetSamples + report.request.retainSamples, report.data.training);
    assert.deepEqual(report.runs.map((r) => `${r.method} ${r.lr}`), ['original null', 'qmul 0.01', 'qmul 0.02', 'qmul 0.04', 'rl 0.015', 'rl 0.03', 'rl 0.06']);
    const retrainSeconds = report.retrain.seconds;
    assert.ok(retrainSeconds > 0);
    for (const r of report.runs) {
      for (const key of ['FA', 'RA', 'TA', 'AG', 'seconds']) assert.ok(Number.isFinite(r[key]), `${r.method} ${r.lr}: ${key} ${r[key]}`);
      assert.ok(Math.abs(r.percentOfRetrain - 100 * r.seconds / retrainSeconds) < 1e-2, `${r.method} ${r.lr}: % of retraining`);
    }
    const rec = report.recommendation;
    const budgetSeconds = report.budget * retrainSeconds;
    if (rec === null) {
      assert.ok(report.runs.slice(1).every((r) => r.seconds > 2 * budgetSeconds), 'none recommended: none is within twice the budget');
    } else if (rec.withinBudget) {
      assert.ok(rec.seconds <= budgetSeconds);
      const within = report.runs.slice(1).filter((r) => r.seconds <= budgetSeconds);
      assert.equal(rec.AG, Math.min(...within.map((r) => r.AG)), 'the lowest AG within the budget');
      assert.equal(report.costs.secondsPerRequest, rec.seconds);
      assert.equal(report.costs.forgetSamples, report.request.forgetSamples);
      assert.ok(Math.abs(report.costs.accuracyGivenUp - (report.runs[0].TA - rec.TA)) < 1e-3);
    } else {
      assert.match(rec.why, /No run finished within/);
      assert.ok(rec.seconds <= 2 * budgetSeconds);
    }
    assert.equal(report.costs.retrainSeconds, retrainSeconds);

    const page = pathToFileURL(join(out, 'report.html')).href;
    await withChromium(async (tab, origin, session) => {
      await tab.goto(page);
      const methods = await tab.$$eval('#runs tbody tr', (trs) => trs.map((tr) => tr.cells[0].textContent));
      assert.deepEqual(methods, ['retrain (reference)', 'original', 'qmul', 'qmul', 'qmul', 'rl', 'rl', 'rl']);
      assert.equal(await tab.$$eval('svg#chart circle', (dots) => dots.length), report.runs.length);
      assert.match(await tab.textContent('#recommendation'), rec ? new RegExp(rec.method) : /No method finished/);
      assert.equal(await tab.$$eval('script', (els) => els.length), 0);
      assert.deepEqual(session.consoleErrors, [], 'no console errors');
      assert.deepEqual(session.requests, [page], 'nothing but the page itself was requested');
    });
  });

  it('takes a model file or an ONNX file as the original, and class and ids requests', { timeout: 150_000 }, async () => {
    const qf = await createQforget({ threads: 1 });
    const mine = qf.createModel({ arch: 'mlp', inputShape: [28, 28, 1], numClasses: 10, weightBits: 4, seed: 2 });
    await mine.fit(slice, { epochs: 1, seed: 2 });
    writeFileSync(join(root, 'mine.qfm'), mine.save());
    mine.dispose();
    writeFileSync(join(root, 'ids.txt'), '3\n17\n\n250\n');
    const onnx = fileURLToPath(new URL('../fixtures/onnx/lenet28_opset13.onnx', import.meta.url));
    const cases = [
      // A .qfm is the original as it is (not trained here); the reference is its architecture retrained.
      [['--model', join(root, 'mine.qfm'), '--request', 'class:4'], (r) => {
        assert.deepEqual([r.original.kind, r.original.seconds, r.request.excludedClass], ['qfm', null, 4]);
        assert.ok(r.data.validation.testSamples < r.data.validation.samples, 'the test metrics leave class 4 out');
        assert.ok(r.runs[0].FA > 0, 'the original knows some of class 4');
      }],
      // An ONNX float model is imported and fine-tuned; the ids are rows of the data, all forgotten.
      [['--model', onnx, '--request', `ids:${join(root, 'ids.txt')}`], (r) => {
        assert.deepEqual([r.original.kind, r.request.forgetSamples, r.request.excludedClass], ['onnx', 3, null]);
        assert.ok(r.original.seconds > 0, 'fine-tuned here');
      }],
    ];
    for (const [args, check] of cases) {
      const out = join(root, `out-${args[1].split('.').at(-1)}`);
      const { code, stderr } = await qforget(['poc', '--data', join(root, 'pngs'), '--limit', '300', '--epochs', '1', '--methods', 'qmul', '--threads', '1', '--out', out, ...args]);
      assert.equal(code, 0, stderr);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      assert.equal(report.complete, true);
      assert.deepEqual(report.runs.map((r) => r.method), ['original', 'qmul', 'qmul', 'qmul']);
      check(report);
    }
  });

  it('stops cleanly on Ctrl-C: exit code 130, a partial report of the stages done', { timeout: 120_000 }, async () => {
    const out = join(root, 'stopped');
    // The installed bin in a process group of its own, signalled as a terminal's Ctrl-C
    // signals a foreground job. (Through npx, npm re-raises the SIGINT on itself after its
    // child exits, which a shell reports as exit code 130 too.)
    const child = spawn(join(project, 'node_modules', '.bin', 'qforget'), ['poc', '--data', join(root, 'pngs'), '--epochs', '12', '--methods', 'qmul', '--threads', '1', '--out', out], { cwd: project, env: childEnv(), detached: true });
    let stderr = '';
    let interrupted = false;  // once: a second Ctrl-C would end it the hard way
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (/retraining the reference/.test(stderr) && !interrupted) {
        interrupted = true;
        process.kill(-child.pid, 'SIGINT');
      }
    });
    const code = await new Promise((resolve) => child.on('close', (c, signal) => resolve(c ?? signal)));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /qforget poc: stopped during retrain; the partial report is .*report\.html/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(report.complete, false);
    assert.equal(report.stoppedAt, 'retrain');
    assert.ok(report.original.seconds > 0, 'the original was trained before the stop');
    assert.equal(report.retrain, null);
    assert.deepEqual(report.runs, []);
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /Partial report: the run stopped during <b>retrain<\/b>/);
  });

  it('refuses bad input with one line naming the file or field, and exit code 1', { timeout: 120_000 }, async () => {
    const pngs = join(root, 'pngs');
    const broken = (name, change) => {
      const dir = imageFolder(name, 12);
      change(dir);
      return dir;
    };
    const cases = [
      ['a PNG that is not one', broken('not-png', (d) => writeFileSync(join(d, 'img3.png'), 'not a png')), /img3\.png is not a readable PNG image/],
      ['a row naming a missing file', broken('missing', (d) => writeFileSync(join(d, 'labels.csv'), 'file,label\nimg0.png,1\nghost.png,2\n')), /labels\.csv row 3 names ghost\.png, which does not exist/],
      ['a label out of range', broken('negative', (d) => writeFileSync(join(d, 'labels.csv'), 'file,label\nimg0.png,1\nimg1.png,-1\n')), /labels\.csv row 3 \(img1\.png\): label '-1' is not a class index/],
      ['a label not an integer', broken('fraction', (d) => writeFileSync(join(d, 'labels.csv'), 'file,label\nimg0.png,3.5\nimg1.png,1\n')), /labels\.csv row 2 \(img0\.png\): label '3\.5' is not a class index/],
      ['images of different sizes', broken('sizes', (d) => writeFileSync(join(d, 'img5.png'), png(new Uint8Array(400), 20, 20))), /img5\.png is 20×20 but .*img0\.png is 28×28/],
    ];
    const npyDir = join(root, 'npy-count');
    mkdirSync(npyDir);
    writeFileSync(join(npyDir, 'x.npy'), npy(slice.x.subarray(0, 5 * 784), [5, 28, 28], 'u1'));
    writeFileSync(join(npyDir, 'y.npy'), npy(slice.y.subarray(0, 4), [4], 'u1'));
    cases.push(['label count ≠ sample count in npy', npyDir, /y\.npy has 4 labels .* but .*x\.npy has 5 samples/]);
    const qf = await createQforget({ threads: 1 });
    const small = qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], numClasses: 10, weightBits: 4 });
    writeFileSync(join(root, 'small.qfm'), small.save());
    small.dispose();
    const withArgs = (data, ...args) => ['poc', '--data', data, ...args];
    const runs = [
      ...cases.map(([what, dir, message]) => [what, withArgs(dir), message]),
      ['a model that does not fit the data', withArgs(pngs, '--model', join(root, 'small.qfm')), /small\.qfm takes uint8 samples of shape \[12,12,1\] .* has uint8 samples of shape \[28,28,1\]/],
      ['an unknown flag', withArgs(pngs, '--frobnicate'), /Unknown option '--frobnicate'/],
      ['a bad --request', withArgs(pngs, '--request', 'everything'), /--request must be random:<fraction .*got 'everything'/],
      ['a --budget that is not a percentage', withArgs(pngs, '--budget', '0.1'), /--budget must be a percentage .*got '0\.1'/],
    ];
    for (const [what, args, message] of runs) {
      const { code, stderr } = await qforget(args);
      assert.equal(code, 1, `${what}: exit code (stderr: ${stderr})`);
      const lines = stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${what}: one line, got ${stderr}`);
      assert.match(lines[0], /^qforget poc: /, what);
      assert.match(lines[0], message, what);
    }
  });
});

describe('the dataset loaders', () => {
  it('give the same samples for the same images: PNG folder, .npy pair, .npz and IDX (.gz); JPEG its shape and labels', async () => {
    const qf = await createQforget({ threads: 1 });
    const n = 40;
    const want = { x: slice.x.subarray(0, n * 784), y: slice.y.subarray(0, n), shape: [n, 28, 28, 1] };
    const same = (ds, what) => {
      assert.deepEqual(ds.shape, want.shape, what);
      assert.deepEqual([...ds.y], [...want.y], `${what}: labels`);
      assert.ok(Buffer.from(ds.x).equals(Buffer.from(want.x)), `${what}: pixels`);
      assert.equal(ds.numClasses, 10, what);
    };
    same(loadDataset(qf, join(root, 'pngs'), { limit: n }), 'PNG folder');

    const npyDir = join(root, 'npy');
    mkdirSync(npyDir);
    writeFileSync(join(npyDir, 'x.npy'), npy(want.x, [n, 28, 28], 'u1'));
    writeFileSync(join(npyDir, 'y.npy'), npy(Int32Array.from(want.y), [n], 'i4'));
    same(loadDataset(qf, npyDir), '.npy pair');
    const npz = join(root, 'data.npz');
    writeFileSync(npz, zipSync({ 'x.npy': readFileSync(join(npyDir, 'x.npy')), 'y.npy': readFileSync(join(npyDir, 'y.npy')) }));
    same(loadDataset(qf, npz), '.npz');

    // IDX: big-endian header (magic 0x0000 0x08 rank, then each dimension), then the bytes.
    const idx = (dims, bytes) => {
      const header = Buffer.alloc(4 + 4 * dims.length);
      header.writeUInt32BE(0x0800 + dims.length, 0);
      dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
      return gzipSync(Buffer.concat([header, Buffer.from(bytes)]));
    };
    const idxDir = join(root, 'idx');
    mkdirSync(idxDir);
    writeFileSync(join(idxDir, 'mine-images-idx3-ubyte.gz'), idx([n, 28, 28], want.x));
    writeFileSync(join(idxDir, 'mine-labels-idx1-ubyte.gz'), idx([n], want.y));
    same(loadDataset(qf, idxDir), 'IDX (.gz)');

    const jpegs = loadDataset(qf, imageFolder('jpegs', n, { jpegs: true }));
    assert.deepEqual(jpegs.shape, want.shape, 'JPEG folder: grey images, one channel');
    assert.deepEqual([...jpegs.y], [...want.y], 'JPEG folder: labels');
    assert.throws(() => loadDataset(qf, join(root, 'nowhere')), InputError);
  });
});

describe('the recommendation', () => {
  const runs = [
    { method: 'original', lr: null, seconds: 0, percentOfRetrain: 0, AG: 8, TA: 80 },
    { method: 'qmul', lr: 0.02, seconds: 1, percentOfRetrain: 5, AG: 3, TA: 79 },
    { method: 'qmul', lr: 0.04, seconds: 1.5, percentOfRetrain: 7.5, AG: 2, TA: 78 },
    { method: 'rl', lr: 0.03, seconds: 3, percentOfRetrain: 15, AG: 1, TA: 79 },
    { method: 'salun', lr: 0.05, seconds: 1.8, percentOfRetrain: 9, AG: 4, TA: 79 },
  ];
  it('is the lowest AG within the budget, the runner-up another method', () => {
    const rec = recommend(runs, { retrainSeconds: 20, budget: 0.1 });
    assert.deepEqual([rec.method, rec.lr, rec.withinBudget, rec.runnerUp.method], ['qmul', 0.04, true, 'salun']);
    assert.match(rec.why, /closes 75 % of that gap/);
  });
  it('is the fastest within twice the budget when none fits, said plainly; else none', () => {
    const rec = recommend(runs, { retrainSeconds: 10, budget: 0.05 });
    assert.deepEqual([rec.method, rec.lr, rec.withinBudget], ['qmul', 0.02, false]);
    assert.match(rec.why, /^No run finished within 5 % of retraining's/);
    assert.equal(recommend(runs, { retrainSeconds: 1, budget: 0.1 }), null);
  });
});
