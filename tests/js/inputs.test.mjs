// Models of any numeric features, through the real wasm builds: a model that takes
// float32 features trains, predicts, forgets (Q-MUL, BS, rewind), saves and loads; pixels
// and the same values given as features train the same model; labels go up to 65,534
// in a Uint16Array or an Int32Array; dataset hashes name their types.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';

import { createQforget, liveHandles, QforgetError } from '../../web/index.js';
import { datasetSha256 } from '../../web/receipts.js';
import { createQforgetWorker } from '../../web/worker.js';
import { synthetic } from './synthetic.mjs';

const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);

afterEach(() => assert.equal(liveHandles(), 0, 'every wasm object was released'));

/**
 * n samples of `features` real values in `classes` classes: class k shifts feature k % features
 * by +3 over seeded noise in [-1, 1). Labels in a `Labels` array.
 */
function tabular(n, features, classes, seed, Labels = Uint8Array) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const x = new Float32Array(n * features);
  const y = new Labels(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(next() * classes);
    y[i] = k;
    for (let f = 0; f < features; f++) x[i * features + f] = 2 * next() - 1 + (f === k % features ? 3 : 0);
  }
  return { x, y, shape: [n, features] };
}

const FEATURES = { arch: 'mlp', inputShape: [16], inputType: 'float32', numClasses: 4, weightBits: 4, seed: 5 };
const pick = (ds, from, to) => {
  const d = ds.x.length / ds.shape[0];
  return { x: ds.x.slice(from * d, to * d), y: ds.y.slice(from, to), shape: [to - from, ...ds.shape.slice(1)] };
};

