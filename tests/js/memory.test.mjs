// Memory limits (SPEC §5, docs/RELIABILITY.md): work that would not fit is refused up
// front with RESOURCE_EXHAUSTED naming the sizes and the limit, before anything changes;
// a fit or forget keeps the memory it reserved while it runs; a failure after a forget's
// commit puts the model back; and a crash of the wasm instance (an allocation no
// reservation covered) surfaces as a QforgetError and retires the instance.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { createQforget, Qforget, QforgetError } from '../../web/index.js';
import { synthetic } from './synthetic.mjs';

const MiB = 2 ** 20;
const LENET = { arch: 'lenet', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 2 };
const FORGET = { method: 'qmul', epochs: 2, batchSize: 16, lr: 0.02, seed: 1 };
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);
const train = synthetic(256, 11);
const forgetSet = synthetic(16, 12);

describe('memory', () => {
  // The estimates behind the reservations are upper bounds: in a fresh process, what one
  // operation made the allocator obtain stays within what the engine reserved for it
  // plus what JS copied in, and the reservation is not absurdly larger (at most 6x).
  const probe = fileURLToPath(new URL('./memory_probe.mjs', import.meta.url));
  const cases = [
    ['mlp', 'predict'], ['lenet', 'predict'], ['lenet', 'evaluate'], ['lenet', 'metrics'],
    ['mlp', 'fit'], ['lenet', 'fit'], ['lenet', 'forget', 'qmul'], ['lenet', 'forget', 'bs'],
    ['lenet', 'forget', 'retrain'], ['resnet8', 'fit'], ['mobilenetv2', 'fit'], ['mobilenetv2', 'forget', 'qmul'],
    // The SIMD-less build computes convolution gradients through im2col matrices.
    ['nosimd', 'lenet', 'fit'], ['nosimd', 'lenet', 'forget', 'qmul'], ['nosimd', 'resnet8', 'fit'],
    // Every thread's tasks hold scratch at once: 8 threads (a phone's cores; the others
    // run as many threads as this machine has cores).
    ['8 threads', 'lenet', 'fit'], ['8 threads', 'resnet8', 'fit'], ['8 threads', 'lenet', 'forget', 'qmul'],
  ];
  for (const args of cases) {
    it(`the reservation of ${args.join(' ')} covers what it allocates`, async () => {
      const build = ['nosimd', '8 threads'].includes(args[0]) ? args[0] : null;
      const env = { ...process.env, QF_PROBE_SIMD: build === 'nosimd' ? '0' : '1', QF_PROBE_THREADS: build === '8 threads' ? '8' : '' };
      const { stdout } = await promisify(execFile)(process.execPath, [probe, ...args.slice(build ? 1 : 0)], { env });
      const { growth, reserved, copied } = JSON.parse(stdout);
      assert.ok(growth > 0, `${args.join(' ')} allocated nothing new`);
      assert.ok(growth <= reserved + copied, `grew ${(growth / MiB).toFixed(1)} MiB, reserved ${(reserved / MiB).toFixed(1)} MiB + ${(copied / MiB).toFixed(1)} MiB copied`);
      assert.ok(reserved <= 6 * growth, `reserved ${(reserved / MiB).toFixed(1)} MiB for ${(growth / MiB).toFixed(1)} MiB`);
    });
  }

  it('a lower limit refuses work up front and changes nothing', async () => {
    const qf = await createQforget();
    const model = qf.createModel(LENET);
    const hash = sha256(model.save());
    assert.throws(() => qf.setMemoryLimit(0), isError('INVALID_ARGUMENT', /bytes must be a positive integer/));
    assert.throws(() => qf.setMemoryLimit(1000), isError('INVALID_ARGUMENT', /between 1 MiB and 4096 MiB/));
    qf.setMemoryLimit(qf.memoryStats().inUse + 2 * MiB);
    try {
      assert.equal(qf.memoryStats().limit >= 2 * MiB, true);
      const limited = /needs about \d+ MiB of working memory; \d+ MiB are in use, and the engine's memory limit is \d+ MiB/;
      await assert.rejects(model.forget(forgetSet, { ...FORGET, retain: train }), isError('RESOURCE_EXHAUSTED', /^forget \(qmul\) needs about/));
      await assert.rejects(model.fit(train, { epochs: 1, batchSize: 256 }), isError('RESOURCE_EXHAUSTED', limited));
      assert.throws(() => model.predict(train.x), isError('RESOURCE_EXHAUSTED', /^predict of 256 samples needs about/));
      assert.equal(qf.memoryStats().reserved, 0);
    } finally {
      qf.setMemoryLimit(null);
    }
    assert.equal(qf.memoryStats().limit, 2 ** 32 - 2 ** 16);
    assert.equal(sha256(model.save()), hash);
    await model.forget(forgetSet, { ...FORGET, retain: train });
    assert.notEqual(sha256(model.save()), hash);
    model.dispose();
  });

  it('a forget keeps its reservation while it runs: other calls are refused, not it', async () => {
    const qf = await createQforget();
    const [a, b] = [qf.createModel(LENET), qf.createModel({ ...LENET, seed: 3 })];
    const big = synthetic(2048, 13);
    let during = null;
    let refused = null;
    const receipt = await a.forget(forgetSet, {
      ...FORGET, retain: train,
      onProgress: () => {
        if (during) return;
        during = qf.memoryStats();
        // Room for b's predict alone, not for it and a's reservation together.
        qf.setMemoryLimit(during.inUse + during.reserved - MiB);
        try {
          b.predict(big.x);
        } catch (error) {
          refused = error;
        } finally {
          qf.setMemoryLimit(null);
        }
      },
    });
    assert.ok(during.reserved > 0);
    assert.ok(isError('RESOURCE_EXHAUSTED', /MiB reserved by work in progress/)(refused), String(refused));
    assert.equal(receipt.epochs.length, 2);
    assert.equal(qf.memoryStats().reserved, 0);
    b.predict(big.x);
    a.dispose();
    b.dispose();
  });

  it('a forget that fails after its commit puts the model back', async () => {
    const qf = await createQforget();
    const model = qf.createModel(LENET);
    // Metrics on 2,048 test samples reserve 64 MiB for the membership attack's SVM alone.
    const test = synthetic(2048, 14);
    // The forget's own reservation, measured on a first run.
    let reserved = 0;
    await model.forget(forgetSet, { ...FORGET, retain: train, onProgress: () => { reserved ||= qf.memoryStats().reserved; } });
    const hash = sha256(model.save());
    assert.ok(reserved > 0 && reserved < 64 * MiB, `the forget reserved ${reserved} bytes`);
    // Enough for the forget, not for the metrics on `test` it computes after its commit.
    qf.setMemoryLimit(qf.memoryStats().inUse + reserved + MiB);
    try {
      await assert.rejects(model.forget(forgetSet, { ...FORGET, retain: train, test }), isError('RESOURCE_EXHAUSTED', /^metrics needs about/));
    } finally {
      qf.setMemoryLimit(null);
    }
    assert.equal(sha256(model.save()), hash);
    model.dispose();
  });

  describe('a wasm heap that is really full (an instance of its own)', () => {
    // A raw module: the test fills its heap behind the engine's back with malloc.
    async function ownInstance() {
      const dist = new URL('../../web/dist/', import.meta.url);
      const { default: factory } = await import(new URL('qforget-simd.js', dist));
      const module = await factory({ wasmBinary: await readFile(new URL('qforget-simd.wasm', dist)), printErr: () => {} });
      const fill = (chunk) => {
        const taken = [];
        for (let p; (p = module._malloc(chunk)) !== 0;) taken.push(p);
        return taken;
      };
      return { module, qf: new Qforget(module, true), fill };
    }

    it('is refused up front, and the model is unchanged', async () => {
      const { module, qf, fill } = await ownInstance();
      const model = qf.createModel(LENET);
      const hash = sha256(model.save());
      const taken = [...fill(64 * MiB), ...fill(MiB)];
      // Room for the request's own bytes (the copy of the model forget saves first needs
      // about 1.3 MiB), not for the work. Two chunks: with one, whether the copy fits
      // depended on what the 1 MiB fill had left at the top of the heap, which moves with
      // the build's static data (it stopped fitting once by 0.2 MiB).
      module._free(taken.pop());
      module._free(taken.pop());
      await assert.rejects(model.forget(forgetSet, { ...FORGET, retain: synthetic(64, 15) }),
        isError('RESOURCE_EXHAUSTED', /^forget \(qmul\) needs about \d+ MiB of working memory/));
      assert.throws(() => model.evaluate(synthetic(256, 16)), isError('RESOURCE_EXHAUSTED', /evaluate needs about/));
      for (const p of taken) module._free(p);
      assert.equal(sha256(model.save()), hash);
      await model.forget(forgetSet, { ...FORGET, retain: synthetic(64, 15) });
      assert.notEqual(sha256(model.save()), hash);
    });

    it('a forget during which the heap runs out crashes the engine; the model survives unchanged in a fresh instance', async () => {
      const { module, qf, fill } = await ownInstance();
      const fresh = await ownInstance();
      module.qforgetRelaunch = async () => fresh.module;  // what createQforget's instances do
      const model = qf.createModel(LENET);
      const other = qf.createModel(LENET);
      const x = train.x.subarray(0, 144 * 8);
      const logits = model.predict(x);
      const hash = sha256(model.save());
      // Between the forget's first and second epoch, something else takes every byte left:
      // the forget's next allocation fails inside the engine.
      const onProgress = () => [64 * MiB, 4096, 16].forEach(fill);
      await assert.rejects(model.forget(forgetSet, { ...FORGET, retain: train, onProgress }),
        isError('INTERNAL', /^forget stopped: the engine crashed .*This model is as it was before the call, moved into a new qforget instance/));
      assert.equal(sha256(model.save()), hash);
      assert.deepEqual(model.predict(x), logits);
      assert.throws(() => other.predict(x), isError('FAILED_PRECONDITION', /stopped earlier/));
      assert.throws(() => qf.memoryStats(), isError('FAILED_PRECONDITION', /stopped earlier/));
      const receipt = await model.forget(forgetSet, { ...FORGET, retain: train });
      assert.equal(receipt.modelBeforeSha256, hash);
      other.dispose();
      model.dispose();
    });

    it('so does a fit', async () => {
      const { module, qf, fill } = await ownInstance();
      const fresh = await ownInstance();
      module.qforgetRelaunch = async () => fresh.module;
      const model = qf.createModel(LENET);
      await model.fit(train, { epochs: 1, batchSize: 32 });
      const hash = sha256(model.save());
      const onProgress = () => [64 * MiB, 4096, 16].forEach(fill);
      await assert.rejects(model.fit(train, { epochs: 2, batchSize: 32, onProgress }),
        isError('INTERNAL', /^fit stopped: the engine crashed .*This model is as it was before the call/));
      assert.equal(sha256(model.save()), hash);
      await model.fit(train, { epochs: 1, batchSize: 32 });
      assert.notEqual(sha256(model.save()), hash);
      model.dispose();
    });

    it('a crash past the reservations is a QforgetError and retires the instance', async () => {
      const { qf, fill } = await ownInstance();
      const model = qf.createModel(LENET);
      fill(64 * MiB);
      fill(4096);
      fill(16);
      // Building a model reserves nothing: with no byte left, its allocation ends the instance.
      assert.throws(() => qf.createModel({ ...LENET, arch: 'resnet8' }), isError('INTERNAL', /the engine stopped: .*createQforget/));
      assert.throws(() => qf.memoryStats(), isError('FAILED_PRECONDITION', /this qforget instance stopped earlier/));
      assert.throws(() => model.predict(train.x.subarray(0, 144)), isError('FAILED_PRECONDITION', /stopped earlier/));
      await assert.rejects(model.fit(train), isError('FAILED_PRECONDITION', /stopped earlier/));
      model.dispose();  // nothing to free, and no error
      assert.throws(() => model.save(), isError('FAILED_PRECONDITION', /stopped earlier/));
      assert.throws(() => qf.kernels.matmulU8S8(new Uint8Array(1), new Int8Array(1), 1, 1, 1), isError('FAILED_PRECONDITION', /stopped earlier/));
    });
  });
});
