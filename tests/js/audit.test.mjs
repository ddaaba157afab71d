// The audit trail (issue 20): deletion requests sealed into receipts, signed receipts and
// their verification with public keys alone (forged, re-signed, reordered, unknown key),
// the evidence before and after, the JSON Lines and HTML exports (the page checked in
// Chromium), and replaying a receipt on the SIMD, no-SIMD and threaded builds.
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';

import { createQforget, exportAudit, keyFingerprint, liveHandles, QforgetError, RECEIPT_FORMAT, REQUEST_LIMITS, verifyReceipts } from '../../web/index.js';
import { receiptSha256 } from '../../web/receipts.js';
import { createQforgetWorker } from '../../web/worker.js';
import { withChromium } from './browser.mjs';
import { synthetic } from './synthetic.mjs';

const { subtle } = webcrypto;
const SPEC = { arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 5 };
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' };
const newKeys = (extractable = false) => subtle.generateKey(ECDSA, extractable, ['sign', 'verify']);
const invalidNaming = (pattern) => (e) => e instanceof QforgetError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message);

afterEach(() => assert.equal(liveHandles(), 0, 'every wasm object was released'));

async function trainedModel(qf) {
  const model = qf.createModel(SPEC);
  await model.fit(synthetic(300, 1), { epochs: 1, batchSize: 32, lr: 0.05 });
  return model;
}

// `ds`'s samples whose label is (keep = true) or is not `k`.
function byClass(ds, k, keep) {
  const ids = [...ds.y.keys()].filter((i) => (ds.y[i] === k) === keep);
  const x = new Uint8Array(ids.length * 144);
  ids.forEach((j, i) => x.set(ds.x.subarray(j * 144, (j + 1) * 144), i * 144));
  return { x, y: Uint8Array.from(ids, (j) => ds.y[j]), shape: [ids.length, 12, 12, 1] };
}

// A receipt changed by someone who recomputes its seal (but cannot sign it).
async function resealed(receipt, change) {
  const copy = structuredClone(receipt);
  change(copy);
  copy.sha256 = await receiptSha256(copy);
  return copy;
}

// A log of three chained ga forgets, each signed with keys[i] (null: unsigned).
async function signedLog(qf, keys, request) {
  const model = await trainedModel(qf);
  const retain = synthetic(100, 6);
  const log = [];
  for (const [i, key] of keys.entries()) {
    log.push(await model.forget(synthetic(5, 10 + i), { retain, method: 'ga', epochs: 1, lr: 1e-4, previousReceipt: log.at(-1), signingKey: key ?? undefined, request }));
  }
  model.dispose();
  return log;
}

