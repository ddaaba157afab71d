// The Model API through the real wasm builds (SIMD and no-SIMD) under node: create,
// fit with progress and cancellation, evaluate, predict, dispose; bad input of every
// kind gets a QforgetError naming the argument; no handle leaks.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { createQforget, liveHandles, QforgetError } from '../../web/index.js';
import { synthetic } from './synthetic.mjs';


const SPEC = { arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 3 };
const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);

afterEach(() => assert.equal(liveHandles(), 0, 'every wasm object was released'));

for (const simd of [true, false]) {
  describe(`model (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    it('fits, reports progress, evaluates and predicts', async () => {
      const qf = await createQforget({ simd });
      const model = qf.createModel(SPEC);
      assert.deepEqual(model.inputShape, [12, 12, 1]);
      assert.equal(model.numClasses, 9);
      const train = synthetic(400, 1), test = synthetic(200, 2);
      const before = model.evaluate(test).accuracy;
      const seen = [];
      const history = await model.fit(train, { epochs: 3, batchSize: 32, lr: 0.05, onProgress: (e) => seen.push(e.epoch) });
      assert.deepEqual(seen, [1, 2, 3]);
      assert.equal(history.length, 3);
      assert.ok(history[2].loss < history[0].loss, 'the loss goes down');
      const after = model.evaluate(test).accuracy;
      assert.ok(before < 0.3 && after > 0.9, `accuracy ${before} -> ${after}`);
      const logits = model.predict(test.x.subarray(0, 5 * 144));
      assert.ok(logits instanceof Float32Array);
      assert.equal(logits.length, 5 * 9);
      assert.equal(model.describe().arch, 'mlp');
      model.dispose();
    });

    it('the same seed trains the same model', async () => {
      const qf = await createQforget({ simd });
      const data = synthetic(100, 4);
      const run = async () => {
        const model = qf.createModel(SPEC);
        await model.fit(data, { epochs: 1, batchSize: 16, lr: 0.05, seed: 7 });
        const out = model.predict(data.x);
        model.dispose();
        return out;
      };
      assert.deepEqual(await run(), await run());
    });

    it('an aborted fit rejects with ABORTED and leaves the model as it was', async () => {
      const qf = await createQforget({ simd });
      const model = qf.createModel(SPEC);
      await model.fit(synthetic(100, 4), { epochs: 1, batchSize: 32 });
      const bytes = model.save();
      const controller = new AbortController();
      const seen = [];
      const fitting = model.fit(synthetic(300, 5), { epochs: 50, batchSize: 8, signal: controller.signal, onProgress: (e) => seen.push(e) && controller.abort() });
      await assert.rejects(fitting, isError('ABORTED', /fit was aborted after 1 epoch\(s\); the model is unchanged/));
      assert.equal(seen.length, 1, 'an epoch had finished');
      assert.deepEqual(model.save(), bytes, 'and is undone');
      assert.equal(model.predict(synthetic(1, 6).x).length, 9);
      await model.fit(synthetic(50, 8), { epochs: 1 });  // still trainable
      assert.notDeepEqual(model.save(), bytes);
      const aborted = AbortSignal.abort();
      await assert.rejects(model.fit(synthetic(10, 7), { signal: aborted }), isError('ABORTED', /before it started/));
      model.dispose();
    });

    it('bad input is refused with the argument named, and changes nothing', async () => {
      const qf = await createQforget({ simd });
      const model = qf.createModel(SPEC);
      const data = synthetic(20, 8);
      const probe = synthetic(3, 9);
      const baseline = model.predict(probe.x);
      const bad = { ...data, y: data.y.slice() };
      bad.y[4] = 9;
      const cases = [
        [() => qf.createModel({ ...SPEC, arch: 'vgg' }), /arch must be one of/],
        [() => qf.createModel({ ...SPEC, weightBits: 5 }), /weightBits must be 2, 3, 4, 8 or 32/],
        [() => qf.createModel({ ...SPEC, numClasses: 1 }), /numClasses/],
        [() => qf.createModel({ ...SPEC, colour: 'red' }), /colour/],
        [() => qf.createModel(null), /options must be an object/],
        [() => model.predict(new Uint8Array(10)), /x has 10 values/],
        [() => model.predict(new Float32Array(144)), /x holds float32 values, the model takes uint8/],
        [() => model.predict(new Uint8Array(144), 1), /predict\(x\) takes the samples only/],
        [() => model.predict(new Uint8Array(0)), /x has 0 values: not a whole, non-zero number of samples of shape \[12, 12, 1\] \(144 values each\)/],
        [() => model.evaluate({ x: data.x, y: data.y, shape: [20, 28, 28, 1] }), /shape/],
        [() => model.evaluate(bad), /dataset.y\[4\] = 9 is not a class/],
        [() => model.evaluate({ x: data.x, y: data.y.subarray(0, 5), shape: data.shape }), /dataset.y has 5 labels/],
      ];
      for (const [call, pattern] of cases) assert.throws(call, isError('INVALID_ARGUMENT', pattern), String(pattern));
      const fits = [
        [{ epochs: 0 }, /options.epochs must be in/],
        [{ lr: -1 }, /lr must be/],
        [{ lr: Number.NaN }, /options.lr/],
        [{ batchSize: 2.5 }, /options.batchSize/],
        [{ optimizer: 'rmsprop' }, /optimizer must be 'sgd' or 'adam'/],
        [{ schedule: 'linear' }, /schedule must be/],
        [{ epoch: 3 }, /options.epoch: unknown option/],
        [{ onProgress: 3 }, /onProgress must be a function/],
      ];
      for (const [options, pattern] of fits) {
        await assert.rejects(model.fit(data, options), isError('INVALID_ARGUMENT', pattern), String(pattern));
      }
      await assert.rejects(model.fit(bad, {}), isError('INVALID_ARGUMENT', /not a class/));
      assert.deepEqual(model.predict(probe.x), baseline, 'refused calls changed nothing');
      model.dispose();
    });

    it('dispose is idempotent and use after dispose throws', async () => {
      const qf = await createQforget({ simd });
      const model = qf.createModel(SPEC);
      model.dispose();
      model.dispose();
      assert.throws(() => model.predict(new Uint8Array(144)), isError('FAILED_PRECONDITION', /disposed/));
      await assert.rejects(model.fit(synthetic(4, 1)), isError('FAILED_PRECONDITION', /disposed/));
      const scoped = qf.createModel(SPEC);
      assert.equal(liveHandles(), 1);
      scoped[Symbol.dispose]();
      assert.equal(liveHandles(), 0);
    });

    it('parses IDX bytes, gzip-compressed or plain', async () => {
      const qf = await createQforget({ simd });
      const { gzipSync } = await import('node:zlib');
      const raw = new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
      for (const bytes of [raw, new Uint8Array(gzipSync(raw))]) {
        const idx = qf.parseIdx(bytes);
        assert.deepEqual(idx.dims, [2, 3]);
        assert.deepEqual(idx.data, new Uint8Array([1, 2, 3, 4, 5, 6]));
      }
      assert.throws(() => qf.parseIdx(raw.subarray(0, 10)), (e) => e instanceof QforgetError && e.code === 'DATA_LOSS');
    });
  });
}

for (const simd of [true, false]) {
  describe(`model files (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    it('save and load give identical predictions, with and without shadow weights', async () => {
      const qf = await createQforget({ simd });
      const model = qf.createModel({ ...SPEC, arch: 'lenet' });
      const data = synthetic(64, 11);
      await model.fit(data, { epochs: 1, batchSize: 16 });
      const want = model.predict(data.x);
      for (const shadow of [true, false]) {
        const bytes = model.save({ shadow });
        const loaded = qf.loadModel(bytes);
        assert.deepEqual(loaded.predict(data.x), want, `shadow ${shadow}`);
        assert.deepEqual(loaded.describe(), model.describe());
        loaded.dispose();
      }
      assert.ok(model.save({ shadow: false }).length < model.save().length);
      model.dispose();
    });

    it('corrupted, truncated and foreign bytes are refused', async () => {
      const qf = await createQforget({ simd });
      const model = qf.createModel(SPEC);
      const bytes = model.save();
      model.dispose();
      const flipped = bytes.slice();
      flipped[bytes.length >> 1] ^= 0x10;
      const cases = [bytes.subarray(0, bytes.length - 1), bytes.subarray(0, 7), flipped, new TextEncoder().encode('not a model at all')];
      for (const bad of cases) assert.throws(() => qf.loadModel(bad), isError('DATA_LOSS', /./));
      const newer = bytes.slice();
      newer[8] = 99;  // format version
      assert.throws(() => qf.loadModel(newer), isError('UNIMPLEMENTED', /version/));
      assert.throws(() => qf.loadModel([1, 2]), isError('INVALID_ARGUMENT', /bytes must be a Uint8Array/));
    });
  });
}

