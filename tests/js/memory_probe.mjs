// Run by memory.test.mjs, one fresh process per operation (the allocator's high-water
// mark only rises): prints as JSON how far one operation raised the wasm allocator's
// footprint, the most memory the engine had reserved for it, and the bytes the JS side
// copied into the heap for it.
// Usage: node memory_probe.mjs <arch> <predict|evaluate|fit|forget|metrics> [method] [n] [batch]
// (28×28×1 inputs; 32×32×3 for mobilenetv2; n training samples, 384 by default; batch 32;
// the build createQforget picks, the SIMD-less one with QF_PROBE_SIMD=0; QF_PROBE_THREADS
// threads, 'auto' by default)
import { createQforget } from '../../web/index.js';

const [arch, op, method = 'qmul', n = '384', batch = '32'] = process.argv.slice(2);
const shape = arch === 'mobilenetv2' ? [32, 32, 3] : [28, 28, 1];
const size = shape.reduce((a, b) => a * b);
const batchSize = Number(batch);
function set(n, seed) {
  const x = new Uint8Array(n * size);
  let s = seed;
  for (let i = 0; i < x.length; i++) x[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  return { x, y: new Uint8Array(n).map((_, i) => i % 10), shape: [n, ...shape] };
}

const threads = process.env.QF_PROBE_THREADS ? Number(process.env.QF_PROBE_THREADS) : 'auto';
const qf = await createQforget({ simd: process.env.QF_PROBE_SIMD === '0' ? false : 'auto', threads });
const model = qf.createModel({ arch, inputShape: shape, numClasses: 10, weightBits: 4, seed: 1 });
const data = set(Number(n), 1);
const small = set(48, 2);
model.predict(small.x.subarray(0, size));  // what the model allocates once, on first use
const before = qf.memoryStats();
let copied = data.x.length + data.y.length;
if (op === 'predict') model.predict(data.x);
if (op === 'evaluate') model.evaluate(data);
if (op === 'fit') await model.fit(data, { epochs: 1, batchSize });
if (op === 'forget') await model.forget(small, { retain: data, method, epochs: 1, batchSize });
if (op === 'metrics') {
  await qf.unlearningMetrics(model, { forget: small, retain: data, test: data });
  copied *= 2;
}
if (op === 'forget' || op === 'metrics') copied += small.x.length + small.y.length;
const after = qf.memoryStats();
const growth = after.footprint - before.footprint;
console.log(JSON.stringify({ growth, reserved: after.peakReserved, copied, ratio: +(after.peakReserved / growth).toFixed(2) }));