describe('deletion requests in receipts', () => {
  it('are sealed into the receipt, ids included, and an altered field breaks the seal', async () => {
    const qf = await createQforget();
    const model = await trainedModel(qf);
    const forget = synthetic(4, 2);
    const request = { id: 'DSR-2026-0042', subject: 'user 8812 — Zoë', requestedBy: 'privacy@example.org', reason: 'GDPR art. 17\nerasure', ids: ['a1', 'a2', 7, 9] };
    const receipt = await model.forget(forget, { retain: synthetic(100, 3), method: 'ft', epochs: 1, request });
    assert.equal(receipt.format, RECEIPT_FORMAT);
    assert.deepEqual(receipt.request, request);
    assert.ok(!Number.isNaN(Date.parse(receipt.createdAt)));
    assert.equal(receipt.signer, null);
    assert.equal(receipt.signature, undefined);
    assert.deepEqual(await verifyReceipts([receipt]), { ok: true, count: 1 });
    const altered = structuredClone(receipt);
    altered.request.requestedBy = 'someone else';
    assert.deepEqual(await verifyReceipts([altered]), { ok: false, count: 1, brokenAt: 0, reason: 'its contents do not match its sha256 (altered)' });
    // Uint32Array ids (resolveScenario's forgetIds) become a plain array; no request: null.
    const second = await model.forget(forget, { retain: synthetic(100, 3), method: 'ga', epochs: 1, lr: 1e-4, request: { ids: new Uint32Array([3, 1, 4, 5]) } });
    assert.deepEqual(second.request, { ids: [3, 1, 4, 5] });
    const third = await model.forget(forget, { method: 'ga', epochs: 1, lr: 1e-4 });
    assert.equal(third.request, null);
    model.dispose();
  });

  it('bad fields are refused with INVALID_ARGUMENT naming the field, and nothing changes', async () => {
    const qf = await createQforget();
    const model = await trainedModel(qf);
    const forget = synthetic(3, 2), retain = synthetic(50, 3);
    const bytes = model.save();
    assert.equal(REQUEST_LIMITS.id, 256);
    // At the limit in UTF-8 bytes (2 bytes per 'é') passes; one character more does not.
    await model.forget(forget, { retain, method: 'ga', epochs: 1, lr: 1e-4, request: { subject: 'é'.repeat(REQUEST_LIMITS.subject / 2) } });
    const refusals = [
      [{ subject: 'é'.repeat(REQUEST_LIMITS.subject / 2 + 1) }, /options\.request\.subject is 258 bytes of UTF-8, more than the limit of 256/],
      [{ reason: 'x'.repeat(REQUEST_LIMITS.reason + 1) }, /options\.request\.reason .*limit of 4096/],
      [{ requestedBy: 'a\ud800b' }, /options\.request\.requestedBy is not valid UTF-8 text: .*lone/],
      [{ id: '\udc00' }, /options\.request\.id is not valid UTF-8/],
      [{ id: 'a\u0000b' }, /options\.request\.id holds a control character \(U\+0000\)/],
      [{ subject: 42 }, /options\.request\.subject must be a string, got number/],
      [{ name: 'x' }, /options\.request\.name: unknown field/],
      [{ ids: ['a', 'b'] }, /options\.request\.ids must name every sample of the forget set: 3 id\(s\), got 2/],
      [{ ids: ['a', 'b', 'a'] }, /options\.request\.ids\[2\] repeats the id "a"/],
      [{ ids: [1, -2, 3] }, /options\.request\.ids\[1\] must be an integer >= 0 or a string/],
      [{ ids: [1, 2, 'x\ud800'] }, /options\.request\.ids\[2\] is not valid UTF-8/],
      [{ ids: 'abc' }, /options\.request\.ids must be an array/],
      ['DSR-1', /options\.request must be an object/],
    ];
    const now = model.save();
    for (const [request, pattern] of refusals) {
      await assert.rejects(model.forget(forget, { retain, method: 'ft', epochs: 1, request }), invalidNaming(pattern), String(pattern));
    }
    assert.deepEqual(model.save(), now);
    assert.notEqual(bytes.length, 0);
    model.dispose();
  });
});

