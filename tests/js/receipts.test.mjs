// Forget receipts: what they record is checked against independent computations (node's
// own SHA-256, the model's bytes before and after), and the chain check finds every kind
// of tampering: an altered field, a dropped receipt, a reordered log.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';

import { createQforget, liveHandles, QforgetError, RECEIPT_FORMAT, verifyReceipts } from '../../web/index.js';
import { canonicalJson } from '../../web/receipts.js';
import { synthetic } from './synthetic.mjs';

const SPEC = { arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 5 };
const hash = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

afterEach(() => assert.equal(liveHandles(), 0, 'every wasm object was released'));

async function trainedModel(qf) {
  const model = qf.createModel(SPEC);
  await model.fit(synthetic(300, 1), { epochs: 1, batchSize: 32, lr: 0.05 });
  return model;
}

describe('forget receipts', () => {
  it('record the method, the data and the model before and after, and chain', async () => {
    const qf = await createQforget();
    const model = await trainedModel(qf);
    const forget = synthetic(20, 2), retain = synthetic(200, 3), test = synthetic(100, 4);
    const before = model.save();
    const options = { retain, test, method: 'ft', epochs: 2, batchSize: 32 };
    const first = await model.forget(forget, options);

    assert.equal(first.format, RECEIPT_FORMAT);
    assert.equal(first.method, 'ft');
    assert.deepEqual(first.options, { method: 'ft', epochs: 2, batchSize: 32 });
    assert.equal(first.forgotten, 20);
    assert.equal(first.retained, 200);
    assert.equal(first.forgetSetSha256, hash(JSON.stringify(forget.shape), '\0', forget.x, forget.y));
    assert.equal(first.retainSetSha256, hash(JSON.stringify(retain.shape), '\0', retain.x, retain.y));
    assert.equal(first.modelBeforeSha256, hash(before));
    assert.equal(first.modelAfterSha256, hash(model.save()));
    assert.notEqual(first.modelAfterSha256, first.modelBeforeSha256);
    assert.equal(first.engine.version, qf.version);
    assert.equal(first.epochs.length, 2);
    assert.ok(first.seconds > 0);
    assert.ok(!Number.isNaN(Date.parse(first.createdAt)));
    assert.deepEqual(first.metrics, { ...await qf.unlearningMetrics(model, { forget, retain, test }), retainSet: 'trainedOn' });
    assert.equal(first.previousSha256, null);

    const second = await model.forget(synthetic(10, 5), { retain, method: 'ga', epochs: 1, lr: 1e-4, previousReceipt: first });
    assert.equal(second.previousSha256, first.sha256);
    assert.equal(second.modelBeforeSha256, first.modelAfterSha256);
    assert.equal(second.metrics, null, 'no test set, no metrics');
    assert.deepEqual(await verifyReceipts([first, second]), { ok: true, count: 2 });

    // Retain samples the method did not train on: RA and the attack's members come from them.
    const heldOutRetain = synthetic(150, 6);
    const third = await model.forget(synthetic(10, 7), { retain, test, heldOutRetain, method: 'ft', epochs: 1, batchSize: 32, previousReceipt: second });
    assert.equal(third.metrics.retainSet, 'heldOut');
    assert.equal(third.metrics.RA.n, 150);
    assert.deepEqual(third.metrics, { ...await qf.unlearningMetrics(model, { forget: synthetic(10, 7), retain: heldOutRetain, test }), retainSet: 'heldOut' });
    assert.deepEqual(await verifyReceipts([first, second, third]), { ok: true, count: 3 });
    model.dispose();
  });

  it('the chain check names the first broken link', async () => {
    const qf = await createQforget();
    const model = await trainedModel(qf);
    const retain = synthetic(100, 6);
    const log = [];
    for (let i = 0; i < 3; i++) {
      log.push(await model.forget(synthetic(5, 10 + i), { retain, method: 'ga', epochs: 1, lr: 1e-4, previousReceipt: log.at(-1) }));
    }
    assert.equal((await verifyReceipts(log)).ok, true);

    const altered = structuredClone(log);
    altered[1].forgotten = 4;
    assert.deepEqual(await verifyReceipts(altered), { ok: false, count: 3, brokenAt: 1, reason: 'its contents do not match its sha256 (altered)' });

    const dropped = await verifyReceipts([log[0], log[2]]);
    assert.equal(dropped.brokenAt, 1);
    assert.match(dropped.reason, /previousSha256/);
    assert.equal((await verifyReceipts([log[1], log[0], log[2]])).brokenAt, 0);
    assert.equal((await verifyReceipts(log.slice(1), { previous: log[0].sha256 })).ok, true);
    assert.equal((await verifyReceipts([{ ...log[0], format: 'other/9' }])).brokenAt, 0);
    await assert.rejects(verifyReceipts('log'), (e) => e instanceof QforgetError && e.code === 'INVALID_ARGUMENT');
    model.dispose();
  });

  it('a bad test set or previous receipt is refused before anything changes', async () => {
    const qf = await createQforget();
    const model = await trainedModel(qf);
    const forget = synthetic(10, 7), retain = synthetic(100, 8);
    const bytes = model.save();
    const badLabels = synthetic(10, 9);
    badLabels.y[3] = 9;
    const refusals = [
      [{ retain, test: badLabels }, /options\.test/],
      [{ retain, test: { ...forget, shape: [10, 12, 12, 3] } }, /options\.test/],
      [{ retain, previousReceipt: { sha256: 'abc' } }, /previousReceipt/],
    ];
    for (const [options, pattern] of refusals) {
      await assert.rejects(model.forget(forget, { method: 'ft', epochs: 1, ...options }),
        (e) => e instanceof QforgetError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message), String(pattern));
    }
    assert.deepEqual(model.save(), bytes);
    model.dispose();
  });

  it('canonical JSON does not depend on key order', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: null }] }), canonicalJson({ a: [{ c: null, d: 2 }], b: 1 }));
    assert.equal(canonicalJson({ a: 1, skip: undefined }), '{"a":1}');
  });
});
