// qforget/worker with streamed datasets (fit's data, forget's options.retain given as an
// iterable of batches): the iterable stays on the caller's thread and the worker reads it
// batch by batch. A stream through the worker trains the same model, byte for byte, as the
// same samples in memory with the same shuffleWindow; an error of the caller's iterator
// rejects the call with that error and changes nothing; a generator object is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { QforgetError } from '../../web/index.js';
import { createQforgetWorker } from '../../web/worker.js';
import { synthetic } from './synthetic.mjs';

const SPEC = { arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 3 };
const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);
const withoutSeconds = ({ seconds, ...rest }) => rest;

// Samples [from, to) of `ds` (views, no copies).
function slice(ds, from, to) {
  return { x: ds.x.subarray(from * 144, to * 144), y: ds.y.subarray(from, to), shape: [to - from, 12, 12, 1] };
}

// `ds` as an async iterable of batches of `size` samples; `iterations` counts how many
// times it was iterated; `onBatch(iteration, batch index)` runs before each batch.
function asyncStream(ds, size, onBatch = () => {}) {
  return {
    iterations: 0,
    closed: 0,
    async *[Symbol.asyncIterator]() {
      const iteration = ++this.iterations;
      try {
        for (let at = 0, b = 0; at < ds.shape[0]; at += size, b++) {
          onBatch(iteration, b);
          yield slice(ds, at, Math.min(at + size, ds.shape[0]));
        }
      } finally {
        this.closed++;
      }
    },
  };
}

// The same, a sync iterable.
function syncStream(ds, size) {
  return {
    iterations: 0,
    *[Symbol.iterator]() {
      this.iterations++;
      for (let at = 0; at < ds.shape[0]; at += size) yield slice(ds, at, Math.min(at + size, ds.shape[0]));
    },
  };
}

// A worker for one test, terminated when the test ends whatever happens.
async function start(t) {
  const worker = await createQforgetWorker();
  t.after(() => worker.terminate());
  return worker;
}