describe('signed receipts', () => {
  it('carry the key fingerprint (SHA-256 of the SPKI) and a signature a server verifies with the public key alone', async () => {
    const qf = await createQforget();
    const keys = await newKeys();
    const log = await signedLog(qf, [keys, keys, keys]);
    const spki = new Uint8Array(await subtle.exportKey('spki', keys.publicKey));
    const fingerprint = createHash('sha256').update(spki).digest('hex');
    assert.equal(await keyFingerprint(keys.publicKey), fingerprint);
    for (const r of log) {
      assert.deepEqual(r.signer, { algorithm: 'ECDSA-P256-SHA256', keySha256: fingerprint });
      assert.equal(Buffer.from(r.signature, 'base64').length, 64);
      // Node's own ECDSA check of the signature (IEEE P1363 r || s over the seal's text).
      const pub = await subtle.importKey('spki', spki, ECDSA, false, ['verify']);
      assert.ok(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, Buffer.from(r.signature, 'base64'), Buffer.from(r.sha256)));
    }
    assert.deepEqual(await verifyReceipts(log, { publicKeys: [keys.publicKey] }), { ok: true, count: 3 });
    assert.deepEqual(await verifyReceipts(log, { publicKeys: [spki] }), { ok: true, count: 3 }, 'SPKI bytes, as a server keeps them');
    assert.deepEqual(await verifyReceipts(log), { ok: true, count: 3 }, 'seals and links without keys');
  });

  it('a forged receipt, a swapped key, a reordered log and an unknown key are each named', async () => {
    const qf = await createQforget();
    const [device, other] = [await newKeys(), await newKeys()];
    const log = await signedLog(qf, [device, device, device]);
    const publicKeys = [device.publicKey];

    // Forged: contents changed and the seal recomputed, the old signature kept.
    const forged = [...log];
    forged[1] = await resealed(log[1], (r) => { r.forgotten = 1; });
    let check = await verifyReceipts(forged, { publicKeys });
    assert.equal(check.brokenAt, 1);
    assert.match(check.reason, /signature does not verify with key/);

    // Swapped key: the forger re-signs receipt 1 with a key of their own.
    const swapped = (await signedLog(qf, [device, other, device]));
    check = await verifyReceipts(swapped, { publicKeys });
    assert.equal(check.brokenAt, 1);
    assert.match(check.reason, new RegExp(`signed by key ${(await keyFingerprint(other.publicKey)).slice(0, 16)}…, which is not among options.publicKeys`));
    assert.equal((await verifyReceipts(swapped, { publicKeys: [device.publicKey, other.publicKey] })).ok, true);
    // ... or claims the device's fingerprint with another key's signature.
    const claimed = [...log];
    claimed[2] = { ...log[2], signature: swapped[1].signature };
    check = await verifyReceipts(claimed, { publicKeys });
    assert.deepEqual([check.brokenAt, /signature does not verify/.test(check.reason)], [2, true]);

    // Reordered.
    check = await verifyReceipts([log[0], log[2], log[1]], { publicKeys });
    assert.equal(check.brokenAt, 1);
    assert.match(check.reason, /previousSha256/);

    // Unknown key: verified against another device's key only.
    check = await verifyReceipts(log, { publicKeys: [other.publicKey] });
    assert.equal(check.brokenAt, 0);
    assert.match(check.reason, /not among options\.publicKeys/);

    // Signature stripped and the receipt re-sealed: unsigned, refused when keys are given.
    const stripped = [...log];
    stripped[0] = await resealed(log[0], (r) => { delete r.signature; r.signer = null; });
    stripped[1] = await resealed(log[1], (r) => { r.previousSha256 = stripped[0].sha256; });
    check = await verifyReceipts(stripped, { publicKeys });
    assert.equal(check.brokenAt, 0);
    assert.match(check.reason, /not signed/);
    assert.equal((await verifyReceipts(stripped, { publicKeys, requireSignatures: false })).brokenAt, 1, 'receipt 1 was re-sealed: its signature no longer verifies');
  });

  it('older formats keep verifying; unsigned receipts pass with requireSignatures: false', async () => {
    const qf = await createQforget();
    const keys = await newKeys();
    const [unsigned, signed] = await signedLog(qf, [null, keys]);
    const old = await resealed(unsigned, (r) => {
      r.format = 'qforget-receipt/2';
      for (const k of ['request', 'evidence', 'signer']) delete r[k];
    });
    assert.deepEqual(await verifyReceipts([old]), { ok: true, count: 1 });
    assert.match((await verifyReceipts([old], { publicKeys: [keys.publicKey] })).reason, /predates signatures/);
    assert.equal((await verifyReceipts([unsigned, signed], { publicKeys: [keys.publicKey] })).brokenAt, 0);
    assert.deepEqual(await verifyReceipts([unsigned, signed], { publicKeys: [keys.publicKey], requireSignatures: false }), { ok: true, count: 2 });
    const oldSigned = await resealed(signed, (r) => { r.format = 'qforget-receipt/2'; });
    assert.match((await verifyReceipts([unsigned, oldSigned])).reason, /format qforget-receipt\/2 receipts carry no signature/);
  });

  it('the key pair and the request reach a worker model (qforget/worker) and sign there', async () => {
    const keys = await newKeys();
    const worker = await createQforgetWorker({ threads: 1 });
    try {
      const model = await worker.createModel(SPEC);
      await model.fit(synthetic(100, 1), { epochs: 1, batchSize: 32 });
      const receipt = await model.forget(synthetic(4, 2), { method: 'ga', epochs: 1, lr: 1e-4, signingKey: keys, request: { id: 'DSR-9', ids: [1, 2, 3, 4] } });
      assert.equal(receipt.signer.keySha256, await keyFingerprint(keys.publicKey));
      assert.deepEqual(receipt.request, { id: 'DSR-9', ids: [1, 2, 3, 4] });
      assert.deepEqual(await verifyReceipts([receipt], { publicKeys: [keys.publicKey] }), { ok: true, count: 1 });
      await assert.rejects(model.forget(synthetic(4, 2), { method: 'ga', epochs: 1, request: { ids: [1] } }), invalidNaming(/options\.request\.ids must name every sample/));
    } finally {
      await worker.terminate();
    }
  });

  it('keys that cannot sign are refused before anything changes', async () => {
    const qf = await createQforget();
    const model = await trainedModel(qf);
    const bytes = model.save();
    const forget = synthetic(3, 2), retain = synthetic(50, 3);
    const extractable = await newKeys(true);
    const alone = await model.forget(forget, { retain, method: 'ga', epochs: 1, lr: 1e-4, signingKey: extractable.privateKey });
    assert.equal(alone.signer.keySha256, await keyFingerprint(extractable.publicKey), 'the public half derived from an extractable private key');
    const after = model.save();
    assert.notDeepEqual(after, bytes);
    const p384 = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify']);
    const hmac = await subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const nonExtractable = await newKeys(false);
    for (const [signingKey, pattern] of [
      [nonExtractable.privateKey, /not extractable, so give the pair/],
      [extractable.publicKey, /options\.signingKey must be an ECDSA P-256 private CryptoKey.*a public P-256 key/],
      [p384.privateKey, /options\.signingKey .*P-384/],
      [hmac, /options\.signingKey must be/],
      ['key', /options\.signingKey must be/],
      [{ privateKey: nonExtractable.privateKey, publicKey: nonExtractable.privateKey }, /options\.signingKey\.publicKey must be/],
    ]) {
      await assert.rejects(model.forget(forget, { retain, method: 'ft', epochs: 1, signingKey }), invalidNaming(pattern), String(pattern));
    }
    assert.deepEqual(model.save(), after);
    await assert.rejects(verifyReceipts([alone], { publicKeys: [extractable.privateKey] }), invalidNaming(/options\.publicKeys\[0\] must be an ECDSA P-256 public CryptoKey/));
    await assert.rejects(verifyReceipts([alone], { publicKeys: [new Uint8Array(10)] }), invalidNaming(/options\.publicKeys\[0\] is not the SPKI encoding/));
    await assert.rejects(verifyReceipts([alone], { requireSignatures: true }), invalidNaming(/requireSignatures needs options\.publicKeys/));
    model.dispose();
  });
});