for (const simd of [true, false]) {
  describe(`float features (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    it('a model of float32 features trains, predicts, forgets, saves and loads', async () => {
      const qf = await createQforget({ simd });
      const model = qf.createModel({ ...FEATURES, preprocess: { mean: [0.2], std: [1.5] } });
      assert.equal(model.inputType, 'float32');
      assert.deepEqual(model.describe().preprocess, { scale: 1, mean: [0.2], std: [1.5] });
      const train = tabular(400, 16, 4, 1), test = tabular(200, 16, 4, 2);
      await model.fit(train, { epochs: 4, batchSize: 32, lr: 0.05 });
      const accuracy = model.evaluate(test).accuracy;
      assert.ok(accuracy > 0.9, `it learns the features: ${accuracy}`);
      const logits = model.predict(test.x.subarray(0, 3 * 16));
      assert.equal(logits.length, 3 * 4);

      const receipt = await model.forget(pick(train, 0, 20), { retain: pick(train, 20, 400), method: 'qmul', epochs: 2, test, heldOutRetain: test });
      assert.equal(receipt.forgotten, 20);
      assert.equal(receipt.metrics.FA.n, 20);
      // The receipt's hash of the forget set names its types.
      const f = pick(train, 0, 20);
      const header = JSON.stringify({ shape: f.shape, x: 'float32', y: 'uint8' });
      const expected = createHash('sha256').update(header).update('\0').update(Buffer.from(f.x.buffer)).update(f.y).digest('hex');
      assert.equal(receipt.forgetSetSha256, expected);
      // Boundary shrink's adversarial step works on features too.
      const bs = await model.forget(pick(train, 20, 30), { method: 'bs', epochs: 1, lr: 1e-3 });
      assert.equal(bs.method, 'bs');

      const again = qf.loadModel(model.save());
      assert.equal(again.inputType, 'float32');
      assert.deepEqual(again.predict(test.x), model.predict(test.x));
      for (const m of [model, again]) m.dispose();
    });
  });
}

describe('inputs', () => {
  it('pixels, and the same values given as float features, train the same model', async () => {
    const qf = await createQforget();
    // Pixels preprocessed as (p / 255 - 0.5) / 2, against features holding those values.
    const pixels = qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 3, preprocess: { mean: [0.5], std: [2] } });
    const features = qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], inputType: 'float32', numClasses: 9, weightBits: 4, seed: 3 });
    const data = synthetic(200, 7);
    const scale = Math.fround(1 / 255);
    // In float32 as the engine computes it: a product of two floats is exact in a double.
    const asFeatures = { ...data, x: Float32Array.from(data.x, (p) => Math.fround(Math.fround(Math.fround(p * scale) - 0.5) / 2)) };
    const options = { epochs: 2, batchSize: 16, lr: 0.05, seed: 9 };
    await pixels.fit(data, options);
    await features.fit(asFeatures, options);
    assert.deepEqual(features.predict(asFeatures.x), pixels.predict(data.x));
    // A fit of other values would not give them: the check can fail.
    const shifted = { ...asFeatures, x: asFeatures.x.map((v) => v + 0.01) };
    assert.notDeepEqual(features.predict(shifted.x), pixels.predict(data.x));
    for (const m of [pixels, features]) m.dispose();
  });

  it('labels up to 65,534, in a Uint16Array or an Int32Array', async () => {
    const qf = await createQforget();
    const model = qf.createModel({ arch: 'mlp', inputShape: [8], inputType: 'float32', numClasses: 1000, weightBits: 4, seed: 1 });
    const wide = tabular(120, 8, 1000, 3, Uint16Array);
    assert.ok(Math.max(...wide.y) > 255);
    await model.fit(wide, { epochs: 1, batchSize: 16 });
    await model.fit({ ...wide, y: Int32Array.from(wide.y) }, { epochs: 1, batchSize: 16 });
    const receipt = await model.forget(pick(wide, 0, 5), { retain: pick(wide, 5, 120), method: 'qmul', epochs: 1 });
    assert.equal(receipt.epochs[0].qmul.similarLabels.length, 1000);
    const wrong = { ...wide, y: wide.y.slice() };
    wrong.y[7] = 1000;
    await assert.rejects(model.fit(wrong), isError('INVALID_ARGUMENT', /dataset\.y\[7\] = 1000 is not a class: labels must be < 1000/));
    // resolveScenario takes such labels too.
    const split = qf.resolveScenario(wide.y, `class:${wide.y[0]}`, { numClasses: 1000 });
    assert.ok(split.forgetIds.includes(0));
    assert.equal(split.excludedClass, wide.y[0]);
    model.dispose();
  });

  it('a rewind replays a fit of float features', async () => {
    const qf = await createQforget();
    const model = qf.createModel(FEATURES);
    await model.fit(tabular(100, 16, 4, 4), { epochs: 1, batchSize: 16 });
    const base = model.save();
    await model.checkpoint();
    const user = tabular(60, 16, 4, 5);
    const fit = { epochs: 2, batchSize: 8, lr: 0.05, seed: 2 };
    await model.fit(user, fit);
    await model.forget(pick(user, 0, 3), { method: 'rewind', data: user });
    const reference = qf.loadModel(base);
    await reference.fit(pick(user, 3, 60), fit);
    assert.deepEqual(model.save(), reference.save());
    for (const m of [model, reference]) m.dispose();
  });

  it('dataset hashes: the same bytes under other types are another dataset; pixels hash as before', async () => {
    const x = new Uint8Array([1, 2, 3, 4]), y = new Uint8Array([0, 1]);
    const pixels = { x, y, shape: [2, 2] };
    const before = createHash('sha256').update(JSON.stringify([2, 2])).update('\0').update(x).update(y).digest('hex');
    assert.equal(await datasetSha256(pixels), before);
    const wideLabels = await datasetSha256({ x, y: new Uint16Array([0, 1]), shape: [2, 2] });
    assert.notEqual(wideLabels, before);
  });

  it('a worker model says its input type and predicts features', async () => {
    const qf = await createQforgetWorker();
    try {
      const model = await qf.createModel(FEATURES);
      assert.equal(model.inputType, 'float32');
      const logits = await model.predict(tabular(2, 16, 4, 6).x);
      assert.equal(logits.length, 8);
      await assert.rejects(model.predict(new Uint8Array(16)), isError('INVALID_ARGUMENT', /x holds uint8 values, the model takes float32/));
      await model.dispose();
    } finally {
      await qf.terminate();
    }
  });

  it('an NCHW model takes channel planes: the same logits as the NHWC model on the same images', async () => {
    const qf = await createQforget();
    const common = { arch: 'lenet', numClasses: 5, weightBits: 4, seed: 7, preprocess: { mean: [0.2, 0.5], std: [0.3, 0.6] } };
    const nhwc = qf.createModel({ ...common, inputShape: [10, 12, 2] });
    const nchw = qf.createModel({ ...common, inputShape: [2, 10, 12], inputLayout: 'nchw' });
    assert.equal(nhwc.inputLayout, 'nhwc');
    assert.equal(nchw.inputLayout, 'nchw');
    const n = 3, h = 10, w = 12, c = 2, size = h * w * c;
    const hwc = new Uint8Array(n * size), chw = new Uint8Array(n * size);
    for (let s = 0; s < n; s++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < c; k++) {
            const v = (s * 37 + y * 11 + x * 5 + k * 101) % 256;
            hwc[s * size + (y * w + x) * c + k] = v;
            chw[s * size + (k * h + y) * w + x] = v;
          }
        }
      }
    }
    assert.deepEqual(nchw.predict(chw), nhwc.predict(hwc));
    const again = qf.loadModel(nchw.save());
    assert.equal(again.inputLayout, 'nchw');
    assert.deepEqual(again.predict(chw), nchw.predict(chw));
    await assert.rejects(nchw.fit({ x: chw, y: new Uint8Array(n), shape: [n, c, h, w] }, { epochs: 1, augment: { flip: true } }),
      (e) => e.code === 'INVALID_ARGUMENT' && /\(inputLayout 'nchw'\)/.test(e.message));
    for (const m of [nhwc, nchw, again]) m.dispose();
  });
});