describe('worker with streamed datasets', () => {
  it('forget with a streamed retain equals forget with it in memory', async (t) => {
    const worker = await start(t);
    const all = synthetic(440, 31);
    const forget = slice(all, 0, 40), retain = slice(all, 40, 440);
    const trained = await worker.createModel(SPEC);
    await trained.fit(all, { epochs: 1, batchSize: 32, seed: 1 });
    const bytes = await trained.save();
    const options = { method: 'ft', epochs: 2, batchSize: 32, lr: 0.05, seed: 1, shuffleWindow: 64 };

    const inMemory = await worker.loadModel(bytes);
    const want = await inMemory.forget(forget, { ...options, retain });
    const streamed = await worker.loadModel(bytes);
    const stream = asyncStream(retain, 50);
    const seen = [];
    const got = await streamed.forget(forget, { ...options, retain: stream, onProgress: (e) => seen.push(e) });

    assert.deepEqual(await streamed.save(), await inMemory.save(), 'the same model, byte for byte');
    assert.notDeepEqual(await streamed.save(), bytes, 'forget changed the model');
    assert.equal(got.retained, 400);
    assert.equal(got.retained, want.retained);
    assert.deepEqual(got.epochs.map(withoutSeconds), want.epochs.map(withoutSeconds));
    assert.deepEqual(seen, got.epochs, 'onProgress works alongside a stream');
    assert.ok(stream.iterations >= 1 + options.epochs, `read once to count it and once per epoch (${stream.iterations} times)`);
    assert.equal(stream.closed, stream.iterations, 'every iteration was ended');
    assert.equal(retain.x.byteLength, 400 * 144, 'the caller keeps its arrays (copied, not moved)');
    assert.equal(all.x.byteLength, 440 * 144);

    for (const m of [trained, inMemory, streamed]) await m.dispose();
    assert.equal(await worker.liveHandles(), 0);
  });

  it('fit with a stream equals fit with the dataset in memory', async (t) => {
    const worker = await start(t);
    const train = synthetic(400, 1);
    const options = { epochs: 2, batchSize: 32, lr: 0.05, seed: 7, shuffleWindow: 64 };
    const inMemory = await worker.createModel(SPEC);
    const want = await inMemory.fit(train, options);
    const streamed = await worker.createModel(SPEC);
    const stream = syncStream(train, 50);  // a sync iterable works as well
    const got = await streamed.fit(stream, options);
    assert.deepEqual(got.map(withoutSeconds), want.map(withoutSeconds));
    assert.deepEqual(await streamed.save(), await inMemory.save(), 'the same model, byte for byte');
    assert.equal(stream.iterations, 1 + options.epochs, 'read once to count it and once per epoch');
    assert.equal(train.x.byteLength, 400 * 144, 'the caller keeps its arrays');

    await inMemory.dispose();
    await streamed.dispose();
    assert.equal(await worker.liveHandles(), 0);
  });

  it("an error of the stream's iterator rejects the call with it and changes nothing", async (t) => {
    const worker = await start(t);
    const all = synthetic(440, 5);
    const forget = slice(all, 0, 40), retain = slice(all, 40, 440);
    const remote = await worker.createModel(SPEC);
    await remote.fit(all, { epochs: 1, seed: 2 });
    const bytes = await remote.save();
    const options = { method: 'ft', epochs: 3, batchSize: 32, lr: 0.05, seed: 1, shuffleWindow: 64 };

    // Iteration 1 counts the stream, 2 is the first epoch: the second epoch's throws.
    const boom = new Error('the disk went away');
    const failing = asyncStream(retain, 50, (iteration, b) => {
      if (iteration === 3 && b === 2) throw boom;
    });
    await assert.rejects(remote.forget(forget, { ...options, retain: failing }), (e) => e === boom && e.message === 'the disk went away');
    assert.equal(failing.iterations, 3);
    assert.deepEqual(await remote.save(), bytes, 'the model is exactly as before');

    // A QforgetError keeps its code; the same holds for fit.
    const lost = new QforgetError('DATA_LOSS', 'batch 3 is corrupt');
    const corrupt = asyncStream(all, 50, (iteration, b) => {
      if (iteration === 2 && b === 3) throw lost;
    });
    await assert.rejects(remote.fit(corrupt, { epochs: 2, shuffleWindow: 64 }), (e) => e === lost && e.code === 'DATA_LOSS');
    assert.deepEqual(await remote.save(), bytes, 'the model is exactly as before');

    // The worker goes on: the same forget without the failure succeeds.
    await remote.forget(forget, { ...options, retain: asyncStream(retain, 50) });
    assert.notDeepEqual(await remote.save(), bytes);
    await remote.dispose();
    assert.equal(await worker.liveHandles(), 0);
  });

  it('a generator object, and a stream where none may be, are refused', async (t) => {
    const worker = await start(t);
    const all = synthetic(120, 9);
    const forget = slice(all, 0, 20), retain = slice(all, 20, 120);
    const remote = await worker.createModel(SPEC);
    const bytes = await remote.save();
    async function* batches(ds) {
      for (let at = 0; at < ds.shape[0]; at += 50) yield slice(ds, at, Math.min(at + 50, ds.shape[0]));
    }
    const generatorObject = /is an iterator \(a generator object, say\), which can be read once/;
    await assert.rejects(remote.forget(forget, { method: 'ft', retain: batches(retain) }), isError('INVALID_ARGUMENT', new RegExp(`options.retain ${generatorObject.source}`)));
    await assert.rejects(remote.fit(batches(all)), isError('INVALID_ARGUMENT', new RegExp(`dataset ${generatorObject.source}`)));
    await assert.rejects(remote.evaluate(asyncStream(all, 50)), isError('INVALID_ARGUMENT', /dataset is a stream of batches \(only fit's dataset and forget's options.retain may be streamed\)/));
    await assert.rejects(remote.forget(forget, { retain, test: asyncStream(all, 50) }), isError('INVALID_ARGUMENT', /options.test is a stream of batches/));
    assert.deepEqual(await remote.save(), bytes, 'refused calls changed nothing');

    await remote.dispose();
    assert.equal(await worker.liveHandles(), 0);
  });
});