describe('evidence in receipts', () => {
  it('forget accuracy, MIA-efficacy and test accuracy before and after, as the engine measures them', async () => {
    const qf = await createQforget();
    const model = await trainedModel(qf);
    const forget = synthetic(30, 2), retain = synthetic(200, 3), test = synthetic(150, 4);
    const before = qf.loadModel(model.save());
    const receipt = await model.forget(forget, { retain, test, method: 'ga', epochs: 3, batchSize: 8, lr: 0.05 });
    const [was, is] = [await qf.unlearningMetrics(before, { forget, retain, test }), await qf.unlearningMetrics(model, { forget, retain, test })];
    assert.deepEqual(receipt.evidence, {
      forgetAccuracy: { before: was.FA.value, after: is.FA.value },
      mia: { before: was.MIA.value, after: is.MIA.value },
      testAccuracy: { before: was.TA.value, after: is.TA.value },
      testExcludesClass: null,
    });
    assert.notEqual(was.FA.value, is.FA.value, 'gradient ascent moved the forget accuracy');
    // Without a test set: the forget accuracy only, as evaluate gives it.
    const few = synthetic(10, 5);
    const fewBefore = model.evaluate(few).accuracy;
    const plain = await model.forget(few, { method: 'ga', epochs: 2, batchSize: 2, lr: 0.05 });
    assert.deepEqual(plain.evidence.forgetAccuracy, { before: fewBefore, after: model.evaluate(few).accuracy });
    assert.equal(plain.evidence.mia, null);
    assert.equal(plain.evidence.testAccuracy, null);
    before.dispose();
    model.dispose();
  });

  it('a class request leaves the class out of the test metrics, and is refused when the set holds other classes', async () => {
    const qf = await createQforget();
    const model = await trainedModel(qf);
    const pool = synthetic(600, 8), test = synthetic(300, 4);
    const forget = byClass(pool, 2, true), retain = byClass(pool, 2, false);
    const testWithout = byClass(test, 2, false);
    const before = qf.loadModel(model.save());
    const bytes = model.save();
    await assert.rejects(model.forget(synthetic(10, 2), { retain, test, method: 'ft', epochs: 1, forgetClass: 2 }), invalidNaming(/options\.forgetClass is 2, but sample \d+ of the forget set has label/));
    await assert.rejects(model.forget(forget, { retain, test, method: 'ft', epochs: 1, forgetClass: 9 }), invalidNaming(/options\.forgetClass must be an integer class in \[0, 8\]/));
    assert.deepEqual(model.save(), bytes);
    const receipt = await model.forget(forget, { retain, test, method: 'ga', epochs: 1, lr: 0.05, forgetClass: 2 });
    const [was, is] = [await qf.unlearningMetrics(before, { forget, retain, test: testWithout }), await qf.unlearningMetrics(model, { forget, retain, test: testWithout })];
    assert.equal(receipt.evidence.testExcludesClass, 2);
    assert.equal(receipt.metrics.TA.n, testWithout.shape[0]);
    assert.ok(testWithout.shape[0] < test.shape[0]);
    assert.deepEqual(receipt.evidence.testAccuracy, { before: was.TA.value, after: is.TA.value });
    assert.deepEqual(receipt.evidence.mia, { before: was.MIA.value, after: is.MIA.value });
    before.dispose();
    model.dispose();
  });
});

