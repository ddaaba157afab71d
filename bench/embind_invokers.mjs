// What the strict-CSP build costs: the shipped module (-sDYNAMIC_EXECUTION=0: Embind
// calls C++ through one generic invoker per function) against the same engine linked
// with Embind's generated invokers (new Function per bound function, what a page with
// `script-src 'self' 'wasm-unsafe-eval'` refuses). Both SIMD builds, one node process,
// timed round-robin; only ratios within one run mean anything. Not a test.
//
//   cmake --build build/wasm-simd --target qforget_module_eval   # the comparison build
//   node bench/embind_invokers.mjs [--rounds R] [--json]
//
// Workloads, each through the public JS API (argument checks, copies in and out):
//   tiny matmul  qf.kernels.matmulU8S8 of 1×8 by 8×8: almost nothing but call overhead
//   predict      model.predict of one 12×12 sample on a small mlp
//   fit epoch    model.fit, one epoch of 8,192 samples, batch 64, on the same mlp
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { Qforget } from '../web/index.js';
import { synthetic } from '../tests/js/synthetic.mjs';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, json: { type: 'boolean', default: false } } });
const rounds = Number(args.rounds);

const BUILDS = {
  generated: new URL('../build/wasm-simd/dynamic_execution/qforget-simd.js', import.meta.url),
  shipped: new URL('../web/dist/qforget-simd.js', import.meta.url),
};

async function engine(glue) {
  const { default: factory } = await import(glue);
  const wasmBinary = await readFile(new URL(glue.href.replace(/\.js$/, '.wasm')));
  return new Qforget(await factory({ wasmBinary }), true);
}

const spec = { arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 1 };
const train = synthetic(8192, 1);
const one = train.x.slice(0, 144);
const a = new Uint8Array(8).fill(3);
const b = new Int8Array(64).fill(-2);

// Each workload: (qf, model) => seconds per call, measured over enough calls.
const WORKLOADS = {
  'tiny matmul': (qf) => perCall(200_000, () => qf.kernels.matmulU8S8(a, b, 1, 8, 8)),
  predict: (qf, model) => perCall(50_000, () => model.predict(one)),
  'fit epoch': async (qf, model) => {
    const start = performance.now();
    await model.fit(train, { epochs: 1, batchSize: 64, lr: 0.01 });
    return (performance.now() - start) / 1e3;
  },
};

function perCall(calls, fn) {
  for (let i = 0; i < calls / 10; i++) fn();  // warm-up
  const start = performance.now();
  for (let i = 0; i < calls; i++) fn();
  return (performance.now() - start) / 1e3 / calls;
}

const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

const engines = {};
for (const [name, glue] of Object.entries(BUILDS)) {
  try {
    engines[name] = await engine(glue);
  } catch (error) {
    console.error(`could not load ${glue.pathname} (${error.message}); build it with: cmake --build build/wasm-simd --target qforget_module_eval`);
    process.exit(1);
  }
}
const models = Object.fromEntries(Object.entries(engines).map(([name, qf]) => [name, qf.createModel(spec)]));
// The two builds run the same engine: the same predictions, bit for bit.
const [p, q] = Object.values(models).map((m) => m.predict(one));
if (!p.every((v, i) => v === q[i])) throw new Error('the two builds predict differently');

const times = {};
for (let round = 0; round < rounds; round++) {
  const order = round % 2 ? ['shipped', 'generated'] : ['generated', 'shipped'];
  for (const [workload, measure] of Object.entries(WORKLOADS)) {
    for (const name of order) {
      ((times[workload] ??= {})[name] ??= []).push(await measure(engines[name], models[name]));
    }
  }
}

const rows = Object.entries(times).map(([workload, byBuild]) => {
  const generated = median(byBuild.generated);
  const shipped = median(byBuild.shipped);
  return { workload, generatedSeconds: generated, shippedSeconds: shipped, ratio: shipped / generated };
});
for (const model of Object.values(models)) model.dispose();

if (args.json) {
  console.log(JSON.stringify({ rounds, rows }, null, 2));
} else {
  const show = (s) => (s < 1e-3 ? `${(s * 1e6).toFixed(2)} µs` : s < 1 ? `${(s * 1e3).toFixed(1)} ms` : `${s.toFixed(2)} s`);
  console.log(`median of ${rounds} rounds, SIMD build, node ${process.version}`);
  console.log('| workload | generated invokers | no eval (shipped) | shipped / generated |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.workload} | ${show(r.generatedSeconds)} | ${show(r.shippedSeconds)} | ${r.ratio.toFixed(2)}× |`);
}