// Forget every sample of class 0 from a model trained briefly on synthetic data.
async function classForgetSetup(qf) {
  const model = qf.createModel(SPEC);
  const all = synthetic(540, 21);
  await model.fit(all, { epochs: 2, batchSize: 32, lr: 0.01 });
  const pick = (keep) => {
    const ids = [...all.y.keys()].filter((i) => keep(all.y[i]));
    const x = new Uint8Array(ids.length * 144);
    ids.forEach((id, j) => x.set(all.x.subarray(id * 144, id * 144 + 144), j * 144));
    return { x, y: Uint8Array.from(ids, (id) => all.y[id]), shape: [ids.length, 12, 12, 1] };
  };
  return { model, forget: pick((y) => y === 0), retain: pick((y) => y !== 0), test: synthetic(200, 22) };
}

// The sets a device has: a retain sample of a few hundred, smaller than the test set.
describe('unlearning metrics on device-sized sets', () => {
  it('balance the attack, give every rate its count and interval, and say when MIA cannot be measured', async () => {
    const qf = await createQforget();
    const model = qf.createModel(SPEC);
    const retain = synthetic(300, 31), forget = synthetic(8, 32), test = synthetic(600, 33);
    await model.fit(retain, { epochs: 1, batchSize: 32, lr: 0.05 });
    const m = await qf.unlearningMetrics(model, { forget, retain, test });
    assert.deepEqual([m.miaAttack.members, m.miaAttack.nonMembers], [300, 300], 'as many non-members as members');
    assert.equal(m.MIA.n, 8);
    assert.ok(m.MIA.low <= m.MIA.value && m.MIA.value <= m.MIA.high);
    assert.equal(m.miaAttack.accuracy.n, 600);
    assert.equal(m.miaAttack.informative, m.miaAttack.note === null, m.miaAttack.note ?? '');
    // Eight items: FA moves in steps of 1/8, and its interval says how little that pins down.
    assert.equal(m.FA.n, 8);
    assert.ok(m.FA.high - m.FA.low > 0.3, `FA interval [${m.FA.low}, ${m.FA.high}]`);
    // Too few test samples for the attack: no number, and why.
    const few = await qf.unlearningMetrics(model, { forget, retain, test: synthetic(99, 34) });
    assert.equal(few.MIA, null);
    assert.equal(few.miaAttack.accuracy, null);
    assert.match(few.miaAttack.note, /^not enough samples: the attack needs 100 members \(retain\) and 100 non-members \(test\), got 300 and 99$/);
    assert.equal(few.TA.n, 99);
    model.dispose();
  });

  it('are asynchronous: they report progress, stop on a signal, and keep the model busy meanwhile', async () => {
    const qf = await createQforget();
    const model = qf.createModel(SPEC);
    const retain = synthetic(1500, 41), forget = synthetic(20, 42), test = synthetic(1500, 43);
    await model.fit(retain, { epochs: 1, batchSize: 32, lr: 0.05 });
    const seen = [];
    const measuring = qf.unlearningMetrics(model, { forget, retain, test, onProgress: (p) => seen.push(p) });
    await assert.rejects(model.fit(retain, { epochs: 1 }), isError('FAILED_PRECONDITION', /cannot fit while the model is being measured/));
    await assert.rejects(qf.unlearningMetrics(model, { forget, retain, test }), isError('FAILED_PRECONDITION', /cannot measure while the model is being measured/));
    const m = await measuring;
    assert.ok(seen.length >= 2 && !seen[0].done, `${seen.length} progress reports, the first one before the end`);
    assert.equal(seen.at(-1).done, true);
    assert.ok(seen.every((p) => p.stage === 'model' && p.batches[0] <= p.batches[1]));
    assert.deepEqual(await qf.unlearningMetrics(model, { forget, retain, test }), m, 'the same numbers without hooks');

    const controller = new AbortController();
    const stopped = qf.unlearningMetrics(model, { forget, retain, test, signal: controller.signal, onProgress: () => controller.abort() });
    await assert.rejects(stopped, isError('ABORTED', /the metrics were aborted/));
    await model.fit(retain, { epochs: 1, batchSize: 64 });  // free again
    model.dispose();
  });
});

