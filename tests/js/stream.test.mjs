// Streamed datasets (fit's data, forget's retain as an iterable of batches): a retain set
// several times larger than the memory limit streams through the engine's window while
// the same set in memory is refused; a stream trains and forgets byte for byte like its
// samples in memory with the same shuffleWindow; receipts and the ledger hash it; and bad
// streams are refused by name, leaving the model as it was.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';

import { createQforget, QforgetError } from '../../web/index.js';
import { synthetic } from './synthetic.mjs';

const MiB = 2 ** 20;
const FEATURES = 1024;
const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// n float feature vectors of 5 classes: class k raises every 5th feature from k on.
function features(n, seed) {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const x = new Float32Array(n * FEATURES);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(next() * 5);
    y[i] = k;
    for (let j = 0; j < FEATURES; j++) x[i * FEATURES + j] = next() + (j % 5 === k ? 1 : 0);
  }
  return { x, y, shape: [n, FEATURES] };
}

// The batches of `ds` (`size` samples each) as a stream that starts over each time it is
// iterated, and the dataset they make together. `opened` counts its iterations.
function streamOf(ds, size) {
  const n = ds.shape[0], d = ds.x.length / n;
  const stream = {
    opened: 0,
    closed: 0,
    async *[Symbol.asyncIterator]() {
      stream.opened++;
      try {
        for (let at = 0; at < n; at += size) {
          const m = Math.min(size, n - at);
          yield { x: ds.x.slice(at * d, (at + m) * d), y: ds.y.slice(at, at + m), shape: [m, ...ds.shape.slice(1)] };
        }
      } finally {
        stream.closed++;
      }
    },
  };
  return stream;
}

const SMALL = { arch: 'custom', inputShape: [FEATURES], inputType: 'float32', numClasses: 5, weightBits: 4, seed: 3, layers: [{ type: 'dense', units: 24 }, { type: 'relu' }, { type: 'dense', units: 5 }] };
const LENET = { arch: 'lenet', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 2 };

