// Soak: many forget requests in a row on one model, as a long-lived app would make them.
// Each request forgets a few random training samples of a "user" (never the same sample
// twice) with Q-MUL, chained to the previous receipt. Tracks the test accuracy, the wasm
// memory, and the receipts; ends with the chain check and a save/load round trip.
//
//   node bench/soak.mjs [--requests 100] [--per-request 20] [--retain-sample 1000] [--lr 0.01] [--json]
//
// The model: lenet at 4 bits trained on the first --train images (cached in
// bench/out/models). Results go to docs/RELIABILITY.md with this command.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { createQforget, verifyReceipts } from '../web/index.js';
import { loadFashionMnist, subset } from './fashion_mnist.mjs';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '100' },
    'per-request': { type: 'string', default: '20' },
    train: { type: 'string', default: '10000' },
    'retain-sample': { type: 'string', default: '1000' },
    lr: { type: 'string', default: '0.01' },
    epochs: { type: 'string', default: '2' },
    cache: { type: 'string', default: 'bench/out/models' },
    json: { type: 'boolean', default: false },
  },
});
const num = (name) => Number(args[name]);
const log = (line) => { if (!args.json) console.log(line); };

const qf = await createQforget();
const train = await loadFashionMnist(qf, 'train', num('train'));
const test = await loadFashionMnist(qf, 'test');

// The model under test, trained once.
await mkdir(args.cache, { recursive: true });
const file = path.join(args.cache, `soak-lenet-4-n${train.shape[0]}.qfm`);
let model;
try {
  model = qf.loadModel(new Uint8Array(await readFile(file)));
} catch {
  log(`training lenet 4-bit on ${train.shape[0]} images (cached in ${file})`);
  model = qf.createModel({ arch: 'lenet', inputShape: [28, 28, 1], numClasses: 10, weightBits: 4, seed: 1 });
  await model.fit(train, { epochs: 5, batchSize: 64, lr: 0.05, schedule: 'cosine', seed: 1 });
  await writeFile(file, model.save());
}

// A seeded order of the training samples: users' samples come off the front, the retain
// sample of each request is drawn from what has not been forgotten.
let s = 12345;
const random = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const order = Array.from({ length: train.shape[0] }, (_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}

const per = num('per-request');
const startAccuracy = model.evaluate(test).accuracy;
const startMemory = qf.memoryBytes();
const log_ = [];
const samples = [];  // {request, accuracy, memoryBytes, seconds}
log(`start: test accuracy ${(100 * startAccuracy).toFixed(2)} %, wasm memory ${(startMemory / 2 ** 20).toFixed(0)} MiB`);
const started = performance.now();
for (let r = 0; r < num('requests'); r++) {
  const user = subset(train, order.slice(r * per, (r + 1) * per));
  const remaining = order.slice((r + 1) * per);
  const retainIds = Array.from({ length: num('retain-sample') }, () => remaining[Math.floor(random() * remaining.length)]);
  const receipt = await model.forget(user, {
    retain: subset(train, retainIds), method: 'qmul', qmulMode: 'sequential', epochs: num('epochs'), lr: num('lr'), batchSize: 64,
    seed: r + 1, previousReceipt: log_.at(-1),
  });
  log_.push(receipt);
  if ((r + 1) % 10 === 0 || r === 0) {
    const point = { request: r + 1, accuracy: model.evaluate(test).accuracy, memoryBytes: qf.memoryBytes(), seconds: receipt.seconds };
    samples.push(point);
    log(`request ${String(r + 1).padStart(3)}: test accuracy ${(100 * point.accuracy).toFixed(2)} %, ` +
        `wasm memory ${(point.memoryBytes / 2 ** 20).toFixed(0)} MiB, last forget ${point.seconds.toFixed(1)} s`);
  }
}
const chain = await verifyReceipts(log_);
const bytes = model.save();
const reloaded = qf.loadModel(bytes);
const [a, b] = [model, reloaded].map((m) => m.predict(test.x));
const reproduces = a.length === b.length && a.every((v, i) => v === b[i]);
reloaded.dispose();
model.dispose();

const accuracies = samples.map((p) => p.accuracy);
const summary = {
  requests: num('requests'), perRequest: per, retainSample: num('retain-sample'), epochs: num('epochs'),
  startAccuracy, endAccuracy: accuracies.at(-1), minAccuracy: Math.min(...accuracies), maxAccuracy: Math.max(...accuracies),
  startMemoryBytes: startMemory, endMemoryBytes: qf.memoryBytes(),
  memoryAfterFirstBytes: samples[0].memoryBytes,
  chain, saveLoadReproduces: reproduces, totalSeconds: (performance.now() - started) / 1000, samples,
};
if (args.json) console.log(JSON.stringify(summary));
else {
  log(`receipts: ${chain.ok ? `all ${chain.count} verify, the chain holds` : `BROKEN at ${chain.brokenAt}: ${chain.reason}`}`);
  log(`save/load reproduces the predictions: ${reproduces}`);
  log(`test accuracy ${(100 * startAccuracy).toFixed(2)} % -> ${(100 * summary.endAccuracy).toFixed(2)} % ` +
      `(range ${(100 * summary.minAccuracy).toFixed(2)}–${(100 * summary.maxAccuracy).toFixed(2)} %); ` +
      `wasm memory ${(summary.memoryAfterFirstBytes / 2 ** 20).toFixed(0)} MiB after the first request, ` +
      `${(summary.endMemoryBytes / 2 ** 20).toFixed(0)} MiB at the end; ${summary.totalSeconds.toFixed(0)} s`);
}
process.exitCode = chain.ok && reproduces ? 0 : 1;
