// A method's run time as a share of retraining's, both measured in this one process and
// interleaved, so that the load of a shared machine falls on both alike (the experiment
// runner's times come from separate runs, hours apart). Each round times every method's
// forget under the protocol, then one epoch of the original's recipe on D_r; retraining
// is that epoch times the recipe's epochs. Medians over the rounds.
//
//   node bench/forget_time.mjs --arch lenet --bits 4 --scenario random:0.1 --seed 1 \
//     --methods qmul,rl,salun --rounds 3
//
// The original model comes from the experiment runner's cache (--cache, default
// bench/out/models): run bench/experiment.mjs for that seed first, with the same
// --epochs and --train-limit.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { createQforget } from '../web/index.js';
import { loadFashionMnist, sampleOf, subset } from './fashion_mnist.mjs';
import { forgetSettings, protocolNamed, RECIPE } from '../cli/protocols.mjs';

const { values: args } = parseArgs({
  options: {
    arch: { type: 'string', default: 'lenet' },
    bits: { type: 'string', default: '4' },
    scenario: { type: 'string', default: 'random:0.1' },
    seed: { type: 'string', default: '1' },
    methods: { type: 'string', default: 'qmul' },
    protocol: { type: 'string', default: 'short' },
    rounds: { type: 'string', default: '3' },
    epochs: { type: 'string', default: String(RECIPE.epochs) },
    'train-limit': { type: 'string', default: '0' },
    cache: { type: 'string', default: 'bench/out/models' },
  },
});
const protocol = protocolNamed(args.protocol);
const seed = Number(args.seed);
const epochs = Number(args.epochs);
const methods = args.methods.split(',').map((m) => m.trim()).filter(Boolean);

const qf = await createQforget();
const train = await loadFashionMnist(qf, 'train', Number(args['train-limit']));
const file = path.join(args.cache, `${args.arch}-${args.bits}-n${train.shape[0]}-e${epochs}-seed${seed}.qfm`);
const originalBytes = new Uint8Array(await readFile(file).catch(() => {
  throw new Error(`no cached original model ${file}: run bench/experiment.mjs for seed ${seed} first`);
}));
const split = qf.resolveScenario(train.y, args.scenario, { numClasses: 10, seed });
const forget = subset(train, split.forgetIds);
const retain = subset(train, split.retainIds);

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const seconds = Object.fromEntries([...methods, 'epoch'].map((m) => [m, []]));
for (let round = 1; round <= Number(args.rounds); round++) {
  for (const method of methods) {
    const { retainSample, options } = forgetSettings(protocol, method, args.scenario);
    const model = qf.loadModel(originalBytes);
    const result = await model.forget(forget, { retain: sampleOf(qf, retain, retainSample, seed), seed, ...options });
    model.dispose();
    seconds[method].push(result.seconds);
  }
  const fresh = qf.createModel({ arch: args.arch, inputShape: [28, 28, 1], numClasses: 10, weightBits: Number(args.bits), seed });
  const started = performance.now();
  await fresh.fit(retain, { ...RECIPE, epochs: 1, seed });
  seconds.epoch.push((performance.now() - started) / 1000);
  fresh.dispose();
  process.stderr.write(`round ${round}: ${[...methods, 'epoch'].map((m) => `${m} ${seconds[m].at(-1).toFixed(1)} s`).join(', ')}\n`);
}

const retrain = epochs * median(seconds.epoch);
console.log(`${args.arch} ${args.bits}-bit, ${args.scenario}, seed ${seed}, protocol ${args.protocol}, ${args.rounds} rounds (medians)\n`);
console.log('| method | time (s) | % of retrain |\n|---|---|---|');
console.log(`| retrain (${epochs} × one epoch of ${median(seconds.epoch).toFixed(1)} s) | ${retrain.toFixed(1)} | 100.0 % |`);
for (const method of methods) {
  console.log(`| ${method} | ${median(seconds[method]).toFixed(1)} | ${((100 * median(seconds[method])) / retrain).toFixed(1)} % |`);
}
