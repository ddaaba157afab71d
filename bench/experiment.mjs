// The unlearning experiment runner: trains the original model once per seed (cached),
// retrains the reference without the forget set (cached), runs every method on a copy
// of the original, and prints a table like the Q-MUL paper's: FA, RA, TA, MIA, AG
// (mean ± std over seeds, in points) and run time per method. Everything runs through
// the wasm build under node, on Fashion-MNIST from Debian's package.
//
//   npm run experiment -- --arch lenet --bits 4 --scenario random:0.1 \
//     --methods retrain,ft,ga,rl,l1sparse,salun,bs,qmul,oeu --seeds 3 [--json]
//
// Options: --train-limit N (use the first N training images), --test-limit N,
// --epochs E (the original recipe's epochs; retrain uses the same recipe),
// --forget-epochs E (every other method), --cache DIR (default bench/out/models).
// --json prints one JSON object per method and seed, then one per method with the means.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { createQforget } from '../web/index.js';
import { loadFashionMnist, subset, withoutClass } from './fashion_mnist.mjs';

const { values: args } = parseArgs({
  options: {
    arch: { type: 'string', default: 'lenet' },
    bits: { type: 'string', default: '4' },
    scenario: { type: 'string', default: 'random:0.1' },
    methods: { type: 'string', default: 'retrain,ft,ga,rl,l1sparse,salun,bs,qmul,oeu' },
    seeds: { type: 'string', default: '3' },
    epochs: { type: 'string', default: '10' },
    'forget-epochs': { type: 'string', default: '10' },
    'train-limit': { type: 'string', default: '0' },
    'test-limit': { type: 'string', default: '0' },
    cache: { type: 'string', default: 'bench/out/models' },
    json: { type: 'boolean', default: false },
  },
});
const num = (name) => {
  const v = Number(args[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number, got '${args[name]}'`);
  return v;
};
const log = (line) => { if (!args.json) process.stderr.write(`${line}\n`); };

const qf = await createQforget();
const train = await loadFashionMnist(qf, 'train', num('train-limit'));
const fullTest = await loadFashionMnist(qf, 'test', num('test-limit'));
const spec = { arch: args.arch, inputShape: [28, 28, 1], numClasses: 10, weightBits: num('bits') };
const recipe = { epochs: num('epochs'), batchSize: 64, lr: 0.05, schedule: 'cosine', weightDecay: 5e-4 };
const methods = args.methods.split(',').map((m) => m.trim()).filter(Boolean);
// Per-method settings that differ from the shared ones (lr 0.01, batch 256): gradient
// ascent is unbounded, so it takes a small step, as in the SalUn codebase's GA runs.
const METHOD_OPTIONS = { ga: { lr: 1e-4 } };
const seeds = Array.from({ length: num('seeds') }, (_, i) => i + 1);
await mkdir(args.cache, { recursive: true });

/** A model trained on `ds` with the recipe, cached under `key` (a file name). */
async function trained(key, ds, seed) {
  const file = path.join(args.cache, `${key}.qfm`);
  try {
    return { model: qf.loadModel(new Uint8Array(await readFile(file))), seconds: null };
  } catch {
    const model = qf.createModel({ ...spec, seed });
    const started = performance.now();
    await model.fit(ds, { ...recipe, seed, onProgress: (e) => log(`  ${key}: epoch ${e.epoch} loss ${e.loss.toFixed(4)}`) });
    const seconds = (performance.now() - started) / 1000;
    await writeFile(file, model.save());
    return { model, seconds };
  }
}

const rows = [];  // {method, seed, FA, RA, TA, MIA, AG, JS, seconds}
const base = `${spec.arch}-${spec.weightBits}-n${train.shape[0]}-e${recipe.epochs}`;
for (const seed of seeds) {
  log(`seed ${seed}: original model`);
  const original = await trained(`${base}-seed${seed}`, train, seed);
  const originalBytes = original.model.save();
  original.model.dispose();
  const split = qf.resolveScenario(train.y, args.scenario, { numClasses: 10, seed });
  const forget = subset(train, split.forgetIds);
  const retain = subset(train, split.retainIds);
  const test = split.excludedClass === null ? fullTest : withoutClass(fullTest, split.excludedClass);
  log(`seed ${seed}: ${args.scenario} forgets ${forget.shape[0]} of ${train.shape[0]} samples; reference retrain`);
  const scenarioKey = args.scenario.replace(/[^a-z0-9.]+/gi, '_');
  const reference = await trained(`${base}-seed${seed}-retrain-${scenarioKey}`, retain, seed);
  for (const method of methods) {
    let model = reference.model;
    let seconds = reference.seconds;
    if (method !== 'retrain') {
      model = qf.loadModel(originalBytes);
      try {
        const result = await model.forget(forget, { retain, method, epochs: num('forget-epochs'), batchSize: 256, seed, ...METHOD_OPTIONS[method] });
        seconds = result.seconds;
      } catch (error) {
        // A method that fails (e.g. diverges) is reported and the others still run.
        log(`  ${method.padEnd(9)} FAILED: ${error.message}`);
        if (args.json) console.log(JSON.stringify({ event: 'failed', method, seed, code: error.code, message: error.message }));
        model.dispose();
        continue;
      }
    }
    const m = qf.unlearningMetrics(model, { forget, retain, test, reference: reference.model, seed });
    const row = { method, seed, FA: m.FA, RA: m.RA, TA: m.TA, MIA: m.MIA, AG: m.AG, JS: m.JS, seconds };
    rows.push(row);
    log(`  ${method.padEnd(9)} FA ${m.FA.toFixed(2)}  RA ${m.RA.toFixed(2)}  TA ${m.TA.toFixed(2)}  MIA ${m.MIA.toFixed(2)}  AG ${m.AG.toFixed(2)}  ${seconds === null ? 'cached' : `${seconds.toFixed(1)} s`}`);
    if (args.json) console.log(JSON.stringify({ event: 'run', arch: spec.arch, bits: spec.weightBits, scenario: args.scenario, ...row }));
    if (model !== reference.model) model.dispose();
  }
  reference.model.dispose();
}

const stat = (values) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(values.length - 1, 1));
  return { mean, std };
};
const fmt = ({ mean, std }) => `${mean.toFixed(2)} ± ${std.toFixed(2)}`;
const table = [`| method | FA | RA | TA | MIA | AG | time (s) |`, '|---|---|---|---|---|---|---|'];
for (const method of methods) {
  const mine = rows.filter((r) => r.method === method);
  if (!mine.length) {
    table.push(`| ${method} | failed | | | | | |`);
    continue;
  }
  const s = Object.fromEntries(['FA', 'RA', 'TA', 'MIA', 'AG'].map((k) => [k, stat(mine.map((r) => r[k]))]));
  const times = mine.map((r) => r.seconds).filter((t) => t !== null);
  const time = times.length ? stat(times).mean.toFixed(1) : 'cached';
  table.push(`| ${method} | ${fmt(s.FA)} | ${fmt(s.RA)} | ${fmt(s.TA)} | ${fmt(s.MIA)} | ${fmt(s.AG)} | ${time} |`);
  if (args.json) console.log(JSON.stringify({ event: 'mean', method, ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.mean])) }));
}
if (!args.json) {
  console.log(`${spec.arch} ${spec.weightBits}-bit, ${args.scenario}, ${seeds.length} seed(s), ${train.shape[0]} training images\n`);
  console.log(table.join('\n'));
}
