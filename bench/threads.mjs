// Thread scaling, as ratios measured in one process: qforget's u8×s8 GEMM at 1 thread
// (the SIMD build) and at 2 (the threaded build) against onnxruntime-web's MatMulInteger
// with numThreads 2, then one fit epoch and one Q-MUL forget at 1 and 2 threads, and
// from the measured speedups the serial fraction and what Amdahl's law expects at 4 and
// 8 threads. Calls alternate in blocks, round by round, so a shared machine's load hits
// all alike; medians of every call are reported, and for the jobs also the best call of
// each (load on a shared machine only ever adds time, so the best is the steadier
// estimate when rounds are few). Blocks, not single calls: after
// onnxruntime-web's run its pool threads spin for a while and take a core from the call
// timed next, and a pause to let them stop leaves the cores cold instead; within a block
// of consecutive calls the median is a warm one.
//
//   node bench/threads.mjs [--quick] [--part gemm|jobs]
import { parseArgs } from 'node:util';

import * as ort from 'onnxruntime-web';

import { createQforget } from '../web/index.js';
import { loadFashionMnist, subset } from './fashion_mnist.mjs';
import { matmulIntegerModel } from './onnx_matmul_integer.mjs';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, part: { type: 'string', default: 'all' } } });
const quick = args.quick;
const part = (name) => args.part === 'all' || args.part === name;

// C[M,N] = A[M,K]·B[K,N]: the large shape, then lenet and resnet8 layers as the forward
// pass runs them on a batch of 64 Fashion-MNIST images (im2col rows × depth × channels).
const SHAPES = [
  { name: '256x1024x1024', m: 256, k: 1024, n: 1024 },
  { name: 'lenet conv2', m: 64 * 8 * 8, k: 150, n: 16 },
  { name: 'lenet fc1', m: 64, k: 256, n: 120 },
  { name: 'resnet8 conv 16', m: 64 * 28 * 28, k: 144, n: 16 },
  { name: 'resnet8 conv 64', m: 64 * 7 * 7, k: 576, n: 64 },
];

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

// Times each of `runs` (name -> async () => void) round-robin, `block` calls in a row
// each round; the median and the best of all calls, in ms.
async function timeRoundRobin(runs, rounds, block = 1) {
  const times = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
  for (const run of Object.values(runs)) await run();  // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(runs)) {
      for (let b = 0; b < block; b++) {
        const t0 = performance.now();
        await run();
        times[name].push(performance.now() - t0);
      }
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { median: median(v), best: Math.min(...v) }]));
}

function problem({ m, k, n }, seed) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24);
  return { a: Uint8Array.from({ length: m * k }, next), b: Int8Array.from({ length: k * n }, () => next() - 128) };
}

const one = await createQforget({ threads: 1 });
const two = await createQforget({ threads: 2 });
if (two.threads !== 2) throw new Error(`2 threads do not run here: ${two.threadsReason}`);
ort.env.wasm.numThreads = 2;  // read once, at the first session
ort.env.logLevel = 'error';

if (part('gemm')) {
  console.log(`# GEMM u8×s8 → s32 (median ms; GOPS; speedups at 2 threads)`);
  console.log('| shape | qforget 1 thread | qforget 2 threads | ort-wasm 2 threads | qforget 2 / 1 | qforget 2 / ort 2 |');
  console.log('|---|---|---|---|---|---|');
}
for (const shape of part('gemm') ? SHAPES : []) {
  const { m, k, n } = shape;
  const { a, b } = problem(shape, 7);
  const p1 = one.kernels.packMatrixS8(b, k, n);
  const p2 = two.kernels.packMatrixS8(b, k, n);
  const session = await ort.InferenceSession.create(matmulIntegerModel(b, m, k, n), { executionProviders: ['wasm'] });
  const feeds = { A: new ort.Tensor('uint8', a, [m, k]) };
  const [c1, c2, { Y }] = [p1.matmul(a, m), p2.matmul(a, m), await session.run(feeds)];
  if (!c1.every((v, i) => v === c2[i] && v === Y.data[i])) throw new Error(`${shape.name}: the results differ`);
  const t = Object.fromEntries(Object.entries(await timeRoundRobin({
    q1: async () => p1.matmul(a, m),
    q2: async () => p2.matmul(a, m),
    ort: async () => (await session.run(feeds)).Y.dispose(),
  }, quick ? 3 : 9, 5)).map(([k, v]) => [k, v.median]));
  const gops = (ms) => ((2 * m * k * n) / ms / 1e6).toFixed(1);
  console.log(`| ${shape.name} | ${t.q1.toFixed(2)} ms (${gops(t.q1)}) | ${t.q2.toFixed(2)} ms (${gops(t.q2)}) | ${t.ort.toFixed(2)} ms (${gops(t.ort)}) | ${(t.q1 / t.q2).toFixed(2)}× | ${(t.ort / t.q2).toFixed(2)}× |`);
  p1.dispose();
  p2.dispose();
  await session.release();
}

// Whole jobs: one fit epoch and one Q-MUL forget (the short protocol's settings) on
// Fashion-MNIST, the same model bytes in, at 1 and 2 threads.
if (!part('jobs')) process.exit(0);
const train = await loadFashionMnist(one, 'train', quick ? 1000 : 4000);
const ids = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);
const nf = train.shape[0] / 10;
const forgetSet = subset(train, ids(0, nf));
const retain = subset(train, ids(nf, train.shape[0]));
console.log('\n# fit and forget (median s; speedup at 2 threads, of the medians and of the best calls; Amdahl from the serial fraction of the medians)');
console.log('| job | 1 thread | 2 threads | speedup | best-call speedup | serial fraction | expected at 4 | expected at 8 |');
console.log('|---|---|---|---|---|---|---|---|');
for (const arch of ['lenet', 'resnet8']) {
  const spec = { arch, inputShape: [28, 28, 1], numClasses: 10, weightBits: 4, seed: 1 };
  const start = one.createModel(spec).save();
  const jobs = {
    'fit epoch': (model) => model.fit(train, { epochs: 1, batchSize: 64 }),
    'Q-MUL forget': (model) => model.forget(forgetSet, { retain, method: 'qmul', epochs: 2, batchSize: 128 }),
  };
  for (const [job, run] of Object.entries(jobs)) {
    const bytes = {};
    const timed = (qf, key) => async () => {
      const model = qf.loadModel(start);
      await run(model);
      bytes[key] = model.save().join();
      model.dispose();
    };
    const t = await timeRoundRobin({ one: timed(one, 'one'), two: timed(two, 'two') }, quick ? 1 : 3);
    if (bytes.one !== bytes.two) throw new Error(`${arch} ${job}: the models differ between 1 and 2 threads`);
    const s2 = t.one.median / t.two.median;
    const serial = Math.min(1, Math.max(0, 2 / s2 - 1));
    const amdahl = (p) => (1 / (serial + (1 - serial) / p)).toFixed(2);
    console.log(`| ${arch} ${job} | ${(t.one.median / 1000).toFixed(2)} | ${(t.two.median / 1000).toFixed(2)} | ${s2.toFixed(2)}× | ${(t.one.best / t.two.best).toFixed(2)}× | ${serial.toFixed(2)} | ${amdahl(4)}× | ${amdahl(8)}× |`);
  }
}