describe('streamed datasets', () => {
  it('a retain set 4x the memory limit streams through; in memory it is refused; both forget alike', async () => {
    // One thread: each thread past the first adds 1 MiB of scratch to a reservation, and
    // the limit here is tight whatever the machine's cores (memory.test.mjs covers threads).
    const qf = await createQforget({ threads: 1 });
    const model = qf.createModel(SMALL);
    await model.fit(features(300, 1), { epochs: 1, batchSize: 32 });
    const original = model.save();
    const retain = features(16000, 2);
    const forgetSet = features(40, 3);
    const options = { method: 'qmul', epochs: 2, batchSize: 32, lr: 0.01, shuffleWindow: 128 };

    const limit = qf.memoryStats().inUse + 10 * MiB;
    assert.ok(retain.x.byteLength > 4 * limit, `the retain set (${retain.x.byteLength} bytes) is over 4x the limit (${limit})`);
    qf.setMemoryLimit(limit);
    try {
      const footprint = qf.memoryStats().footprint;
      const stream = streamOf(retain, 100);
      const receipt = await model.forget(forgetSet, { ...options, retain: stream });
      assert.equal(receipt.retained, 16000);
      assert.equal(stream.opened, 1 + 2 * 2, 'counted once, then a scan and a weighted pass per epoch');
      assert.equal(stream.closed, stream.opened, 'every iteration was closed');
      const { footprint: after, peakReserved } = qf.memoryStats();
      assert.ok(peakReserved <= limit, `reserved at most the limit (${peakReserved})`);
      assert.ok(after - footprint < retain.x.byteLength / 4, `wasm memory grew ${after - footprint} bytes for a ${retain.x.byteLength}-byte retain set`);
      const streamed = model.save();
      assert.notEqual(sha256(streamed), sha256(original), 'the forget changed the model');
      // A window that would not fit is refused up front, naming it.
      await assert.rejects(model.forget(forgetSet, { ...options, retain: streamOf(retain, 100), shuffleWindow: 4000 }),
        isError('RESOURCE_EXHAUSTED', /the retain stream's window \(shuffleWindow 4000 \+ batchSize 32 samples\)/));
      assert.equal(sha256(model.save()), sha256(streamed));

      // The same samples in memory do not fit under this limit.
      const reload = qf.loadModel(original);
      await assert.rejects(reload.forget(forgetSet, { ...options, retain }), isError('RESOURCE_EXHAUSTED', /limit/));
      qf.setMemoryLimit(null);
      await reload.forget(forgetSet, { ...options, retain });
      assert.equal(sha256(reload.save()), sha256(streamed), 'in memory, with the same shuffleWindow: the same bytes');
      reload.dispose();
    } finally {
      qf.setMemoryLimit(null);
      model.dispose();
    }
  });

  it('fit on a stream equals fit in memory with the same shuffleWindow, and the ledger records its samples', async () => {
    const qf = await createQforget();
    const data = synthetic(400, 5);
    const a = qf.createModel(LENET);
    const b = qf.createModel(LENET);
    await Promise.all([a.checkpoint(), b.checkpoint()]);
    const options = { epochs: 2, batchSize: 32, lr: 0.02, shuffleWindow: 50 };
    const history = await a.fit(streamOf(data, 64), options);
    await b.fit(data, options);
    assert.equal(history.length, 2);
    assert.equal(sha256(a.save()), sha256(b.save()));
    const fits = (h) => h.events.filter((e) => e.type === 'fit').map(({ samples, options: o, epochs }) => ({ samples, o, epochs }));
    assert.deepEqual(fits(a.history()), fits(b.history()), 'the same samples, hashed alike');
    // Without shuffleWindow a stream reads through 1,024 samples (here: all 400), and a
    // set in memory is shuffled whole: the same full shuffle.
    const c = qf.createModel(LENET);
    const d = qf.createModel(LENET);
    await c.fit(streamOf(data, 64), { epochs: 1 });
    await d.fit(data, { epochs: 1 });
    assert.equal(sha256(c.save()), sha256(d.save()));
    for (const m of [a, b, c, d]) m.dispose();
  });

  it("a receipt names the stream's size and hash; another sample, another hash", async () => {
    const qf = await createQforget();
    const model = qf.createModel(LENET);
    const retain = synthetic(200, 7);
    const forgetSet = synthetic(10, 8);
    const options = { method: 'ft', epochs: 1, batchSize: 32 };
    const before = model.save();
    const r1 = await model.forget(forgetSet, { ...options, retain: streamOf(retain, 30) });
    model.dispose();
    const again = qf.loadModel(before);
    const r2 = await again.forget(forgetSet, { ...options, retain: streamOf(retain, 70) });
    assert.equal(r1.retained, 200);
    assert.match(r1.retainSetSha256, /^[0-9a-f]{64}$/);
    assert.equal(r2.retainSetSha256, r1.retainSetSha256, 'batch boundaries do not change the hash');
    assert.equal(r2.modelAfterSha256, r1.modelAfterSha256);
    const changed = { ...retain, y: retain.y.slice() };
    changed.y[3] = (changed.y[3] + 1) % 9;
    const r3 = await qf.loadModel(before).forget(forgetSet, { ...options, retain: streamOf(changed, 30) });
    assert.notEqual(r3.retainSetSha256, r1.retainSetSha256);
    again.dispose();
  });

  describe('bad streams are refused by name and change nothing', () => {
    const retain = synthetic(120, 9);
    const forgetSet = synthetic(10, 10);
    const FORGET = { method: 'qmul', epochs: 2, batchSize: 16, shuffleWindow: 32 };
    // A stream whose pass `pass` (1: the counting pass) gives what `alter` makes of its batches.
    const altered = (pass, alter) => {
      let opened = 0;
      return {
        async *[Symbol.asyncIterator]() {
          opened++;
          for await (const b of streamOf(retain, 40)) yield opened === pass ? alter(b) : b;
        },
      };
    };
    const relabelled = (b) => ({ ...b, y: b.y.map((v, i) => (i === 5 ? (v + 1) % 9 : v)) });
    const cases = [
      ['a generator object', () => (async function* () { yield retain; })(), isError('INVALID_ARGUMENT', /options\.retain is an iterator.*starts over/)],
      ['a label out of range', () => altered(1, (b) => ({ ...b, y: b.y.map(() => 9) })), isError('INVALID_ARGUMENT', /options\.retain \(batch 1 of the stream\)\.y\[0\] = 9 is not a class/)],
      ['float samples for a pixel model', () => altered(1, (b) => ({ ...b, x: Float32Array.from(b.x) })), isError('INVALID_ARGUMENT', /options\.retain \(batch 1 of the stream\)\.x holds float32 values, the model takes uint8/)],
      ['a batch that is not a dataset', () => altered(1, () => ({ x: [1, 2] })), isError('INVALID_ARGUMENT', /options\.retain \(batch 1 of the stream\)\.x/)],
      ['an empty stream', () => ({ async *[Symbol.asyncIterator]() {} }), isError('INVALID_ARGUMENT', /options\.retain: the stream gave no samples/)],
      ['other samples in a later pass', () => altered(3, relabelled), isError('DATA_LOSS', /\(batch 1 of the stream\): sample 5 of the stream differs in pass 3 from the first pass/)],
      ['fewer samples in a later pass', () => altered(2, (b) => ({ ...b, x: b.x.subarray(0, 0), y: b.y.subarray(0, 0), shape: [0, 12, 12, 1] })), isError('DATA_LOSS', /options\.retain: the stream ended after 0 samples in pass 2; its first pass gave 120/)],
      ['an iterator that throws', () => altered(2, () => { throw new Error('disk on fire'); }), (e) => e.message === 'disk on fire'],
      ['a negative shuffleWindow', () => streamOf(retain, 40), isError('INVALID_ARGUMENT', /shuffleWindow must be in \[0, 2\^31\]/), { shuffleWindow: -1 }],
      ['a test set without held-out retain samples', () => streamOf(retain, 40), isError('INVALID_ARGUMENT', /streamed options\.retain needs options\.heldOutRetain/), { test: synthetic(20, 11) }],
      ['a streamed test set', () => retain, isError('INVALID_ARGUMENT', /options\.test must be a dataset \{x, y, shape\} in memory/), { test: streamOf(retain, 40), heldOutRetain: retain }],
    ];
    for (const [name, make, matches, extra = {}] of cases) {
      it(name, async () => {
        const qf = await createQforget();
        const model = qf.createModel(LENET);
        const before = sha256(model.save());
        await assert.rejects(model.forget(forgetSet, { ...FORGET, ...extra, retain: make() }), matches);
        assert.equal(sha256(model.save()), before);
        await model.forget(forgetSet, { ...FORGET, retain: streamOf(retain, 40) });  // still usable
        model.dispose();
      });
    }

    it('an aborted streamed fit stops, closes the stream and leaves the model as it was', async () => {
      const qf = await createQforget();
      const model = qf.createModel(LENET);
      const before = sha256(model.save());
      const stream = streamOf(synthetic(300, 12), 50);
      const controller = new AbortController();
      const fit = model.fit(stream, { epochs: 3, batchSize: 16, shuffleWindow: 20, onProgress: () => controller.abort(), signal: controller.signal });
      await assert.rejects(fit, isError('ABORTED', /aborted after 1 epoch/));
      assert.equal(stream.closed, stream.opened);
      assert.equal(sha256(model.save()), before);
      model.dispose();
    });
  });
});
