// Exact forgetting by rewind (forget({method: 'rewind' | 'auto'}), model.checkpoint(),
// the training ledger) through the real wasm builds: a rewind gives, bit for bit, the
// model the recorded fits would have trained without the forgotten samples (checked
// against training that model directly); it refuses what it cannot do and then changes
// nothing; auto weighs it against Q-MUL; the ledger travels with history().
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { createQforget, liveHandles, QforgetError } from '../../web/index.js';
import { createQforgetWorker } from '../../web/worker.js';
import { synthetic } from './synthetic.mjs';

const SPEC = { arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 3 };
const FIT = { epochs: 2, batchSize: 16, lr: 0.05, seed: 5 };
const SAMPLE = 144;
const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);

afterEach(() => assert.equal(liveHandles(), 0, 'every wasm object was released'));

/** The samples of `ds` at `ids`, in that order. */
function pick(ds, ids) {
  const x = new Uint8Array(ids.length * SAMPLE);
  ids.forEach((id, i) => x.set(ds.x.subarray(id * SAMPLE, (id + 1) * SAMPLE), i * SAMPLE));
  return { x, y: Uint8Array.from(ids, (id) => ds.y[id]), shape: [ids.length, 12, 12, 1] };
}
const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);
const without = (ids, gone) => ids.filter((id) => !gone.includes(id));

/** A model trained on base data, as a base model shipped to a device would be. */
async function baseModel(qf) {
  const model = qf.createModel(SPEC);
  await model.fit(synthetic(300, 1), { epochs: 2, batchSize: 32, lr: 0.05 });
  return model;
}

/** The model `bytes` trained by `fits` ([dataset, options] pairs) in turn: what a rewind must equal. */
async function trained(qf, bytes, fits) {
  const model = qf.loadModel(bytes);
  for (const [ds, options] of fits) await model.fit(ds, options);
  const out = model.save();
  model.dispose();
  return out;
}

