// qforget/worker under node (a worker_threads Worker), SIMD and no-SIMD builds: the API
// through the worker gives bit-identical results to the main-thread API; progress,
// cancellation, termination and crashes; bad input is refused with the argument named;
// no handle leaks in the worker. Each test terminates its worker.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

import { createQforget, liveHandles, QforgetError } from '../../web/index.js';
import { createQforgetWorker, RemoteModel } from '../../web/worker.js';
import { synthetic } from './synthetic.mjs';

// The samples of `ds` at `ids`, as a dataset.
function subset(ds, ids) {
  const x = new Uint8Array(ids.length * 144);
  ids.forEach((id, j) => x.set(ds.x.subarray(id * 144, id * 144 + 144), j * 144));
  return { x, y: Uint8Array.from(ids, (id) => ds.y[id]), shape: [ids.length, 12, 12, 1] };
}

const SPEC = { arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 3 };
const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);
const bits = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const withoutSeconds = ({ seconds, ...rest }) => rest;

// A worker for one test, terminated when the test ends whatever happens.
async function start(t, options) {
  const worker = await createQforgetWorker(options);
  t.after(() => worker.terminate());
  return worker;
}

afterEach(() => assert.equal(liveHandles(), 0, 'every main-thread wasm object was released'));

for (const simd of [true, false]) {
  describe(`worker (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    it('fits with progress, evaluates and predicts exactly as the main thread does', async (t) => {
      const worker = await start(t, { simd });
      const qf = await createQforget({ simd });
      assert.equal(worker.simd, simd);
      assert.equal(worker.version, qf.version);
      const train = synthetic(300, 1), test = synthetic(100, 2);
      const options = { epochs: 2, batchSize: 32, lr: 0.05, seed: 7 };

      const local = qf.createModel(SPEC);
      const localHistory = await local.fit(train, options);
      const remote = await worker.createModel(SPEC);
      assert.ok(remote instanceof RemoteModel);
      assert.deepEqual([remote.inputShape, remote.numClasses], [[12, 12, 1], 9]);
      const seen = [];
      const history = await remote.fit(train, { ...options, onProgress: (e) => seen.push(e) });
      assert.deepEqual(seen, history, 'onProgress got each epoch as fit returns it');
      assert.deepEqual(history.map(withoutSeconds), localHistory.map(withoutSeconds));

      const logits = await remote.predict(test.x);
      assert.ok(logits instanceof Float32Array && logits.length === 900);
      assert.deepEqual(bits(logits), bits(local.predict(test.x)), 'bit-identical logits');
      assert.deepEqual(await remote.evaluate(test), local.evaluate(test));
      assert.deepEqual(await remote.describe(), local.describe());
      assert.equal(train.x.byteLength, 300 * 144, 'the caller keeps its arrays (cloned, not transferred)');
      assert.equal(test.x.byteLength, 100 * 144);

      local.dispose();
      await remote.dispose();
      assert.equal(await worker.liveHandles(), 0);
    });

    it('forgets through the worker as the main thread does, and the metrics agree', async (t) => {
      const worker = await start(t, { simd });
      const qf = await createQforget({ simd });
      const all = synthetic(360, 21), test = synthetic(100, 22);
      const scenario = await worker.resolveScenario(all.y, 'class:0', { numClasses: 9 });
      assert.deepEqual(scenario, qf.resolveScenario(all.y, 'class:0', { numClasses: 9 }));
      const forget = subset(all, [...scenario.forgetIds]), retain = subset(all, [...scenario.retainIds]);
      const fitOptions = { epochs: 2, batchSize: 32, lr: 0.01, seed: 1 };
      const forgetOptions = { retain, method: 'qmul', epochs: 2, batchSize: 32, lr: 0.05, seed: 1 };

      const local = qf.createModel(SPEC);
      await local.fit(all, fitOptions);
      const localBefore = local.save();
      await local.forget(forget, forgetOptions);
      const remote = await worker.createModel(SPEC);
      await remote.fit(all, fitOptions);
      const bytesBefore = await remote.save();
      assert.deepEqual(bytesBefore, localBefore);
      const predictedBefore = await remote.predict(forget.x);

      const seen = [];
      const result = await remote.forget(forget, { ...forgetOptions, onProgress: (e) => seen.push(e) });
      assert.equal(result.method, 'qmul');
      assert.equal(result.forgotten, forget.y.length);
      assert.deepEqual(seen, result.epochs, 'onProgress got each forget epoch');
      assert.ok(seen[0].qmul.wForget > 0);
      const predictedAfter = await remote.predict(forget.x);
      assert.notDeepEqual(bits(predictedAfter), bits(predictedBefore), 'forget changed the model');
      assert.deepEqual(bits(predictedAfter), bits(local.predict(forget.x)), 'bit-identical to the main thread');

      // The model before forgetting stands in for the reference (only AG and JS need one).
      const reference = await worker.loadModel(bytesBefore);
      const localReference = qf.loadModel(localBefore);
      const metrics = await worker.unlearningMetrics(remote, { forget, retain, test, reference });
      assert.deepEqual(metrics, await qf.unlearningMetrics(local, { forget, retain, test, reference: localReference }));
      assert.ok(metrics.AG >= 0 && metrics.JS >= 0 && metrics.FA.n === forget.y.length);

      // The receipt replays in the worker, from the model before as bytes or as a RemoteModel
      // (left unchanged), and in the other build's worker too; an altered receipt is refused.
      const other = await start(t, { simd: !simd });
      const replays = [
        await worker.replayReceipt(result, { model: bytesBefore, forget, retain }),
        await worker.replayReceipt(result, { model: reference, forget, retain, onProgress: (e) => seen.push(e) }),
        await other.replayReceipt(result, { model: bytesBefore, forget, retain }),
      ];
      for (const replay of replays) assert.deepEqual([replay.match, replay.replayed], [true, result.modelAfterSha256]);
      assert.equal(seen.length, 2 * result.epochs.length, 'onProgress got the replay\'s epochs');
      assert.deepEqual(await reference.save(), bytesBefore, 'the model replayed from is unchanged');
      await assert.rejects(worker.replayReceipt({ ...result, lr: 0.5 }, { model: reference, forget, retain }), isError('INVALID_ARGUMENT', /its contents do not match its sha256/));
      await assert.rejects(worker.replayReceipt(result, { model: reference, forget: retain, retain }), isError('INVALID_ARGUMENT', /forget is not the one the receipt names/));

      local.dispose();
      localReference.dispose();
      await reference.dispose();
      await remote.dispose();
      assert.equal(await worker.liveHandles(), 0);
    });

    it('an aborted fit or forget rejects with ABORTED and changes nothing', async (t) => {
      const worker = await start(t, { simd });
      const remote = await worker.createModel(SPEC);
      const data = synthetic(300, 5);
      const long = { epochs: 100, batchSize: 16 };

      const fitting = new AbortController();
      const fitEpochs = [];
      const onFitProgress = (e) => {
        fitEpochs.push(e);
        fitting.abort();
      };
      const bytesBeforeFit = await remote.save();
      await assert.rejects(remote.fit(data, { ...long, signal: fitting.signal, onProgress: onFitProgress }), isError('ABORTED', /fit was aborted after \d+ epoch\(s\); the model is unchanged/));
      assert.ok(fitEpochs.length >= 1 && fitEpochs.length < 100, `stopped after ${fitEpochs.length} epoch(s)`);
      assert.deepEqual(await remote.save(), bytesBeforeFit, 'an aborted fit changes nothing');

      const forget = subset(data, [0, 1, 2, 3, 4, 5, 6, 7]);
      const retain = subset(data, Array.from({ length: 100 }, (_, i) => i + 8));
      const bytes = await remote.save();
      const forgetting = new AbortController();
      const onForgetProgress = () => forgetting.abort();
      const aborted = remote.forget(forget, { retain, method: 'ft', ...long, signal: forgetting.signal, onProgress: onForgetProgress });
      await assert.rejects(aborted, isError('ABORTED', /unchanged/));
      assert.deepEqual(await remote.save(), bytes, 'the model is exactly as before');

      await assert.rejects(remote.fit(data, { signal: AbortSignal.abort() }), isError('ABORTED', /before it started/));
      await assert.rejects(remote.forget(forget, { retain, signal: AbortSignal.abort() }), isError('ABORTED', /before it started/));
      // A throwing onProgress ends the call with its own error once the worker has stopped.
      const boom = new Error('boom');
      const throwing = () => {
        throw boom;
      };
      await assert.rejects(remote.forget(forget, { retain, method: 'ft', ...long, onProgress: throwing }), (e) => e === boom);
      assert.deepEqual(await remote.save(), bytes);
      await remote.fit(data, { epochs: 1 });  // the model is idle again

      await remote.dispose();
      assert.equal(await worker.liveHandles(), 0);
    });

    it('quantize makes a new model in the worker, as the main thread does, and refuses bad options', async (t) => {
      const worker = await start(t, { simd });
      const qf = await createQforget({ simd });
      const float = { ...SPEC, arch: 'lenet', weightBits: 32 };
      const data = synthetic(96, 12);
      const options = { calibration: subset(data, [...Array(48).keys()]), bits: 4, scheme: 'apot', method: 'mse' };
      const local = qf.createModel(float);
      await local.fit(data, { epochs: 1, batchSize: 16, seed: 5 });
      const remote = await worker.loadModel(local.save());
      const [remoteQuantized, localQuantized] = [await remote.quantize(options), local.quantize(options)];
      assert.ok(remoteQuantized instanceof RemoteModel);
      assert.deepEqual(await remoteQuantized.describe(), localQuantized.describe());
      assert.deepEqual(bits(await remoteQuantized.predict(data.x)), bits(localQuantized.predict(data.x)), 'bit-identical logits');
      assert.deepEqual(bits(await remote.predict(data.x)), bits(local.predict(data.x)), 'the source model is unchanged');
      await assert.rejects(remote.quantize({ ...options, scheme: 'log' }), isError('INVALID_ARGUMENT', /scheme/));
      await assert.rejects(remote.quantize({ ...options, calibration: { x: new Uint8Array(10), y: new Uint8Array(1), shape: [1, 4, 4, 1] } }),
        isError('INVALID_ARGUMENT', /options\.calibration has 10 values: not a whole, non-zero number of samples of shape \[12, 12, 1\]/));
      assert.equal(await worker.liveHandles(), 2, 'a refused quantize leaves no model behind');
      local.dispose();
      localQuantized.dispose();
      await Promise.all([remote.dispose(), remoteQuantized.dispose()]);
      assert.equal(await worker.liveHandles(), 0);
    });

    it('save and loadModel round-trip through the worker and across threads', async (t) => {
      const worker = await start(t, { simd });
      const qf = await createQforget({ simd });
      const remote = await worker.createModel({ ...SPEC, arch: 'lenet' });
      const data = synthetic(64, 11);
      await remote.fit(data, { epochs: 1, batchSize: 16 });
      const want = await remote.predict(data.x);
      const bytes = await remote.save();
      assert.ok(bytes instanceof Uint8Array);
      const loaded = await worker.loadModel(bytes);
      assert.deepEqual(bits(await loaded.predict(data.x)), bits(want));
      assert.deepEqual(await loaded.describe(), await remote.describe());
      const onMain = qf.loadModel(bytes);  // still the caller's: loadModel copied it
      assert.deepEqual(bits(onMain.predict(data.x)), bits(want));
      onMain.dispose();
      assert.ok((await remote.save({ shadow: false })).length < bytes.length);
      await assert.rejects(worker.loadModel(bytes.subarray(0, bytes.length - 1)), isError('DATA_LOSS', /./));

      await worker.setMemoryLimit(2 ** 20);
      assert.equal((await worker.memoryStats()).limit, 2 ** 20);
      await assert.rejects(remote.predict(data.x), isError('RESOURCE_EXHAUSTED', /predict of 64 samples needs about \d+ MiB/));
      await worker.setMemoryLimit(null);
      assert.equal((await worker.memoryStats()).limit, 2 ** 32 - 2 ** 16);
      const idx = await worker.parseIdx(new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]));
      assert.deepEqual(idx, { dims: [2, 3], data: new Uint8Array([1, 2, 3, 4, 5, 6]) });

      await loaded.dispose();
      await remote.dispose();
      assert.equal(await worker.liveHandles(), 0);
    });

    it('bad input is refused with the argument named, and the worker stays usable', async (t) => {
      const worker = await start(t, { simd });
      const qf = await createQforget({ simd });
      const remote = await worker.createModel(SPEC);
      const data = synthetic(20, 8);
      const baseline = await remote.predict(data.x);
      const bad = { ...data, y: data.y.slice() };
      bad.y[4] = 9;
      const local = qf.createModel(SPEC);
      const sets = { forget: data, retain: data, test: data };
      const cases = [
        // Refused by the real API in the worker.
        [() => remote.predict(new Float32Array(144)), /x holds float32 values, the model takes uint8/],
        [() => remote.predict(new Uint8Array(144), Number.NaN), /predict\(x\) takes the samples only/],
        [() => remote.evaluate(bad), /dataset.y\[4\] = 9 is not a class/],
        [() => remote.fit(bad), /not a class/],
        [() => remote.fit(data, { lr: Number.NaN }), /options.lr/],
        [() => remote.fit(data, { onProgress: 3 }), /onProgress must be a function/],
        [() => remote.fit(data, { signal: 'stop', onProgress: () => {} }), /signal must be an AbortSignal/],
        [() => remote.forget(data, {}), /retain is required by qmul/],
        [() => remote.save({ shadow: 'yes' }), /options.shadow must be a boolean/],
        [() => worker.createModel({ ...SPEC, arch: 'vgg' }), /arch must be one of/],
        [() => worker.createModel(null), /options must be an object/],
        [() => worker.resolveScenario(Array.from(data.y), 'class:0', { numClasses: 9 }), /labels must be a Uint8Array/],
        [() => worker.loadModel([1, 2]), /bytes must be a Uint8Array/],
        [() => worker.unlearningMetrics(remote, null), /the second argument must be/],
        // Refused here: they cannot be sent to the worker.
        [() => remote.fit(data, { schedule: () => 0.1 }), /options.schedule is a function and cannot be sent/],
        [() => remote.forget(data, { retain: data, callback() {} }), /options.callback is a function/],
        [() => remote.evaluate({ ...data, shape: [20, 12, 12, Symbol('c')] }), /dataset.shape\[3\] is a symbol/],
        [() => worker.createModel({ ...SPEC, layers: [remote] }), /options.layers\[0\] is a RemoteModel/],
        [() => remote.fit(data, { augment: new WeakMap() }), /fit: an argument cannot be sent to the worker/],
        [() => worker.unlearningMetrics(local, sets), /model must be a RemoteModel of this worker/],
        [() => worker.unlearningMetrics(remote, { ...sets, reference: local }), /reference must be a RemoteModel of this worker/],
        [() => worker.unlearningMetrics(remote, { ...sets, seed: () => 1 }), /sets.seed is a function/],
      ];
      for (const [call, pattern] of cases) await assert.rejects(call(), isError('INVALID_ARGUMENT', pattern), String(pattern));
      assert.deepEqual(bits(await remote.predict(data.x)), bits(baseline), 'refused calls changed nothing');
      assert.equal((await worker.unlearningMetrics(remote, sets)).FA.value >= 0, true);

      local.dispose();
      await remote.dispose();
      assert.equal(await worker.liveHandles(), 0);
    });

    it('dispose is idempotent and use after dispose rejects', async (t) => {
      const worker = await start(t, { simd });
      const remote = await worker.createModel(SPEC);
      const other = await worker.createModel(SPEC);
      assert.equal(await worker.liveHandles(), 2);
      await remote.dispose();
      await remote.dispose();
      const data = synthetic(4, 1);
      const calls = [
        () => remote.predict(data.x), () => remote.evaluate(data), () => remote.fit(data), () => remote.describe(),
        () => remote.forget(data, { retain: data }), () => remote.save(),
        () => worker.unlearningMetrics(remote, { forget: data, retain: data, test: data }),
        () => worker.unlearningMetrics(other, { forget: data, retain: data, test: data, reference: remote }),
      ];
      for (const call of calls) await assert.rejects(call(), isError('FAILED_PRECONDITION', /the model was disposed/));
      other[Symbol.dispose]();  // not awaited: calls reach the worker in order
      assert.equal(await worker.liveHandles(), 0);
      // What `await using` calls: resolves once the worker has freed the model.
      const scoped = await worker.createModel(SPEC);
      assert.equal(await worker.liveHandles(), 1);
      await scoped[Symbol.asyncDispose]();
      assert.equal(await worker.liveHandles(), 0);
      await assert.rejects(scoped.predict(data.x), isError('FAILED_PRECONDITION', /the model was disposed/));
    });

    it('terminate() rejects a pending fit with ABORTED and later calls with FAILED_PRECONDITION', async (t) => {
      const worker = await start(t, { simd });
      const remote = await worker.createModel(SPEC);
      let terminated;
      const fitting = remote.fit(synthetic(300, 5), { epochs: 100, batchSize: 16, onProgress: () => (terminated ??= worker.terminate()) });
      await assert.rejects(fitting, isError('ABORTED', /the worker was terminated/));
      await terminated;
      const later = [() => remote.predict(new Uint8Array(144)), () => worker.createModel(SPEC), () => worker.liveHandles()];
      for (const call of later) await assert.rejects(call(), isError('FAILED_PRECONDITION', /the worker was terminated/));
      await remote.dispose();  // nothing left to free, and no error
      await worker.terminate();  // safe twice
    });
  });
}

describe('worker options and failures', () => {
  it('wasmBaseUrl finds the builds; bad options are refused', async (t) => {
    const worker = await start(t, { simd: false, wasmBaseUrl: new URL('../../web/dist', import.meta.url).href });
    assert.equal(worker.simd, false);
    const cases = [
      [{ locateFile: (file) => file }, 'INVALID_ARGUMENT', /locateFile cannot be sent to a worker; give options.wasmBaseUrl/],
      [{ simd: 'yes' }, 'INVALID_ARGUMENT', /options.simd must be 'auto', true or false/],
      [{ colour: 1 }, 'INVALID_ARGUMENT', /options.colour: unknown option/],
      [{ wasmBaseUrl: 'dist/' }, 'INVALID_ARGUMENT', /wasmBaseUrl must be an absolute URL/],
      [{ workerUrl: 'no/such/worker.mjs' }, 'INVALID_ARGUMENT', /options.workerUrl: no worker could be started/],
      [{ simd: false, wasmBaseUrl: new URL('./no-such-folder/', import.meta.url) }, 'NOT_FOUND', /no-such-folder/],
    ];
    for (const [options, code, pattern] of cases) await assert.rejects(createQforgetWorker(options), isError(code, pattern), String(pattern));
  });

  it('an engine crash inside the worker retires that instance, not the worker', async (t) => {
    const worker = await start(t, { simd: true });
    const small = await worker.createModel(SPEC);
    // Models reserve nothing when they are built: big ones fill the 4 GiB heap until an
    // allocation ends the wasm instance.
    const BIG = { arch: 'custom', inputShape: [64, 64, 1], numClasses: 10, weightBits: 4, layers: [{ type: 'dense', units: 4000 }, { type: 'dense', units: 10 }] };
    const big = [];
    let crash = null;
    while (!crash && big.length < 64) {
      try {
        big.push(await worker.createModel(BIG));
      } catch (error) {
        crash = error;
      }
    }
    assert.ok(isError('INTERNAL', /the engine stopped/)(crash), String(crash));
    await assert.rejects(small.predict(new Uint8Array(144)), isError('FAILED_PRECONDITION', /stopped earlier/));
    // The worker's next calls run on a fresh instance.
    assert.ok((await worker.memoryStats()).inUse < 64 * 2 ** 20);
    const again = await worker.createModel(SPEC);
    assert.equal((await again.predict(new Uint8Array(144))).length, 9);
  });

  it('a crashed worker rejects pending calls with INTERNAL and later ones with FAILED_PRECONDITION', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qf-worker-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const script = path.join(dir, 'crashing-worker.mjs');
    const real = new URL('../../web/worker_thread.js', import.meta.url).href;
    writeFileSync(script, [
      "import { parentPort } from 'node:worker_threads';",
      `import ${JSON.stringify(real)};`,
      "parentPort.on('message', (m) => { if (m.op === 'fit') throw new Error('simulated crash'); });",
    ].join('\n'));
    const worker = await start(t, { workerUrl: pathToFileURL(script) });
    const remote = await worker.createModel(SPEC);
    await assert.rejects(remote.fit(synthetic(10, 1)), isError('INTERNAL', /simulated crash/));
    await assert.rejects(remote.predict(new Uint8Array(144)), isError('FAILED_PRECONDITION', /the worker was terminated \(the worker failed: simulated crash\)/));
    await assert.rejects(createQforgetWorker({ workerUrl: pathToFileURL(path.join(dir, 'missing.mjs')) }), isError('INTERNAL', /missing\.mjs/));
  });
});
