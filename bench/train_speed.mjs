// Training speed: one epoch of qforget's quantization-aware training against
// TensorFlow.js training the same fp32 networks, on Fashion-MNIST, single thread, in one
// node process (SPEC §8).
//
//   node bench/train_speed.mjs [--json] [--quick] [--samples N] [--lenet-samples N] [--rounds R]
//
// What is measured, for each pair (qforget first, then its peer):
//   mlp    qforget 'mlp' (784-256-128-10, 4-bit weights, 8-bit first and last layer)
//          vs tfjs fp32 on @tensorflow/tfjs-backend-wasm, one thread       (target >= 3x)
//   lenet  qforget 'lenet' (conv5x5x16-pool-conv5x5x32-pool-fc128-fc10, same bits)
//          vs tfjs fp32 on @tensorflow/tfjs-backend-cpu, plain JS: tfjs's wasm backend
//          cannot train Conv2D (no Conv2DBackpropFilter kernel)           (target >= 10x)
// The tfjs networks are in bench/tfjs_models.mjs (softmax output + sparse categorical
// cross-entropy, i.e. the softmax cross-entropy on logits qforget uses).
// Both train with batch 64, SGD lr 0.01 momentum 0.9, no weight decay, a constant rate,
// data shuffled each epoch, on the first images of the training set: --samples (default
// 6000) for the mlp pair, --lenet-samples (default 512) for the lenet pair. The lenet
// pair is smaller because tfjs-cpu trains LeNet at about 1-2 images/s here (its
// Conv2DBackpropFilter is a naive loop; ~95% of its time): 6000 images would take about
// an hour. Both members of a pair always train on the same images.
//
// The timed span is one whole fit call of one epoch, as a caller holding the uint8
// dataset pays it: for qforget, model.fit(ds) including the copy of the data into wasm
// memory and its yields to the event loop between steps; for tfjs, making the float32
// tensors (x/255 and the labels) from the same Uint8Arrays, model.fit(x, y, {epochs: 1,
// shuffle: true}), and disposing of the tensors. Each model is new and first trains one
// untimed warm-up epoch (on the first 512 images for mlp, 64 for lenet), so JIT and
// kernel compilation, weight and optimizer-state allocation are not timed. After the
// timed epoch the report shows the training accuracy fit reports for that epoch
// (running, over its batches) and the accuracy on 2000 test images (qforget: the
// deployed integer model), to show both learn; it is not a quality comparison.
//
// The machine is shared and noisy: the two members of a pair run back to back so a busy
// spell is likelier to hit both, and ratios are only meaningful within one run. With
// --rounds R each pair runs R times, alternating which goes first, with fresh models,
// and the median seconds is reported (accuracies are those of the last round).
// --quick is a smoke run: 1024 mlp and 128 lenet training images, 512 test images.
//
// Leaks are checked: tfjs's tensor count (tf.memory().numTensors) and qforget's count of
// live wasm handles must be back where they started after every run; otherwise the
// script says so and exits with status 1. tfjs's backend is set (tf.setBackend) before
// each tfjs run.
//
// Output: a table, then the speedup of each pair (qforget's images/s over its peer's,
// > 1: qforget is faster) next to its target. With --json, stdout carries only one
// JSON object per measurement and line, {"impl","arch","bits","samples","seconds",
// "imagesPerSecond","trainAccuracy","testAccuracy"}; the readable report goes to stderr.

import os from 'node:os';
import process from 'node:process';
import { parseArgs } from 'node:util';

import { createQforget, liveHandles } from '../web/index.js';
import { loadFashionMnist } from './fashion_mnist.mjs';
import { createTfjsTrainer, liveTensors, tfjsLayersVersion, tfjsVersion, useBackend } from './tfjs_models.mjs';

const USAGE = 'usage: node bench/train_speed.mjs [--json] [--quick] [--samples N] [--lenet-samples N] [--rounds R]';

const TRAINING = { batchSize: 64, lr: 0.01, momentum: 0.9 };
const INPUT_SHAPE = [28, 28, 1];
const NUM_CLASSES = 10;
const WEIGHT_BITS = 4;
const SIZES = {
  full: { samples: 6000, lenetSamples: 512, test: 2000 },
  quick: { samples: 1024, lenetSamples: 128, test: 512 },
};

// samples: the option giving the pair's training-set size; warmup: images in the
// untimed warm-up epoch (one batch for lenet: a tfjs-cpu batch takes tens of seconds).
const PAIRS = [
  { arch: 'mlp', backend: 'wasm', target: 3, samples: 'samples', warmup: 512 },
  { arch: 'lenet', backend: 'cpu', target: 10, samples: 'lenetSamples', warmup: 64 },
];

