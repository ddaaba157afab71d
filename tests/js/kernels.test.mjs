// qf.kernels through the real wasm builds (SIMD and no-SIMD) under node: results
// against a plain JS product, and argument errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createQforget, QforgetError, simdSupported } from '../../web/index.js';

function randomInts(Ctor, n, lo, hi, seed) {
  let s = seed >>> 0;
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;  // LCG, enough for test data
    out[i] = lo + (s % (hi - lo + 1));
  }
  return out;
}

function matmulJs(a, b, m, k, n) {
  const c = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[i * k + p] * b[p * n + j];
      c[i * n + j] = acc;
    }
  }
  return c;
}

for (const simd of [true, false]) {
  describe(`kernels (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    it('loads the requested build', async () => {
      // One thread: the threaded build (SIMD too) has its own tests (threads.test.mjs).
      const qf = await createQforget({ simd, threads: 1 });
      assert.equal(qf.simd, simd);
      assert.equal(qf.kernels.isa, simd ? 'wasmsimd' : 'scalar');
      assert.match(qf.version, /^\d+\.\d+\.\d+$/);
      assert.equal(await createQforget({ simd, threads: 1 }), qf, 'instances are cached');
      // Files from elsewhere get an instance of their own, cached per locateFile function.
      const files = [];
      const locateFile = (file) => { files.push(file); return new URL(`../../web/dist/${file}`, import.meta.url); };
      const own = await createQforget({ simd, threads: 1, locateFile });
      assert.notEqual(own, qf, 'not the instance loaded from the package\'s own files');
      assert.deepEqual(files.sort(), [`qforget-${simd ? 'simd' : 'nosimd'}.js`, `qforget-${simd ? 'simd' : 'nosimd'}.wasm`]);
      assert.equal(await createQforget({ simd, threads: 1, locateFile }), own);
      assert.equal(own.simd, simd);
    });

    it('matmulU8S8 equals a plain JS product', async () => {
      const qf = await createQforget({ simd });
      const shapes = [[1, 1, 1], [1, 784, 256], [5, 33, 17], [64, 100, 9], [4, 8, 8], [37, 257, 31]];
      for (const [i, [m, k, n]] of shapes.entries()) {
        const a = randomInts(Uint8Array, m * k, 0, 255, 11 + i);
        const b = randomInts(Int8Array, k * n, -128, 127, 97 + i);
        assert.deepEqual(qf.kernels.matmulU8S8(a, b, m, k, n), matmulJs(a, b, m, k, n), `shape ${m}x${k}x${n}`);
      }
    });

    it('extreme values accumulate exactly', async () => {
      const qf = await createQforget({ simd });
      const [m, k, n] = [3, 4096, 5];
      const c = qf.kernels.matmulU8S8(new Uint8Array(m * k).fill(255), new Int8Array(k * n).fill(-128), m, k, n);
      assert.deepEqual(c, new Int32Array(m * n).fill(255 * -128 * k));
    });

    it('a packed matrix multiplies like matmulU8S8 and disposes once', async () => {
      const qf = await createQforget({ simd });
      const [m, k, n] = [9, 70, 20];
      const a = randomInts(Uint8Array, m * k, 0, 255, 5);
      const b = randomInts(Int8Array, k * n, -128, 127, 6);
      const packed = qf.kernels.packMatrixS8(b, k, n);
      assert.deepEqual(packed.matmul(a, m), qf.kernels.matmulU8S8(a, b, m, k, n));
      packed.dispose();
      packed.dispose();
      assert.throws(() => packed.matmul(a, m), (e) => e instanceof QforgetError && e.code === 'FAILED_PRECONDITION');
    });

    it('bad arguments give a QforgetError naming the argument', async () => {
      const qf = await createQforget({ simd });
      const a = new Uint8Array(6), b = new Int8Array(6);
      const cases = [
        [() => qf.kernels.matmulU8S8(new Int8Array(6), b, 2, 3, 2), /a must be a Uint8Array, got Int8Array/],
        [() => qf.kernels.matmulU8S8(a, new Uint8Array(6), 2, 3, 2), /b must be a Int8Array/],
        [() => qf.kernels.matmulU8S8(a, b, 2, 3, 3), /b must have 9 elements, got 6/],
        [() => qf.kernels.matmulU8S8(a, b, 0, 3, 2), /m must be an integer/],
        [() => qf.kernels.matmulU8S8(a, b, 2.5, 3, 2), /m must be an integer/],
        [() => qf.kernels.matmulU8S8([1, 2], b, 2, 3, 2), /a must be a Uint8Array, got Array/],
        [() => qf.kernels.matmulU8S8(new Uint8Array(70000), new Int8Array(70000), 1, 70000, 1), /depth k=70000 exceeds 65536/],
      ];
      for (const [call, message] of cases) {
        assert.throws(call, (e) => e instanceof QforgetError && e.code === 'INVALID_ARGUMENT' && message.test(e.message));
      }
      // The instance stays usable after errors.
      assert.deepEqual(qf.kernels.matmulU8S8(new Uint8Array([2]), new Int8Array([-3]), 1, 1, 1), new Int32Array([-6]));
    });
  });
}

describe('loader', () => {
  it('rejects unknown options', async () => {
    await assert.rejects(createQforget({ simd: 'yes' }), (e) => e instanceof QforgetError && /options.simd/.test(e.message));
    await assert.rejects(createQforget({ locateFile: 'dist/' }), (e) => e instanceof QforgetError && /options.locateFile/.test(e.message));
  });
  it('node 20 supports SIMD', () => {
    assert.equal(simdSupported(), true);
  });
});
