// What streaming the retain set costs: the same Q-MUL forget on Fashion-MNIST with D_r in
// memory and streamed (async batches of 256, as from IndexedDB), same shuffleWindow, timed
// in one process and interleaved so a shared machine's load falls on both alike. Also the
// engine memory each one reserved while it ran (sampled at each epoch's end) and whether
// they give the same bytes. Medians over rounds.
//
//   node bench/stream_forget.mjs --arch lenet --retain 10000 --window 1024 --rounds 3
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';

import { createQforget } from '../web/index.js';
import { loadFashionMnist, subset } from './fashion_mnist.mjs';

const { values: args } = parseArgs({
  options: {
    arch: { type: 'string', default: 'lenet' },
    retain: { type: 'string', default: '10000' },
    forget: { type: 'string', default: '200' },
    window: { type: 'string', default: '1024' },
    epochs: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  },
});
const [nRetain, nForget, rounds] = [Number(args.retain), Number(args.forget), Number(args.rounds)];

const qf = await createQforget();
const train = await loadFashionMnist(qf, 'train', nRetain + nForget);
const ids = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);
const retain = subset(train, ids(0, nRetain));
const forgetSet = subset(train, ids(nRetain, nRetain + nForget));
const model = qf.createModel({ arch: args.arch, inputShape: [28, 28, 1], numClasses: 10, weightBits: 4, seed: 1 });
await model.fit(subset(train, ids(0, 2000)), { epochs: 1 });
const original = model.save();
model.dispose();

const size = 784;
const stream = {
  async *[Symbol.asyncIterator]() {
    for (let at = 0; at < nRetain; at += 256) {
      await new Promise((resolve) => setImmediate(resolve));  // an async source
      const m = Math.min(256, nRetain - at);
      yield { x: retain.x.slice(at * size, (at + m) * size), y: retain.y.slice(at, at + m), shape: [m, 28, 28, 1] };
    }
  },
};
const options = { method: 'qmul', epochs: Number(args.epochs), batchSize: 128, lr: 0.01, shuffleWindow: Number(args.window) };

async function run(retainSet) {
  const m = qf.loadModel(original);
  let reserved = 0;
  const onProgress = () => { reserved = Math.max(reserved, qf.memoryStats().reserved); };
  const started = performance.now();
  await m.forget(forgetSet, { ...options, retain: retainSet, onProgress });
  const seconds = (performance.now() - started) / 1000;
  const sha = createHash('sha256').update(m.save()).digest('hex');
  m.dispose();
  return { seconds, reserved, sha };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const times = { memory: [], stream: [] };
let same = true;
for (let r = 0; r < rounds; r++) {
  const s = await run(stream);
  const m = await run(retain);
  times.stream.push(s.seconds);
  times.memory.push(m.seconds);
  same &&= s.sha === m.sha;
  if (r === 0) console.log(`reserved while forgetting: streamed ${(s.reserved / 2 ** 20).toFixed(1)} MiB, in memory ${(m.reserved / 2 ** 20).toFixed(1)} MiB (D_r is ${(retain.x.length / 2 ** 20).toFixed(1)} MiB)`);
}
console.log(`${args.arch}, qmul ${args.epochs} epochs, |D_r| ${nRetain}, |D_f| ${nForget}, shuffleWindow ${args.window}: ` +
  `in memory ${median(times.memory).toFixed(2)} s, streamed ${median(times.stream).toFixed(2)} s, ` +
  `ratio ${(median(times.stream) / median(times.memory)).toFixed(2)}x (median of ${rounds}); same bytes: ${same}`);
