// Placeholder main job until the demo page lands: loads both wasm builds and runs one
// int8 matrix product on each, checking them against each other.
import { createQforget } from '../web/index.js';

const [m, k, n] = [64, 784, 256];
const a = Uint8Array.from({ length: m * k }, (_, i) => (i * 37) % 256);
const b = Int8Array.from({ length: k * n }, (_, i) => ((i * 91) % 256) - 128);

const results = {};
for (const simd of [true, false]) {
  const qf = await createQforget({ simd });
  const start = performance.now();
  results[simd] = qf.kernels.matmulU8S8(a, b, m, k, n);
  const ms = performance.now() - start;
  console.log(`qforget ${qf.version}, ${qf.kernels.isa} build: ${m}x${k}x${n} u8*s8 product in ${ms.toFixed(2)} ms`);
}
const same = results[true].every((v, i) => v === results[false][i]);
console.log(same ? 'SIMD and no-SIMD builds agree.' : 'MISMATCH between builds');
process.exitCode = same ? 0 : 1;
