// Two calls that would change the same model at once — fit + forget, forget + forget,
// fit + fit, forget + fit, and dispose during fit or forget — on the main thread and
// through the worker: the second is refused with FAILED_PRECONDITION (a dispose stops the
// running call with ABORTED),
// never interleaved, and the first call's result is exactly what it is alone (compared
// with the same call run alone on a copy; same seed, same build: bit-identical). Two
// different models may train at once and each gets what it would get alone.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';

import { createQforget, liveHandles, QforgetError } from '../../web/index.js';
import { createQforgetWorker } from '../../web/worker.js';
import { synthetic } from './synthetic.mjs';

const SPEC = { arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 3 };
const FIT = { epochs: 3, batchSize: 8, lr: 0.05, seed: 1 };
const FORGET = { method: 'ft', epochs: 3, batchSize: 8, lr: 0.05, seed: 1 };
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);
const withoutSeconds = ({ seconds, ...rest }) => rest;
// What a forget receipt says about the work, without the wall times and the timestamp.
const receiptWork = (r) => ({ method: r.method, before: r.modelBeforeSha256, after: r.modelAfterSha256, epochs: r.epochs.map(withoutSeconds) });

// How a promise settled, without throwing.
const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));

function slice(ds, from, to) {
  return { x: ds.x.slice(from * 144, to * 144), y: ds.y.slice(from, to), shape: [to - from, 12, 12, 1] };
}

const train = synthetic(64, 31);
const forgetSet = slice(train, 0, 8);
const retain = slice(train, 8, 64);
const forgetOptions = { retain, ...FORGET };

afterEach(() => assert.equal(liveHandles(), 0, 'every main-thread wasm object was released'));

