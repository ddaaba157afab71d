// Weight schemes and post-training quantization through the real wasm builds:
// - every weight scheme trains, forgets, saves, loads and predicts the same bits in the
//   SIMD and the no-SIMD build;
// - model.quantize() on Fashion-MNIST: an 8-bit calibrated lenet and resnet8 lose under
//   one point of test accuracy against their float models;
// - a float model made elsewhere (an ONNX graph) quantizes and then fine-tunes;
// - bad input is refused with a QforgetError naming it, and changes nothing.
import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';

import { loadFashionMnist, subset } from '../../bench/fashion_mnist.mjs';
import { createQforget, liveHandles, QforgetError } from '../../web/index.js';
import { generateFloatModel } from './onnx_models.mjs';

afterEach(() => assert.equal(liveHandles(), 0, 'every wasm object was released'));

const ids = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);
const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);
const SCHEMES = ['uniform', 'asymmetric', 'pow2', 'apot', 'codebook'];

describe('weight schemes and post-training quantization', { timeout: 900_000 }, () => {
  let builds;
  let train;
  let test;
  before(async () => {
    builds = { simd: await createQforget({ simd: true }), nosimd: await createQforget({ simd: false }) };
    train = await loadFashionMnist(builds.simd, 'train', 4000);
    test = await loadFashionMnist(builds.simd, 'test', 1000);
  });

  it('every scheme trains, forgets, saves and loads, with the same bits in both builds', async () => {
    const small = subset(train, ids(0, 300));
    for (const scheme of SCHEMES) {
      const logits = {};
      for (const [name, qf] of Object.entries(builds)) {
        const model = qf.createModel({ arch: 'lenet', inputShape: [28, 28, 1], numClasses: 10, weightBits: 4, weightScheme: scheme, seed: 2 });
        try {
          assert.equal(model.describe().weightScheme, scheme === 'uniform' ? undefined : scheme);
          await model.fit(small, { epochs: 2, batchSize: 32, lr: 0.05, seed: 1 });
          await model.forget(subset(small, ids(0, 20)), { retain: subset(small, ids(20, 300)), method: 'qmul', epochs: 1, seed: 1 });
          logits[name] = model.predict(test.x.subarray(0, 50 * 784));
          const loaded = qf.loadModel(model.save());
          try {
            assert.deepEqual(loaded.predict(test.x.subarray(0, 50 * 784)), logits[name], `${scheme}: the loaded model predicts as the saved one`);
          } finally {
            loaded.dispose();
          }
        } finally {
          model.dispose();
        }
      }
      assert.deepEqual(logits.nosimd, logits.simd, `${scheme}: the no-SIMD build computes the SIMD build's bits`);
    }
  });

  // Float models trained here, once per arch.
  async function floatModel(arch, n, epochs) {
    const model = builds.simd.createModel({ arch, inputShape: [28, 28, 1], numClasses: 10, weightBits: 32, seed: 1 });
    await model.fit(subset(train, ids(0, n)), { epochs, batchSize: 32, lr: 0.05, momentum: 0.9, seed: 1 });
    return model;
  }

  for (const [arch, n, epochs] of [['lenet', 4000, 3], ['resnet8', 2000, 2]]) {
    it(`a calibrated 8-bit ${arch} loses under one point of test accuracy`, async () => {
      const float = await floatModel(arch, n, epochs);
      try {
        const floatAccuracy = float.evaluate(test).accuracy;
        assert.ok(floatAccuracy > 0.7, `the float ${arch} learned (${floatAccuracy})`);
        const before = float.predict(test.x.subarray(0, 10 * 784));
        for (const method of ['mse', 'minmax', 'percentile']) {
          const quantized = float.quantize({ calibration: subset(train, ids(0, 512)), method });
          try {
            const description = quantized.describe();
            assert.equal(description.weightBits, 8);
            const accuracy = quantized.evaluate(test).accuracy;
            assert.ok(floatAccuracy - accuracy < 0.01, `${arch} ${method}: ${(100 * floatAccuracy).toFixed(1)} % float, ${(100 * accuracy).toFixed(1)} % quantized`);
          } finally {
            quantized.dispose();
          }
        }
        assert.deepEqual(float.predict(test.x.subarray(0, 10 * 784)), before, 'the float model is unchanged');
      } finally {
        float.dispose();
      }
    });
  }

  it('a float ONNX model made elsewhere quantizes at 4 bits with any scheme, then fine-tunes', async () => {
    const qf = builds.simd;
    const { bytes } = generateFloatModel('lenet');
    const float = await qf.importOnnx(bytes, { weightBits: 32 });
    // Features in [0, 1) and labels from a fixed LCG: the graph takes [1, 12, 12] floats.
    let state = 7;
    const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const data = { x: Float32Array.from({ length: 64 * 144 }, next), y: Uint8Array.from({ length: 64 }, () => Math.floor(next() * 10)), shape: [64, 1, 12, 12] };
    try {
      const floatLogits = float.predict(data.x);
      for (const scheme of ['apot', 'codebook']) {
        const quantized = float.quantize({ calibration: data.x, bits: 4, scheme });
        try {
          const logits = quantized.predict(data.x);
          assert.equal(logits.length, floatLogits.length);
          assert.ok(logits.every(Number.isFinite));
          await quantized.fit(data, { epochs: 1, batchSize: 16, lr: 0.01, seed: 1 });
          assert.ok(quantized.predict(data.x).every(Number.isFinite), `${scheme}: fine-tuned`);
        } finally {
          quantized.dispose();
        }
      }
    } finally {
      float.dispose();
    }
  });

  it('bad quantize requests are refused, naming what is wrong, and change nothing', async () => {
    const qf = builds.simd;
    const float = qf.createModel({ arch: 'lenet', inputShape: [28, 28, 1], numClasses: 10, weightBits: 32, seed: 1 });
    const quantized = qf.createModel({ arch: 'lenet', inputShape: [28, 28, 1], numClasses: 10, weightBits: 4, seed: 1 });
    const x = test.x.subarray(0, 8 * 784);
    try {
      const before = float.predict(x);
      const cases = [
        [undefined, 'INVALID_ARGUMENT', /options must be an object/],
        [{}, 'INVALID_ARGUMENT', /options\.calibration is required/],
        [{ calibration: [1, 2, 3] }, 'INVALID_ARGUMENT', /options\.calibration must be a Uint8Array or a Float32Array, got Array/],
        [{ calibration: new Float32Array(784) }, 'INVALID_ARGUMENT', /options\.calibration holds float32 values, the model takes uint8/],
        [{ calibration: x.subarray(0, 100) }, 'INVALID_ARGUMENT', /options\.calibration has 100 values: not a whole, non-zero number of samples/],
        [{ calibration: x, scheme: 'log2' }, 'INVALID_ARGUMENT', /options\.scheme: unknown weight scheme "log2"/],
        [{ calibration: x, scheme: 'pow2' }, 'INVALID_ARGUMENT', /bits: pow2 weights have 2, 3 or 4 bits/],
        [{ calibration: x, bits: 5 }, 'INVALID_ARGUMENT', /bits: uniform weights need 2, 3, 4 or 8 bits, got 5/],
        [{ calibration: x, activationBits: 2 }, 'INVALID_ARGUMENT', /activationBits must be 8 or 4/],
        [{ calibration: x, method: 'max' }, 'INVALID_ARGUMENT', /options\.method: expected 'minmax', 'percentile' or 'mse'/],
        [{ calibration: x, method: 'percentile', percentile: 20 }, 'INVALID_ARGUMENT', /percentile must be in \(50, 100\]/],
        [{ calibration: x, colour: 1 }, 'INVALID_ARGUMENT', /options\.colour: unknown option/],
      ];
      for (const [options, code, pattern] of cases) {
        assert.throws(() => float.quantize(options), isError(code, pattern), JSON.stringify(options));
      }
      assert.deepEqual(float.predict(x), before, 'nothing changed');
      assert.throws(() => quantized.quantize({ calibration: x }), isError('FAILED_PRECONDITION', /already quantized/));
      float.dispose();
      assert.throws(() => float.quantize({ calibration: x }), isError('FAILED_PRECONDITION', /disposed/));
    } finally {
      float.dispose();
      quantized.dispose();
    }
  });
});
