// One seed, one data set and one request give the same model bytes on either wasm build:
// the SIMD and the no-SIMD module, loaded side by side in this process, fit a model and
// then forget part of its data, and their save() bytes must be identical (the float
// kernels of both builds sum in the reference's order: kernels/f32_gemm/f32_gemm.h). The
// native build is not loaded here; checked by hand on this request, it gave the same bytes
// too (glibc's libm differs from Emscripten's musl in the last bit of some doubles, but the
// engine rounds every libm result it uses to float).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, before, describe, it } from 'node:test';

import { createQforget, liveHandles } from '../../web/index.js';
import { synthetic } from './synthetic.mjs';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function slice(ds, from, to) {
  const size = ds.x.length / ds.y.length;
  return { x: ds.x.slice(from * size, to * size), y: ds.y.slice(from, to), shape: [to - from, ...ds.shape.slice(1)] };
}

const train = synthetic(240, 11);
const forgetSet = slice(train, 0, 24);
const retain = slice(train, 24, 240);
const FIT = { epochs: 1, batchSize: 16, lr: 0.05, seed: 5 };
const FORGET = { retain, epochs: 1, batchSize: 16, lr: 0.01, seed: 6 };
const METHODS = ['qmul', 'salun', 'bs', 'oeu'];

afterEach(() => assert.equal(liveHandles(), 0, 'every wasm object was released'));

for (const arch of ['lenet', 'resnet8']) {
  describe(`${arch}, 4-bit: the SIMD and no-SIMD builds give the same bytes`, () => {
    const spec = { arch, inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 3 };
    const builds = {};
    const fitted = {};  // build -> save() after fit

    before(async () => {
      builds.simd = await createQforget({ simd: true });
      builds.nosimd = await createQforget({ simd: false });
      assert.ok(builds.simd.simd && !builds.nosimd.simd, 'one module of each build');
      for (const [name, qf] of Object.entries(builds)) {
        const model = qf.createModel(spec);
        await model.fit(train, FIT);
        fitted[name] = model.save();
        model.dispose();
      }
    });

    it('fit', () => {
      assert.equal(sha256(fitted.nosimd), sha256(fitted.simd));
    });

    for (const method of METHODS) {
      it(`fit, then forget with ${method}`, async () => {
        const bytes = {};
        for (const [name, qf] of Object.entries(builds)) {
          const model = qf.loadModel(fitted[name]);
          await model.forget(forgetSet, { ...FORGET, method });
          bytes[name] = model.save();
          model.dispose();
        }
        assert.notEqual(sha256(bytes.simd), sha256(fitted.simd), 'the forget changed the model');
        assert.equal(sha256(bytes.nosimd), sha256(bytes.simd));
      });
    }
  });
}