// ---- command line ------------------------------------------------------------------

function fail(message) {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function positiveInt(name, text) {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) fail(`--${name} must be a positive integer, got '${text}'`);
  return value;
}

function readOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        samples: { type: 'string' },
        'lenet-samples': { type: 'string' },
        rounds: { type: 'string', default: '1' },
      },
    }));
  } catch (error) {
    fail(error.message);
  }
  const size = values.quick ? SIZES.quick : SIZES.full;
  return {
    json: values.json,
    samples: values.samples === undefined ? size.samples : positiveInt('samples', values.samples),
    lenetSamples: values['lenet-samples'] === undefined ? size.lenetSamples
      : positiveInt('lenet-samples', values['lenet-samples']),
    testSamples: size.test,
    rounds: positiveInt('rounds', values.rounds),
  };
}

// ---- data --------------------------------------------------------------------------

/** The first n samples of a dataset {x, y, shape}, sharing its bytes. */
function head(ds, n) {
  const count = Math.min(n, ds.shape[0]);
  const size = ds.shape.slice(1).reduce((a, b) => a * b, 1);
  return { x: ds.x.subarray(0, count * size), y: ds.y.subarray(0, count), shape: [count, ...ds.shape.slice(1)] };
}

async function loadData(qf, options) {
  const needed = Math.max(options.samples, options.lenetSamples);
  const train = await loadFashionMnist(qf, 'train', needed);
  if (train.shape[0] < needed) fail(`the training set has only ${train.shape[0]} images`);
  return { train, test: await loadFashionMnist(qf, 'test', options.testSamples) };
}

/** The slices one pair trains on: {train, warmup, test}. */
function pairData(data, pair, options) {
  return { train: head(data.train, options[pair.samples]), warmup: head(data.train, pair.warmup), test: data.test };
}

// ---- implementations ---------------------------------------------------------------
// Each one is {impl, arch, bits, activate(), leaks(), create()}: activate() readies the
// library (tfjs: switches backend); leaks() counts the objects the library holds (must
// not grow across a run); create() makes a fresh model and returns a trainer
// {fitEpoch(ds) → training accuracy, evaluate(ds) → accuracy, dispose()}.

function qforgetImpl(qf, arch) {
  return {
    impl: 'qforget',
    arch,
    bits: WEIGHT_BITS,
    activate: async () => {},
    leaks: liveHandles,
    create() {
      const model = qf.createModel({ arch, inputShape: INPUT_SHAPE, numClasses: NUM_CLASSES, weightBits: WEIGHT_BITS, seed: 1 });
      const fitOptions = {
        epochs: 1, batchSize: TRAINING.batchSize, lr: TRAINING.lr, optimizer: 'sgd', momentum: TRAINING.momentum,
        weightDecay: 0, schedule: 'constant', seed: 1,
      };
      return {
        fitEpoch: async (ds) => (await model.fit(ds, fitOptions))[0].accuracy,
        evaluate: (ds) => model.evaluate(ds).accuracy,
        dispose: () => model.dispose(),
      };
    },
  };
}

function tfjsImpl(arch, backend) {
  return {
    impl: `tfjs-${backend}`,
    arch,
    bits: 32,
    activate: () => useBackend(backend),
    leaks: liveTensors,
    create: () => createTfjsTrainer({ arch, inputShape: INPUT_SHAPE, numClasses: NUM_CLASSES, ...TRAINING }),
  };
}

// ---- timing ------------------------------------------------------------------------

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One run: a fresh model, the warm-up epoch, the timed epoch, the test accuracy. */
async function timeEpoch(impl, data) {
  await impl.activate();
  const leaksBefore = impl.leaks();
  const trainer = impl.create();
  let result;
  try {
    await trainer.fitEpoch(data.warmup);
    const start = performance.now();
    const trainAccuracy = await trainer.fitEpoch(data.train);
    const seconds = (performance.now() - start) / 1000;
    result = { seconds, trainAccuracy, testAccuracy: trainer.evaluate(data.test) };
  } finally {
    trainer.dispose();
  }
  const leaked = impl.leaks() - leaksBefore;
  return { ...result, leak: leaked > 0 ? `${impl.impl} ${impl.arch}: ${leaked} object(s) left alive` : null };
}

/** Runs the pair `rounds` times, alternating who goes first; medians per implementation. */
async function measurePair(impls, data, rounds) {
  const runs = impls.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [1, 0] : [0, 1];
    for (const i of order) runs[i].push(await timeEpoch(impls[i], data));
  }
  const samples = data.train.shape[0];
  return impls.map(({ impl, arch, bits }, i) => {
    const seconds = median(runs[i].map((r) => r.seconds));
    const { trainAccuracy, testAccuracy } = runs[i].at(-1);
    return {
      impl, arch, bits, samples, seconds, imagesPerSecond: samples / seconds, trainAccuracy, testAccuracy,
      leaks: runs[i].map((r) => r.leak).filter(Boolean),
    };
  });
}