for (const simd of [true, false]) {
  describe(`rewind (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    it('forgets exactly: the model equals the fit without the samples, bit for bit', async () => {
      const qf = await createQforget({ simd });
      const model = await baseModel(qf);
      const base = model.save();
      const cp = await model.checkpoint();
      assert.equal(cp.index, 0);
      assert.match(cp.modelSha256, /^[0-9a-f]{64}$/);
      const user = synthetic(120, 7);
      await model.fit(user, FIT);
      const gone = [3, 50, 51, 119];
      const progress = [];
      const receipt = await model.forget(pick(user, gone), { method: 'rewind', data: user, onProgress: (e) => progress.push(e) });
      const expected = await trained(qf, base, [[pick(user, without(range(0, 120), gone)), FIT]]);
      assert.deepEqual(model.save(), expected);
      assert.equal(receipt.method, 'rewind');
      assert.equal(receipt.exact, true);
      assert.equal(receipt.forgotten, 4);
      assert.equal(receipt.retained, 116);
      assert.equal(receipt.rewind.checkpointSha256, cp.modelSha256);
      assert.deepEqual(receipt.rewind.fits, [{ samples: 116, removed: 4, epochs: 2 }]);
      assert.deepEqual(progress.map((e) => [e.fit, e.fits, e.epoch, e.fitEpochs]), [[1, 1, 1, 2], [1, 1, 2, 2]]);
      assert.equal(receipt.epochs.length, 2);
      assert.equal(receipt.metrics, null);
      model.dispose();
    });
  });
}

describe('rewind', () => {
  it('goes back to the newest checkpoint before the first fit that saw a sample, and replays every fit after it', async () => {
    const qf = await createQforget();
    const model = await baseModel(qf);
    const base = model.save();
    const a = synthetic(80, 11), b = synthetic(60, 12);
    const fitB = { ...FIT, seed: 9, epochs: 1 };
    const c0 = await model.checkpoint();
    await model.fit(a, FIT);
    const afterA = model.save();
    const c1 = await model.checkpoint();
    assert.equal(c1.index, 1);
    await model.fit(b, fitB);

    // A sample of the second fit: back to the second checkpoint, one fit replayed.
    const first = await model.forget(pick(b, [7]), { method: 'rewind', data: b });
    assert.equal(first.rewind.checkpointSha256, c1.modelSha256);
    assert.equal(first.rewind.fits.length, 1);
    assert.deepEqual(model.save(), await trained(qf, afterA, [[pick(b, without(range(0, 60), [7])), fitB]]));

    // A sample of the first fit: back to the first checkpoint; the second fit is replayed
    // without the sample forgotten before. The data given may hold more than needed.
    const data = { x: new Uint8Array([...a.x, ...b.x]), y: new Uint8Array([...a.y, ...b.y]), shape: [140, 12, 12, 1] };
    const second = await model.forget(pick(a, [0, 79]), { method: 'rewind', data });
    assert.equal(second.rewind.checkpointSha256, c0.modelSha256);
    assert.deepEqual(second.rewind.fits, [{ samples: 78, removed: 2, epochs: 2 }, { samples: 59, removed: 0, epochs: 1 }]);
    assert.deepEqual(model.save(), await trained(qf, base, [
      [pick(a, without(range(0, 80), [0, 79])), FIT],
      [pick(b, without(range(0, 60), [7])), fitB],
    ]));
    // The second checkpoint saw the sample: it is gone from the ledger, bytes and all.
    const events = model.history().events;
    assert.deepEqual(events.map((e) => e.type), ['checkpoint', 'fit', 'fit', 'forget']);
    assert.equal(events[0].modelSha256, c0.modelSha256);
    model.dispose();
  });

  it('after an approximate forget, a rewind leaves out what that forget removed too', async () => {
    const qf = await createQforget();
    const model = await baseModel(qf);
    const base = model.save();
    await model.checkpoint();
    const user = synthetic(90, 21);
    await model.fit(user, FIT);
    const approximate = await model.forget(pick(user, [4]), { method: 'ft', retain: pick(user, range(10, 90)), epochs: 1 });
    assert.equal(approximate.exact, false);
    assert.deepEqual(model.history().events.map((e) => e.type), ['checkpoint', 'fit', 'forget']);
    await model.forget(pick(user, [5]), { method: 'rewind', data: user });
    assert.deepEqual(model.save(), await trained(qf, base, [[pick(user, without(range(0, 90), [4, 5])), FIT]]));
    model.dispose();
  });

  it('refuses what it cannot do, naming why, and changes nothing', async () => {
    const qf = await createQforget();
    const model = await baseModel(qf);
    const user = synthetic(60, 31), other = synthetic(10, 32);
    const rewind = (set, options) => model.forget(set, { method: 'rewind', ...options });

    await assert.rejects(rewind(pick(user, [1]), { data: user }), isError('FAILED_PRECONDITION', /rewind needs a checkpoint: call model\.checkpoint\(\)/));
    await model.checkpoint();
    await model.fit(user, FIT);
    const bytes = model.save();
    const history = model.history();

    await assert.rejects(rewind(pick(other, [0]), { data: user }), isError('NOT_FOUND', /sample 0 of the forget set .* is in no fit recorded since the first checkpoint/));
    // The same pixels under another label are another sample.
    const relabelled = pick(user, [2]);
    relabelled.y[0] = (relabelled.y[0] + 1) % 9;
    await assert.rejects(rewind(relabelled, { data: user }), isError('NOT_FOUND', /sample 0 of the forget set/));
    await assert.rejects(rewind(pick(user, [1]), { data: pick(user, range(0, 50)) }), isError('FAILED_PRECONDITION', /options\.data lacks 10 of the 59 sample\(s\) recorded fit 1 of 1/));
    await assert.rejects(rewind(pick(user, [1]), {}), isError('INVALID_ARGUMENT', /method 'rewind' replays the recorded fits: give their training data as options\.data/));
    await assert.rejects(rewind(pick(user, [1]), { data: user, epochs: 3 }), isError('INVALID_ARGUMENT', /options\.epochs does not apply to method 'rewind'/));
    await assert.rejects(rewind(pick(user, [1]), { data: user, retain: user }), isError('INVALID_ARGUMENT', /options\.retain does not apply to method 'rewind'/));
    await assert.rejects(rewind(pick(user, [1]), { data: { ...user, y: new Uint8Array(59) } }), isError('INVALID_ARGUMENT', /options\.data/));
    await assert.rejects(model.forget(pick(user, [1]), { method: 'ft', retain: user, data: user }), isError('INVALID_ARGUMENT', /options\.data is the training data a rewind replays/));
    await assert.rejects(model.forget(pick(user, [1]), { method: 'qmul', retain: user, budget: 2 }), isError('INVALID_ARGUMENT', /options\.budget goes with method 'auto'/));
    await assert.rejects(model.forget(pick(user, [1]), { method: 'auto', data: user, retain: user, budget: -1 }), isError('INVALID_ARGUMENT', /options\.budget must be a finite number >= 0/));

    // Aborted halfway through the replay.
    const controller = new AbortController();
    await assert.rejects(rewind(pick(user, [1]), { data: user, signal: controller.signal, onProgress: () => controller.abort() }),
      isError('ABORTED', /forget was aborted after 1 epoch\(s\); the model is unchanged/));

    // Aborted in the report of the last epoch: nothing is left to train, and still nothing
    // changes (a rewind and an approximate forget alike).
    for (const options of [{ method: 'rewind', data: user }, { method: 'ft', retain: user, epochs: 1 }]) {
      const last = new AbortController();
      const epochs = options.epochs ?? FIT.epochs;
      await assert.rejects(model.forget(pick(user, [1]), { ...options, signal: last.signal, onProgress: (e) => e.epoch === epochs && last.abort() }),
        isError('ABORTED', new RegExp(`forget was aborted after ${epochs} epoch\\(s\\); the model is unchanged`)));
    }

    assert.deepEqual(model.save(), bytes);
    assert.deepEqual(model.history(), history);
    model.dispose();
  });

  it('measures the result when given a test set, and says the receipt is exact', async () => {
    const qf = await createQforget();
    const model = await baseModel(qf);
    await model.checkpoint();
    const user = synthetic(150, 41);
    await model.fit(user, FIT);
    const receipt = await model.forget(pick(user, range(0, 20)), {
      method: 'rewind', data: user, test: synthetic(120, 42), heldOutRetain: synthetic(120, 43),
    });
    assert.equal(receipt.metrics.retainSet, 'heldOut');
    assert.equal(receipt.metrics.FA.n, 20);
    assert.equal(receipt.metrics.TA.n, 120);
    assert.equal(receipt.metrics.RA.n, 120);
    model.dispose();
  });

  it("auto rewinds within its budget and otherwise runs Q-MUL, and says why", async () => {
    const qf = await createQforget();
    const model = await baseModel(qf);
    const start = model.save();
    await model.checkpoint();
    const user = synthetic(100, 51);
    await model.fit(user, FIT);
    const fitted = model.save();
    const history = model.history();
    const retain = synthetic(200, 52);
    const qmul = { epochs: 2, batchSize: 32, lr: 0.01 };
    const forgetSet = pick(user, [0, 1]);
    // The replay: 98 samples × 2 epochs = 196. Q-MUL: 2 epochs × (3 × 2 + 200 + 200) = 812.
    const cheap = await model.forget(forgetSet, { method: 'auto', data: user, retain, ...qmul });
    assert.equal(cheap.method, 'rewind');
    assert.deepEqual({ ...cheap.auto, reason: undefined }, { chose: 'rewind', budget: 1, rewindSamples: 196, qmulSamples: 812, reason: undefined });
    assert.match(cheap.auto.reason, /a rewind replays 196 sample\(s\), Q-MUL would run 812: within the budget of 1 × Q-MUL/);
    assert.deepEqual(model.save(), await trained(qf, start, [[pick(user, range(2, 100)), FIT]]));

    const again = qf.loadModel(fitted);
    await again.restoreHistory(history);
    const over = await again.forget(forgetSet, { method: 'auto', budget: 0.2, data: user, retain, ...qmul });
    assert.equal(over.method, 'qmul');
    assert.equal(over.exact, false);
    assert.equal(over.auto.chose, 'qmul');
    assert.match(over.auto.reason, /over the budget of 0\.2 × Q-MUL/);
    // Without the data to replay, auto says so and runs Q-MUL.
    const fresh = qf.loadModel(fitted);
    const noData = await fresh.forget(forgetSet, { method: 'auto', retain, ...qmul });
    assert.equal(noData.method, 'qmul');
    assert.match(noData.auto.reason, /no rewind: .*options\.data/);
    for (const m of [again, fresh, model]) m.dispose();
  });

  it('keeps its ledger in history(), which another copy of the model takes back, and refuses a foreign or damaged one', async () => {
    const qf = await createQforget();
    const model = await baseModel(qf);
    const base = model.save();
    await model.checkpoint();
    const user = synthetic(70, 61);
    await model.fit(user, FIT);
    const history = model.history();
    // Hashes and options, never sample content: the only bytes are the checkpoint's.
    assert.equal(history.format, 'qforget-history/1');
    const fit = history.events[1];
    assert.equal(fit.samples.length, 70);
    assert.ok(fit.samples.every((h) => /^[0-9a-f]{64}$/.test(h)));
    assert.deepEqual(fit.options, FIT);
    assert.ok(!JSON.stringify(history, (k, v) => (k === 'bytes' ? undefined : v)).includes('"x"'));

    const copy = qf.loadModel(model.save());
    await copy.restoreHistory(structuredClone(history));
    await copy.forget(pick(user, [9]), { method: 'rewind', data: user });
    assert.deepEqual(copy.save(), await trained(qf, base, [[pick(user, without(range(0, 70), [9])), FIT]]));

    const other = await baseModel(qf);
    await assert.rejects(other.restoreHistory(history), isError('FAILED_PRECONDITION', /the history ends at model .* but this model is/));
    const damaged = structuredClone(history);
    damaged.events[0].bytes[100] ^= 1;
    await assert.rejects(model.restoreHistory(damaged), isError('DATA_LOSS', /history\.events\[0\]: the checkpoint's bytes do not match/));
    const malformed = structuredClone(history);
    malformed.events[1].samples[3] = 'x';
    await assert.rejects(model.restoreHistory(malformed), isError('INVALID_ARGUMENT', /history\.events\[1\]\.samples must be an array of sample SHA-256s/));
    await assert.rejects(model.restoreHistory({ events: [] }), isError('INVALID_ARGUMENT', /history must be what model\.history\(\) returned/));
    assert.deepEqual(model.history(), history);
    await model.restoreHistory(null);
    assert.deepEqual(model.history().events, []);
    for (const m of [copy, other, model]) m.dispose();
  });

  it('works the same through a worker', async () => {
    const qf = await createQforgetWorker();
    try {
      const local = await createQforget();
      const reference = await baseModel(local);
      const base = reference.save();
      reference.dispose();
      const model = await qf.loadModel(base);
      await model.checkpoint();
      const user = synthetic(50, 71);
      await model.fit(user, FIT);
      const history = await model.history();
      assert.deepEqual(history.events.map((e) => e.type), ['checkpoint', 'fit']);
      const receipt = await model.forget(pick(user, [0]), { method: 'rewind', data: user });
      assert.equal(receipt.exact, true);
      assert.deepEqual(await model.save(), await trained(local, base, [[pick(user, range(1, 50)), FIT]]));
      const copy = await qf.loadModel(await model.save());
      await copy.restoreHistory(await model.history());
      assert.equal((await copy.history()).events.length, 3);
      await copy.dispose();
      await model.dispose();
    } finally {
      await qf.terminate();
    }
  });
});