for (const simd of [true, false]) {
  describe(`forget (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    it('qmul forgets a class, reports each epoch, and the metrics show it', async () => {
      const qf = await createQforget({ simd });
      const { model, forget, retain, test } = await classForgetSetup(qf);
      const before = await qf.unlearningMetrics(model, { forget, retain, test });
      assert.ok(before.FA.value > 0.9, `FA before ${before.FA.value}`);
      const seen = [];
      const result = await model.forget(forget, { retain, method: 'qmul', epochs: 5, batchSize: 32, lr: 0.05, onProgress: (e) => seen.push(e) });
      assert.equal(result.method, 'qmul');
      assert.equal(result.forgotten, forget.y.length);
      assert.equal(seen.length, 5);
      assert.ok(seen[0].qmul.wForget > 0 && seen[0].qmul.wRetain > 0);
      assert.equal(seen[0].qmul.similarLabels.length, 9);
      assert.equal(seen[0].qmul.similarLabels[0][0], 0, 'never the true label');
      const after = await qf.unlearningMetrics(model, { forget, retain, test, requantize: true });
      assert.ok(after.FARequantized.value < after.FA.value + 0.05, `re-quantizing the shadow weights does not bring the class back (${after.FARequantized.value})`);
      // Because the forget left nothing below the integer grid: the shadow weights are
      // exactly what the integer weights stand for.
      const codesOnly = qf.loadModel(model.save({ shadow: false }));
      assert.deepEqual(codesOnly.save(), model.save());
      codesOnly.dispose();
      assert.ok(after.FA.value < 0.5 && after.RA.value > 0.85, `FA ${after.FA.value} RA ${after.RA.value}`);
      assert.equal(after.UA.value, 1 - after.FA.value);
      assert.deepEqual([after.FA.n, after.RA.n, after.TA.n], [forget.y.length, retain.y.length, test.y.length]);
      for (const key of ['FA', 'UA', 'RA', 'TA']) {
        const { value, low, high } = after[key];
        assert.ok(low <= value && value <= high && low >= 0 && high <= 1, `${key} [${low}, ${high}] holds ${value}`);
      }
      const retrained = qf.createModel(SPEC);
      await retrained.fit(retain, { epochs: 2, batchSize: 32, lr: 0.01 });
      const gap = await qf.unlearningMetrics(model, { forget, retain, test, reference: retrained });
      assert.ok(gap.AG >= 0 && gap.AG <= 1 && gap.JS >= 0 && gap.JS <= Math.log(2));
      retrained.dispose();
      model.dispose();
    });

    it('every method runs through the JS API with its options', async () => {
      const qf = await createQforget({ simd });
      const { model, forget, retain } = await classForgetSetup(qf);
      const methods = ['retrain', 'ft', 'ga', 'rl', 'l1sparse', 'salun', 'bs', 'qmul', 'oeu'];
      const extra = { l1sparse: { l1Alpha: 1e-3 }, salun: { salunRatio: 0.3 }, bs: { bsEpsilon: 0.2 }, qmul: { qmulMode: 'sequential', qmulScanMode: 'eval' } };
      for (const method of methods) {
        const result = await model.forget(forget, { retain, method, epochs: 1, batchSize: 64, ...extra[method] });
        assert.equal(result.method, method);
        assert.equal(result.epochs.length, 1);
        assert.ok(Object.values(result.epochs[0].losses).every(Number.isFinite), method);
      }
      await assert.rejects(model.forget(forget, { retain, method: 'salun', salunRatio: 0 }), isError('INVALID_ARGUMENT', /salunRatio/));
      model.dispose();
    });

    it("qmul's similar-label rules and the indicators of its reweighting reach the epoch report", async () => {
      const qf = await createQforget({ simd });
      const { model, forget, retain } = await classForgetSetup(qf);
      const n = forget.y.length;
      // A matrix that names class 3 for class 0 (and the next class for the others).
      const matrix = Array.from({ length: 9 }, (_, y) => Array.from({ length: 9 }, (_, j) => (j === (y + 1) % 9 ? 1 : 0)));
      matrix[0][3] = 2;
      const seen = [];
      const bytes = model.save();
      const receipt = await model.forget(forget, { retain, epochs: 2, batchSize: 32, lr: 0.05, qmulSimilarity: matrix, onProgress: (e) => seen.push(e.qmul) });
      assert.equal(seen.length, 2);
      for (const q of seen) {
        assert.equal(q.similarity, 'matrix');
        assert.deepEqual(q.similarLabels[0], [0, 0, 0, n, 0, 0, 0, 0, 0], 'every class-0 sample relabelled 3');
        assert.equal(q.similarFallbacks, 0);
        // G by layer: the mlp's three Dense layers, summing to G_f and G_r.
        assert.deepEqual(q.gByLayer.map((l) => [l.layer, l.type]), [['1', 'dense'], ['3', 'dense'], ['5', 'dense']]);
        const sum = (key) => q.gByLayer.reduce((a, l) => a + l[key], 0);
        assert.ok(Math.abs(sum('gForget') - q.gForget) <= 1e-9 * q.gForget, `${sum('gForget')} vs ${q.gForget}`);
        assert.ok(Math.abs(sum('gRetain') - q.gRetain) <= 1e-9 * q.gRetain, `${sum('gRetain')} vs ${q.gRetain}`);
        assert.ok(q.gradientCosine >= -1 && q.gradientCosine <= 1, `cosine ${q.gradientCosine}`);
        assert.ok(q.movedToSimilar >= 0 && q.movedToSimilar <= 1 && q.retainAccuracy > 0 && q.retainAccuracy <= 1);
        assert.ok(Array.isArray(q.warnings));
      }
      assert.ok(seen[1].movedToSimilar > 0, `some class-0 samples predicted 3 after two epochs (${seen[1].movedToSimilar})`);
      assert.deepEqual(receipt.epochs.map((e) => e.qmul), seen);
      // The other rules name themselves; the default is SPEC §4's prediction rule.
      for (const rule of [undefined, 'confusion', 'embedding']) {
        const r = await model.forget(forget, { retain, epochs: 1, batchSize: 64, ...(rule && { qmulSimilarity: rule }) });
        const q = r.epochs[0].qmul;
        assert.equal(q.similarity, rule ?? 'prediction');
        assert.equal(q.similarLabels[0].reduce((a, b) => a + b, 0), n);
        assert.equal(q.similarLabels[0][0], 0, 'never the true label');
        if (rule === undefined) assert.equal(q.similarFallbacks, 0);
      }
      // A matrix of the wrong shape is refused before anything runs.
      await assert.rejects(model.forget(forget, { retain, qmulSimilarity: matrix.slice(1).map((row) => row.slice(1)) }), isError('INVALID_ARGUMENT', /qmulSimilarity is 8 x 8, the model has 9 classes/));
      assert.notDeepEqual(model.save(), bytes, 'the forgets ran');
      model.dispose();
    });

    it('an aborted or refused forget leaves the model unchanged', async () => {
      const qf = await createQforget({ simd });
      const { model, forget, retain } = await classForgetSetup(qf);
      const bytes = model.save();
      const controller = new AbortController();
      const forgetting = model.forget(forget, { retain, epochs: 200, batchSize: 8, signal: controller.signal });
      setTimeout(() => controller.abort(), 5);
      await assert.rejects(forgetting, isError('ABORTED', /unchanged/));
      assert.deepEqual(model.save(), bytes);
      const refusals = [
        [{}, /retain is required by qmul/],
        [{ retain, method: 'sorcery' }, /method must be one of/],
        [{ retain, epochs: 0 }, /epochs/],
        [{ retain, qmulMode: 'parallel' }, /qmulMode/],
        [{ retain, qmulScanMode: 'inference' }, /qmulScanMode must be 'train' or 'eval'/],
        [{ retain, colour: 1 }, /options.colour: unknown option/],
        [{ retain: { ...retain, shape: [1, 2, 3] } }, /retain/],
      ];
      for (const [options, pattern] of refusals) await assert.rejects(model.forget(forget, options), isError('INVALID_ARGUMENT', pattern), String(pattern));
      const empty = { x: new Uint8Array(0), y: new Uint8Array(0), shape: [0, 12, 12, 1] };
      await assert.rejects(model.forget(empty, { retain }), isError('INVALID_ARGUMENT', /forget is empty/));
      await assert.rejects(model.forget(forget, { method: 'ga', test: retain }), isError('INVALID_ARGUMENT', /options\.test needs options\.retain or options\.heldOutRetain/));
      assert.deepEqual(model.save(), bytes, 'refused calls changed nothing');
      // ga never looks at retain data, so it runs without.
      const ga = await model.forget(forget, { method: 'ga', epochs: 1, batchSize: 32, lr: 1e-4 });
      assert.equal(ga.retained, 0);
      assert.notDeepEqual(model.save(), bytes);
      model.dispose();
    });
  });
}