// ---- report ------------------------------------------------------------------------

const percent = (fraction) => `${(100 * fraction).toFixed(1)}%`;
const rate = (perSecond) => perSecond.toFixed(perSecond < 100 ? 2 : 0);

function header(qf, options, data) {
  return [
    'qforget training-speed benchmark: one epoch of Fashion-MNIST, single thread',
    `date      ${new Date().toISOString()}`,
    `node      ${process.version} (${os.platform()} ${os.arch()})`,
    `cpu       ${os.cpus()[0]?.model ?? 'unknown'} (${os.cpus().length} logical cores; shared, noisy machine)`,
    `qforget   ${qf.version} (isa ${qf.kernels.isa}), QAT: ${WEIGHT_BITS}-bit weights, 8-bit first and last layer`,
    `peers     tfjs-core ${tfjsVersion} + tfjs-layers ${tfjsLayersVersion}, fp32: mlp on the wasm backend (1 thread), ` +
      'lenet on the cpu backend',
    `data      first ${options.samples} training images for mlp, ${options.lenetSamples} for lenet; ` +
      `${data.test.shape[0]} test images; untimed warm-up epoch on the first ${PAIRS.map((p) => `${p.warmup} (${p.arch})`).join(', ')}`,
    `training  batch ${TRAINING.batchSize}, SGD lr ${TRAINING.lr} momentum ${TRAINING.momentum}, no weight decay, ` +
      'constant rate, shuffled',
    `timing    one whole fit call of one epoch (data copy/conversion included); pairs back to back` +
      (options.rounds > 1 ? `; median of ${options.rounds} rounds, alternating order` : ''),
    'accuracy  train: running, during the timed epoch; test: after it (qforget: deployed integer model)',
  ].join('\n') + '\n\n';
}

const COLUMNS = `${'impl'.padEnd(11)}${'arch'.padEnd(7)}${'bits'.padStart(4)}${'s/epoch'.padStart(10)}` +
  `${'images/s'.padStart(10)}${'train acc'.padStart(11)}${'test acc'.padStart(10)}\n`;

const row = (r) => `${r.impl.padEnd(11)}${r.arch.padEnd(7)}${String(r.bits).padStart(4)}` +
  `${r.seconds.toFixed(3).padStart(10)}${rate(r.imagesPerSecond).padStart(10)}` +
  `${percent(r.trainAccuracy).padStart(11)}${percent(r.testAccuracy).padStart(10)}\n`;

function speedupLine([ours, peer], target) {
  const speedup = ours.imagesPerSecond / peer.imagesPerSecond;
  const verdict = speedup >= target ? 'met' : 'NOT met';
  return `  ${`qforget ${ours.arch} / ${peer.impl} ${peer.arch} speedup`.padEnd(40)}` +
    `${speedup.toFixed(2)}x   (target >= ${target}x: ${verdict})\n\n`;
}

const jsonLine = ({ impl, arch, bits, samples, seconds, imagesPerSecond, trainAccuracy, testAccuracy }) =>
  `${JSON.stringify({ impl, arch, bits, samples, seconds: Number(seconds.toFixed(4)),
    imagesPerSecond: Number(imagesPerSecond.toFixed(2)), trainAccuracy, testAccuracy })}\n`;

// ---- main --------------------------------------------------------------------------

async function main() {
  const options = readOptions(process.argv.slice(2));
  const report = options.json ? process.stderr : process.stdout;
  const qf = await createQforget({ threads: 1 });  // one core, as tfjs runs here (bench/threads.mjs scales)
  const data = await loadData(qf, options);
  report.write(header(qf, options, data));
  report.write(COLUMNS);

  const leaks = [];
  for (const pair of PAIRS) {
    const impls = [qforgetImpl(qf, pair.arch), tfjsImpl(pair.arch, pair.backend)];
    const results = await measurePair(impls, pairData(data, pair, options), options.rounds);
    for (const r of results) {
      report.write(row(r));
      if (options.json) process.stdout.write(jsonLine(r));
      leaks.push(...r.leaks);
    }
    report.write(speedupLine(results, pair.target));
  }

  report.write(`leaks     tfjs tensors alive now: ${liveTensors()}; qforget handles alive now: ${liveHandles()}\n`);
  if (leaks.length) {
    process.stderr.write(`FAILED: objects leaked\n${leaks.map((l) => `  ${l}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`bench/train_speed.mjs: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