describe('audit export', () => {
  const hostile = { id: '<script>alert(1)</script>', subject: '"><img src=x onerror=alert(2)>', requestedBy: "O'Brien & Co", reason: '</td></tr></table><h1>pwned</h1>' };

  it('JSON Lines: one receipt per line, read back as it was', async () => {
    const qf = await createQforget();
    const log = await signedLog(qf, [null, null], hostile);
    const text = await exportAudit(log, { format: 'jsonl' });
    assert.ok(text.endsWith('\n'));
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.deepEqual(lines.map((l) => JSON.parse(l)), log);
    assert.deepEqual(await verifyReceipts(lines.map((l) => JSON.parse(l))), { ok: true, count: 2 });
    await assert.rejects(exportAudit(log, { format: 'csv' }), invalidNaming(/options\.format must be 'jsonl' or 'html', got "csv"/));
    await assert.rejects(exportAudit(log), invalidNaming(/options must be an object/));
    await assert.rejects(exportAudit('log', { format: 'html' }), invalidNaming(/log must be an array/));
  });

  it('HTML: who, what, when, method, evidence, chain and signature per receipt, user text escaped; renders in Chromium', { timeout: 180_000 }, async () => {
    const qf = await createQforget();
    const keys = await newKeys();
    const log = await signedLog(qf, [keys, keys, keys], hostile);
    const tampered = [...log];
    tampered[1] = await resealed(log[1], (r) => { r.request.reason = 'changed later'; });
    const good = await exportAudit(log, { format: 'html', publicKeys: [keys.publicKey] });
    const bad = await exportAudit(tampered, { format: 'html', publicKeys: [keys.publicKey] });
    for (const page of [good, bad]) {
      assert.ok(!/<script|<img|<h1>pwned/i.test(page), 'no user text became markup');
      assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
      assert.ok(page.includes('O&#39;Brien &amp; Co'));
      assert.ok(!/(src|href)=["']?https?:/i.test(page), 'self-contained');
    }
    assert.match(good, /3 receipt\(s\): every seal and link intact, every signature verified\./);
    assert.match(bad, /BROKEN at receipt 2 of 3\./);
    await withChromium(async (page, origin, session) => {
      for (const [html, summary, statuses] of [[good, /every signature verified/, ['verified', 'verified', 'verified']], [bad, /BROKEN at receipt 2/, ['verified', 'its signature does not verify', 'verified']]]) {
        await page.goto(`${origin}/`);  // any page of the origin; the audit page replaces it
        await page.setContent(html);
        assert.match(await page.textContent('#summary'), summary);
        const rows = await page.$$eval('#receipts tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
        assert.equal(rows.length, 3);
        rows.forEach((cells, i) => {
          assert.equal(cells.length, 9);
          assert.match(cells[2], /requested by O'Brien & Co/);
          assert.match(cells[2], /<script>alert\(1\)<\/script>/, 'shown as text');
          assert.match(cells[3], /5 sample\(s\)/);
          assert.equal(cells[4], 'ga');
          assert.match(cells[5], /forget accuracy: \d+\.\d % → \d+\.\d %/);
          assert.ok(cells[7].startsWith(statuses[i]), cells[7]);
        });
        assert.equal(await page.$$eval('img, script', (els) => els.length), 0);
      }
      assert.deepEqual(session.consoleErrors.filter((e) => !e.includes(origin + '/')), [], 'no console errors on the audit page');
    });
  });
});

describe('replaying a receipt', () => {
  it('matches on the SIMD, no-SIMD and threaded builds; reports a mismatch; refuses inputs that are not the receipt\'s', { timeout: 300_000 }, async () => {
    const builds = [await createQforget({ simd: true, threads: 1 }), await createQforget({ simd: false }), await createQforget({ threads: 2 })];
    const model = await trainedModel(builds[0]);
    const before = model.save();
    const forget = synthetic(20, 2), retain = synthetic(150, 3);
    const receipt = await model.forget(forget, { retain, method: 'qmul', epochs: 2, batchSize: 32, seed: 3, request: { id: 'r-1' } });
    for (const qf of builds) {
      const result = await qf.replayReceipt(receipt, { model: before, forget, retain });
      assert.deepEqual([result.match, result.replayed, result.expected], [true, receipt.modelAfterSha256, receipt.modelAfterSha256], qf.build);
    }
    // A receipt claiming another result (re-sealed) does not match.
    const claimed = await resealed(receipt, (r) => { r.modelAfterSha256 = 'ab'.repeat(32); });
    const beforeModel = builds[1].loadModel(before);  // a Model works as well as its bytes
    const result = await builds[1].replayReceipt(claimed, { model: beforeModel, forget, retain });
    assert.deepEqual(beforeModel.save(), before, 'the model given is not changed');
    beforeModel.dispose();
    assert.equal(result.match, false);
    assert.equal(result.replayed, receipt.modelAfterSha256);
    // Inputs that are not the receipt's.
    const refusals = [
      [receipt, { model: model.save(), forget, retain }, /model \(the model before the forget\) is not the one the receipt names/],
      [receipt, { model: before, forget: synthetic(20, 9), retain }, /forget is not the one the receipt names/],
      [receipt, { model: before, forget, retain: synthetic(150, 9) }, /retain is not the one the receipt names/],
      [receipt, { model: before, retain }, /forget \(the forget set the receipt hashes\) is required/],
      [{ ...receipt, forgotten: 3 }, { model: before, forget, retain }, /receipt: its contents do not match its sha256/],
      [receipt, { model: before, forget, retain, extra: 1 }, /extra: unknown field/],
      [receipt, { model: 'bytes', forget, retain }, /model must be a Uint8Array/],
    ];
    for (const [r, sets, pattern] of refusals) await assert.rejects(builds[0].replayReceipt(r, sets), invalidNaming(pattern), String(pattern));
    model.dispose();
  });
});


describe('the device key of qforget/storage', () => {
  it('in Chromium: made once, non-extractable, kept across reloads; store.forget signs with it', { timeout: 180_000 }, () => withChromium(async (page, origin, session) => {
    const open = async () => {
      await page.goto(`${origin}/tests/browser/storage.html`);
      await page.waitForFunction(() => window.modulesLoaded === true);
    };
    await open();
    const first = await page.evaluate(async (SPEC) => {
      const qf = await qforget.createQforget({ threads: 1 });  // the storage is under test, not the build
      const model = qf.createModel(SPEC);
      await model.fit(synthetic(200, 1), { epochs: 1, batchSize: 32, lr: 0.05 });
      const store = await storage.openStorage('qforget-audit');
      await store.saveModel('me', model);
      const retain = synthetic(100, 3);
      const a = await store.forget('me', model, synthetic(5, 2), { retain, method: 'ga', epochs: 1, lr: 1e-4, request: { requestedBy: 'me' } });
      const b = await store.forget('me', model, synthetic(5, 4), { retain, method: 'ga', epochs: 1, lr: 1e-4, signingKey: null });
      const device = await store.deviceKey();
      const spki = Array.from(new Uint8Array(await crypto.subtle.exportKey('spki', device.publicKey)));
      // The private key as IndexedDB holds it: a CryptoKey no script can export.
      const record = await new Promise((resolve, reject) => {
        const req = indexedDB.open('qforget-audit');
        req.onsuccess = () => {
          const get = req.result.transaction('keys').objectStore('keys').get('device');
          get.onsuccess = () => { resolve(get.result); req.result.close(); };
          get.onerror = () => reject(get.error);
        };
      });
      const exported = await caught(crypto.subtle.exportKey('pkcs8', record.privateKey));
      const result = {
        signers: [a.signer, b.signer], keySha256: device.keySha256, spki, extractable: record.privateKey.extractable, exported,
        verify: await store.verify('me'),
        strict: await qforget.verifyReceipts(await store.receipts('me'), { publicKeys: [device.publicKey] }),
      };
      model.dispose();
      store.close();
      return result;
    }, SPEC);
    assert.equal(first.signers[0].keySha256, first.keySha256);
    assert.equal(first.signers[1], null, 'signingKey: null: unsigned');
    assert.equal(first.keySha256, createHash('sha256').update(Buffer.from(first.spki)).digest('hex'));
    assert.equal(first.extractable, false);
    assert.equal(first.exported?.name, 'InvalidAccessError');
    assert.deepEqual(first.verify, { ok: true, count: 2, modelMatchesLastReceipt: true });
    assert.equal(first.strict.brokenAt, 1, 'the unsigned receipt fails when signatures are required');

    await open();  // a reload: the same key comes back from IndexedDB
    const again = await page.evaluate(async () => {
      const store = await storage.openStorage('qforget-audit');
      const device = await store.deviceKey();
      const receipts = await store.receipts('me');
      store.close();
      return { keySha256: device.keySha256, receipts };
    });
    assert.equal(again.keySha256, first.keySha256);
    // A server holding the SPKI bytes only.
    const publicKeys = [new Uint8Array(first.spki)];
    assert.deepEqual(await verifyReceipts(again.receipts, { publicKeys, requireSignatures: false }), { ok: true, count: 2 });
    assert.deepEqual(await verifyReceipts(again.receipts.slice(0, 1), { publicKeys }), { ok: true, count: 1 });
    assert.deepEqual(session.consoleErrors, []);
  }));
});