for (const simd of [true, false]) {
  describe(`concurrent calls on one model (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    let qf;
    let base;  // the bytes every test starts from
    const alone = {};  // what each call gives when it runs alone on a copy of `base`

    before(async () => {
      qf = await createQforget({ simd });
      const model = qf.createModel(SPEC);
      await model.fit(train, { epochs: 1, batchSize: 16, seed: 2 });
      base = model.save();
      model.dispose();
      const fitAlone = qf.loadModel(base);
      alone.fit = { history: (await fitAlone.fit(train, FIT)).map(withoutSeconds), sha256: sha256(fitAlone.save()) };
      fitAlone.dispose();
      const forgetAlone = qf.loadModel(base);
      alone.forget = { receipt: receiptWork(await forgetAlone.forget(forgetSet, forgetOptions)), sha256: sha256(forgetAlone.save()) };
      forgetAlone.dispose();
    });

    // The first call runs; the second, made while it runs, is refused; the first's result
    // and the model afterwards are as if the second had never been made.
    const pairs = [
      ['fit', 'forget', /cannot forget while the model is/],
      ['fit', 'fit', /cannot fit while the model is/],
      ['forget', 'forget', /cannot forget while the model is/],
      ['forget', 'fit', /cannot fit while the model is/],
    ];
    const call = (model, op) => (op === 'fit' ? model.fit(train, FIT) : model.forget(forgetSet, forgetOptions));
    const work = (op, value) => (op === 'fit' ? value.map(withoutSeconds) : receiptWork(value));
    const expected = (op) => (op === 'fit' ? alone.fit.history : alone.forget.receipt);

    for (const [first, second, refusal] of pairs) {
      it(`${second} during ${first} is refused with FAILED_PRECONDITION; ${first} is unaffected`, async () => {
        const model = qf.loadModel(base);
        const running = call(model, first);
        const refused = await settle(call(model, second));
        assert.ok(refused.error, `the second call (${second}) was not refused`);
        assert.ok(isError('FAILED_PRECONDITION', refusal)(refused.error), `${refused.error}`);
        const result = await running;
        assert.deepEqual(work(first, result), expected(first));
        assert.equal(sha256(model.save()), alone[first].sha256, 'the model is what the first call alone makes it');
        await call(model, second);  // refused while busy, accepted once idle
        model.dispose();
      });
    }

    it('reads during forget see the model as it was before (forget works on a copy)', async () => {
      const model = qf.loadModel(base);
      const seen = [];
      const receipt = await model.forget(forgetSet, { ...forgetOptions, onProgress: () => seen.push(sha256(model.save())) });
      assert.equal(seen.length, FORGET.epochs);
      assert.ok(seen.every((h) => h === sha256(base)), 'save() during forget returns the model before');
      assert.equal(receipt.modelAfterSha256, alone.forget.sha256);
      model.dispose();
    });

    it('dispose between epochs of fit or forget stops it with ABORTED and frees everything', async () => {
      for (const op of ['fit', 'forget']) {
        const model = qf.loadModel(base);
        let disposed = false;
        const onProgress = () => {
          if (!disposed) model.dispose();
          disposed = true;
        };
        const options = op === 'fit' ? { ...FIT, onProgress } : { ...forgetOptions, onProgress };
        const outcome = await settle(op === 'fit' ? model.fit(train, options) : model.forget(forgetSet, options));
        if (outcome.error) assert.ok(isError('ABORTED', /disposed/)(outcome.error), `${op}: ${outcome.error}`);
        else assert.deepEqual(work(op, outcome.value), expected(op), `${op} went on after dispose: it must then be unaffected`);
        assert.throws(() => model.predict(train.x.subarray(0, 144)), isError('FAILED_PRECONDITION', /disposed/));
        assert.equal(liveHandles(), 0, `${op}: the session was freed with the model`);
      }
    });

    it('dispose right after fit starts stops the fit with ABORTED; nothing leaks', async () => {
      const model = qf.loadModel(base);
      const fitting = settle(model.fit(train, FIT));
      model.dispose();
      const outcome = await fitting;
      assert.ok(isError('ABORTED', /disposed/)(outcome.error), `${outcome.error}`);
      assert.throws(() => model.describe(), isError('FAILED_PRECONDITION', /disposed/));
      assert.equal(liveHandles(), 0);
    });

    it('dispose right after forget starts gives a QforgetError and frees everything', async () => {
      const model = qf.loadModel(base);
      const forgetting = settle(model.forget(forgetSet, forgetOptions));
      model.dispose();
      const outcome = await forgetting;
      if (outcome.error) assert.ok(isError('ABORTED', /disposed/)(outcome.error), `${outcome.error?.constructor?.name}: ${outcome.error?.message}`);
      else assert.deepEqual(receiptWork(outcome.value), alone.forget.receipt);
      assert.equal(liveHandles(), 0);
    });

    it('two models train at once, each exactly as alone', async () => {
      const a = qf.loadModel(base), b = qf.loadModel(base), c = qf.loadModel(base);
      const [fitA, fitB, forgetC] = await Promise.all([a.fit(train, FIT), b.fit(train, FIT), c.forget(forgetSet, forgetOptions)]);
      assert.deepEqual(fitA.map(withoutSeconds), alone.fit.history);
      assert.deepEqual(fitB.map(withoutSeconds), alone.fit.history);
      assert.deepEqual(receiptWork(forgetC), alone.forget.receipt);
      assert.equal(sha256(a.save()), alone.fit.sha256);
      assert.equal(sha256(b.save()), alone.fit.sha256);
      assert.equal(sha256(c.save()), alone.forget.sha256);
      for (const m of [a, b, c]) m.dispose();
    });

    describe('through the worker', () => {
      let worker;
      before(async () => {
        worker = await createQforgetWorker({ simd });
      });
      after(() => worker.terminate());
      afterEach(async () => assert.equal(await worker.liveHandles(), 0, 'every wasm object in the worker was released'));

      for (const [first, second, refusal] of pairs) {
        it(`${second} during ${first} is refused with FAILED_PRECONDITION; ${first} is unaffected`, async () => {
          const remote = await worker.loadModel(base);
          const running = call(remote, first);
          const refused = await settle(call(remote, second));
          assert.ok(refused.error, `the second call (${second}) was not refused`);
          assert.ok(isError('FAILED_PRECONDITION', refusal)(refused.error), `${refused.error}`);
          assert.deepEqual(work(first, await running), expected(first));
          assert.equal(sha256(await remote.save()), alone[first].sha256);
          await remote.dispose();
        });
      }

      it('dispose between epochs of fit stops it with ABORTED and frees everything', async () => {
        const remote = await worker.loadModel(base);
        let disposing = null;
        const outcome = await settle(remote.fit(train, { ...FIT, onProgress: () => (disposing ??= remote.dispose()) }));
        await disposing;
        if (outcome.error) assert.ok(isError('ABORTED', /disposed/)(outcome.error), `${outcome.error}`);
        else assert.deepEqual(outcome.value.map(withoutSeconds), alone.fit.history);
        await assert.rejects(remote.predict(train.x.subarray(0, 144)), isError('FAILED_PRECONDITION', /disposed/));
      });

      it('dispose right after fit starts stops the fit with ABORTED', async () => {
        const remote = await worker.loadModel(base);
        const fitting = settle(remote.fit(train, FIT));
        await remote.dispose();
        const outcome = await fitting;
        assert.ok(isError('ABORTED', /disposed/)(outcome.error), `${outcome.error}`);
      });

      it('dispose right after forget starts gives a QforgetError and frees everything', async () => {
        const remote = await worker.loadModel(base);
        const forgetting = settle(remote.forget(forgetSet, forgetOptions));
        await remote.dispose();
        const outcome = await forgetting;
        if (outcome.error) assert.ok(isError('ABORTED', /disposed/)(outcome.error), `${outcome.error?.code}: ${outcome.error?.message}`);
        else assert.deepEqual(receiptWork(outcome.value), alone.forget.receipt);
      });

      it('two models train at once in one worker, each exactly as alone', async () => {
        const [a, b] = await Promise.all([worker.loadModel(base), worker.loadModel(base)]);
        const [fitA, forgetB] = await Promise.all([a.fit(train, FIT), b.forget(forgetSet, forgetOptions)]);
        assert.deepEqual(fitA.map(withoutSeconds), alone.fit.history);
        assert.deepEqual(receiptWork(forgetB), alone.forget.receipt);
        assert.equal(sha256(await a.save()), alone.fit.sha256);
        assert.equal(sha256(await b.save()), alone.forget.sha256);
        await Promise.all([a.dispose(), b.dispose()]);
      });
    });
  });
}
