// Trains a built-in architecture on Fashion-MNIST through the wasm build under node and
// reports per-epoch loss, accuracy and time, then the test accuracy of the deployed
// (integer) model.
//
//   npm run train -- --arch lenet --bits 4 --epochs 10 [--json] [--limit N] ...
//
// --json prints one JSON object per line: {"event":"epoch",...} per epoch and a final
// {"event":"result",...}; otherwise a readable log.
import { parseArgs } from 'node:util';

import { createQforget } from '../web/index.js';
import { loadFashionMnist } from './fashion_mnist.mjs';

const { values: args } = parseArgs({
  options: {
    arch: { type: 'string', default: 'lenet' },
    bits: { type: 'string', default: '4' },
    epochs: { type: 'string', default: '10' },
    'batch-size': { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.05' },
    optimizer: { type: 'string', default: 'sgd' },
    schedule: { type: 'string', default: 'cosine' },
    'weight-decay': { type: 'string', default: '0.0005' },
    augment: { type: 'boolean', default: false },
    limit: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    simd: { type: 'string', default: 'auto' },
    json: { type: 'boolean', default: false },
  },
});

const number = (name) => {
  const v = Number(args[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number, got '${args[name]}'`);
  return v;
};

const log = (line) => { if (!args.json) console.log(line); };
const emit = (event) => { if (args.json) console.log(JSON.stringify(event)); };

const qf = await createQforget({ simd: args.simd === 'auto' ? 'auto' : args.simd === 'true' });
const train = await loadFashionMnist(qf, 'train', number('limit'));
const test = await loadFashionMnist(qf, 'test');
const spec = { arch: args.arch, inputShape: [28, 28, 1], numClasses: 10, weightBits: number('bits'), seed: number('seed') };
const model = qf.createModel(spec);
log(`qforget ${qf.version} (${qf.kernels.isa}): ${args.arch}, ${spec.weightBits}-bit weights, ` +
    `${train.shape[0]} training images`);

const options = {
  epochs: number('epochs'), batchSize: number('batch-size'), lr: number('lr'), optimizer: args.optimizer,
  schedule: args.schedule, weightDecay: number('weight-decay'), seed: number('seed'),
  ...(args.augment ? { augment: { cropPadding: 2, flip: true } } : {}),
};
const started = performance.now();
await model.fit(train, {
  ...options,
  onProgress: (e) => {
    log(`epoch ${String(e.epoch).padStart(3)}  loss ${e.loss.toFixed(4)}  train acc ${(100 * e.accuracy).toFixed(2)}%  ` +
        `lr ${e.lr.toPrecision(3)}  ${e.seconds.toFixed(1)} s`);
    emit({ event: 'epoch', ...e });
  },
});
const seconds = (performance.now() - started) / 1000;
const result = model.evaluate(test);
log(`test accuracy ${(100 * result.accuracy).toFixed(2)}%  (loss ${result.loss.toFixed(4)}), ${seconds.toFixed(0)} s in all`);
emit({ event: 'result', ...spec, ...options, trainSamples: train.shape[0], testAccuracy: result.accuracy, testLoss: result.loss, seconds });
model.dispose();
