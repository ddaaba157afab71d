// qforget/storage in real Chromium (tests/js/browser.mjs): models and receipt logs survive
// a reload, the chain check sees tampering done straight through IndexedDB, and a save
// interrupted mid-transaction (aborted, page reloaded, browser killed) leaves the
// previous model loadable. Also the static server's refusals and the SIMD-less build.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { openStorage, QforgetError } from '../../web/storage.js';
import { startServer } from '../../demo/server.mjs';
import { withChromium } from './browser.mjs';

const PAGE = '/tests/browser/storage.html';
const DB = 'qforget-test';
const SPEC = { arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 5 };

/** Loads the test page and waits for its modules. */
async function openPage(page, origin) {
  await page.goto(origin + PAGE);
  await page.waitForFunction(() => window.modulesLoaded === true);
}

/**
 * Page side: makes the next write of model bytes (saveModel or forget) stop right after
 * the new bytes were put into its transaction. 'abort' aborts the transaction there;
 * 'hold' keeps it open forever (a chain of reads), so the test can reload the page or
 * kill the browser while it is in flight. Patches the platform's IDBObjectStore, not
 * qforget.
 */
function interruptNextWrite(mode) {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (record, ...rest) {
    const request = put.call(this, record, ...rest);
    if (this.name === 'modelBytes') {
      IDBObjectStore.prototype.put = put;
      const store = this;
      request.addEventListener('success', () => {
        if (mode === 'abort') return store.transaction.abort();
        window.saveInFlight = true;
        const keepBusy = () => store.get(record.key).addEventListener('success', keepBusy);
        keepBusy();
      });
    }
    return request;
  };
}

describe('qforget/storage', () => {
  it('outside a browser, openStorage names the missing IndexedDB', async () => {
    await assert.rejects(openStorage(), (e) => e instanceof QforgetError && e.code === 'UNIMPLEMENTED' && /IndexedDB/.test(e.message));
    await assert.rejects(openStorage(''), (e) => e.code === 'INVALID_ARGUMENT');
  });

  it('the demo server serves its folders read-only, with the right types, and nothing else', async () => {
    const server = await startServer();
    try {
      const get = (path, init) => fetch(server.origin + path, init);
      const wasm = await get('/web/dist/qforget-simd.wasm', { method: 'HEAD' });
      assert.equal(wasm.status, 200);
      assert.equal(wasm.headers.get('content-type'), 'application/wasm');
      assert.match((await get('/web/index.js')).headers.get('content-type'), /^text\/javascript/);
      assert.match((await get(PAGE)).headers.get('content-type'), /^text\/html/);
      for (const path of ['/..%2f..%2fetc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/web/..%5c..%5c..%5cetc/passwd', '/.git/config', '/web', '/nope.js', '/src/api/model_api.cc', '/package.json', '/demo/.stamp']) {
        assert.equal((await get(path)).status, 404, path);
      }
      assert.equal((await get('/web/index.js', { method: 'PUT', body: 'x' })).status, 405);
    } finally {
      await server.close();
    }
  });

  it('in Chromium: persists, chains, detects tampering and survives interrupted saves', { timeout: 90_000 }, (t) => withChromium(async (firstPage, origin, session) => {
    let page = firstPage;
    await openPage(page, origin);
    let logits;  // predictions of the saved model, on a fixed probe

    await t.test('a saved model loads back after a reload with identical predictions', async () => {
      const saved = await page.evaluate(async ({ SPEC, DB }) => {
        const qf = await qforget.createQforget();
        const model = qf.createModel(SPEC);
        await model.fit(synthetic(300, 1), { epochs: 1, batchSize: 32, lr: 0.05 });
        const store = await storage.openStorage(DB);
        const info = await store.saveModel('digits', model);
        const probe = synthetic(16, 99);
        const result = {
          simd: qf.simd, info, size: model.save().length,
          logits: Array.from(model.predict(probe.x)),
          has: [await store.has('digits'), await store.has('other')],
          list: await store.list(),
          receipts: await store.receipts('digits'),
          verify: await store.verify('digits'),
          missing: await caught(store.loadModel(qf, 'other')),
          missingLog: await caught(store.receipts('other')),
          badKey: await caught(store.saveModel('', model)),
        };
        model.dispose();
        store.close();
        result.closed = await caught(store.has('digits'));
        return result;
      }, { SPEC, DB });
      assert.equal(saved.simd, true, 'Chromium runs the SIMD build');
      assert.equal(saved.info.key, 'digits');
      assert.equal(saved.info.size, saved.size);
      assert.deepEqual(saved.has, [true, false]);
      assert.deepEqual(saved.list, [{ key: 'digits', size: saved.size, savedAt: saved.info.savedAt, receiptCount: 0 }]);
      assert.deepEqual(saved.receipts, []);
      assert.deepEqual(saved.verify, { ok: true, count: 0, modelMatchesLastReceipt: null });
      assert.equal(saved.missing.code, 'NOT_FOUND');
      assert.match(saved.missing.message, /"other"/);
      assert.equal(saved.missingLog.code, 'NOT_FOUND');
      assert.equal(saved.badKey.code, 'INVALID_ARGUMENT');
      assert.equal(saved.closed.code, 'FAILED_PRECONDITION');
      logits = saved.logits;

      await page.reload();
      await page.waitForFunction(() => window.modulesLoaded === true);
      const loaded = await page.evaluate(async ({ DB }) => {
        window.qf = await qforget.createQforget();
        window.store = await storage.openStorage(DB);
        window.model = await store.loadModel(qf, 'digits');
        return Array.from(model.predict(synthetic(16, 99).x));
      }, { DB });
      assert.deepEqual(loaded, logits);
    });

    await t.test('store.forget stores the model and its receipt together, chained', async () => {
      const result = await page.evaluate(async () => {
        const retain = synthetic(200, 3);
        const first = await store.forget('digits', model, synthetic(20, 2), { retain, method: 'ft', epochs: 1, batchSize: 32 });
        const second = await store.forget('digits', model, synthetic(10, 5), { retain, method: 'ga', epochs: 1, lr: 1e-4 });
        const reloaded = await store.loadModel(qf, 'digits');
        const probe = synthetic(16, 99);
        const out = {
          first, second,
          log: await store.receipts('digits'),
          verify: await store.verify('digits'),
          list: await store.list(),
          storedSha: await sha256Hex(reloaded.save()),
          same: Array.from(reloaded.predict(probe.x)).join() === Array.from(model.predict(probe.x)).join(),
          chained: await caught(store.forget('digits', model, synthetic(5, 6), { retain, method: 'ga', previousReceipt: first })),
          unknown: await caught(store.forget('nothing', model, synthetic(5, 6), { retain, method: 'ga' })),
          noRetain: await caught(store.forget('digits', model, synthetic(5, 6), { method: 'qmul' })),
        };
        reloaded.dispose();
        return out;
      });
      assert.deepEqual(result.log, [result.first, result.second]);
      assert.equal(result.first.previousSha256, null);
      assert.equal(result.second.previousSha256, result.first.sha256);
      assert.equal(result.second.modelBeforeSha256, result.first.modelAfterSha256);
      assert.equal(result.storedSha, result.second.modelAfterSha256, 'the stored model is the one the last forget produced');
      assert.ok(result.same);
      assert.deepEqual(result.verify, { ok: true, count: 2, modelMatchesLastReceipt: true });
      assert.equal(result.list[0].receiptCount, 2);
      assert.equal(result.chained.code, 'INVALID_ARGUMENT');
      assert.match(result.chained.message, /previousReceipt/);
      assert.equal(result.unknown.code, 'NOT_FOUND');
      assert.equal(result.noRetain.code, 'INVALID_ARGUMENT', 'qmul without retain data is refused; nothing stored');
      assert.equal(result.list[0].receiptCount, 2);
    });

    await t.test('a model saved after a later fit differs from the last receipt without breaking the chain', async () => {
      const verify = await page.evaluate(async () => {
        await model.fit(synthetic(100, 7), { epochs: 1, batchSize: 32, lr: 0.01 });
        await store.saveModel('digits', model);
        window.shaA = await sha256Hex(model.save());
        return store.verify('digits');
      });
      assert.deepEqual(verify, { ok: true, count: 2, modelMatchesLastReceipt: false });
    });

    await t.test('tampering done straight through IndexedDB is reported with brokenAt', async () => {
      const result = await page.evaluate(async ({ DB }) => {
        const db = await new Promise((resolve, reject) => {
          const request = indexedDB.open(DB);
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        const rewrite = (change) => new Promise((resolve, reject) => {
          const tx = db.transaction('receipts', 'readwrite');
          change(tx.objectStore('receipts'));
          tx.oncomplete = resolve;
          tx.onabort = () => reject(tx.error);
        });
        const original = await new Promise((resolve) => {
          db.transaction('receipts').objectStore('receipts').get(['digits', 1]).onsuccess = (e) => resolve(e.target.result);
        });
        await rewrite((s) => s.put({ ...original, receipt: { ...original.receipt, forgotten: original.receipt.forgotten - 1 } }));
        const altered = await store.verify('digits');
        await rewrite((s) => s.put(original));
        const restored = await store.verify('digits');
        const first = await new Promise((resolve) => {
          db.transaction('receipts').objectStore('receipts').get(['digits', 0]).onsuccess = (e) => resolve(e.target.result);
        });
        await rewrite((s) => s.delete(['digits', 0]));
        const dropped = await store.verify('digits');
        await rewrite((s) => s.put(first));
        db.close();
        return { altered, restored, dropped };
      }, { DB });
      assert.deepEqual(result.altered, { ok: false, count: 2, brokenAt: 1, reason: 'its contents do not match its sha256 (altered)', modelMatchesLastReceipt: false });
      assert.equal(result.restored.ok, true);
      assert.equal(result.dropped.ok, false);
      assert.equal(result.dropped.brokenAt, 0);
      assert.match(result.dropped.reason, /previousSha256/);
    });

    // Each interruption leaves version A (shaA) stored while trying to write version B.
    const storedSha = () => page.evaluate(async ({ DB }) => {
      window.qf = await qforget.createQforget();
      window.store = await storage.openStorage(DB);
      const loaded = await store.loadModel(qf, 'digits');
      const sha = await sha256Hex(loaded.save());
      loaded.dispose();
      return sha;
    }, { DB });
    const startVersionB = () => page.evaluate(async () => {
      await model.fit(synthetic(100, 8), { epochs: 1, batchSize: 32, lr: 0.01 });
      window.shaB = await sha256Hex(model.save());
      return [shaA, shaB];
    });

    await t.test('an aborted save or forget transaction leaves model and log as they were, and says ABORTED', async () => {
      const [shaA, shaB] = await startVersionB();
      assert.notEqual(shaA, shaB);
      const error = await page.evaluate(`(${interruptNextWrite})('abort'); caught(store.saveModel('digits', model))`);
      assert.equal(error?.code, 'ABORTED', JSON.stringify(error));
      assert.equal(await storedSha(), shaA);

      const forgetError = await page.evaluate(`(${interruptNextWrite})('abort');
        caught(store.forget('digits', model, synthetic(5, 12), { retain: synthetic(100, 13), method: 'ga', epochs: 1, lr: 1e-4 }))`);
      assert.equal(forgetError?.code, 'ABORTED', JSON.stringify(forgetError));
      assert.equal(await storedSha(), shaA);
      assert.deepEqual(await page.evaluate(() => store.verify('digits')), { ok: true, count: 2, modelMatchesLastReceipt: false });
      await page.evaluate(async () => {  // version B again (the forget changed the model in memory)
        await model.fit(synthetic(100, 8), { epochs: 1, batchSize: 32, lr: 0.01 });
        window.shaB = await sha256Hex(model.save());
      });
    });

    await t.test('a page reloaded while a save is in flight leaves the previous model', async () => {
      const [shaA] = await page.evaluate(() => [shaA, shaB]);
      await page.evaluate(`(${interruptNextWrite})('hold'); window.pendingSave = store.saveModel('digits', model); true`);
      await page.waitForFunction(() => window.saveInFlight === true);
      await page.reload();
      await page.waitForFunction(() => window.modulesLoaded === true);
      assert.equal(await storedSha(), shaA);
      await page.evaluate(async () => {
        window.model = await store.loadModel(qf, 'digits');
        window.shaA = await sha256Hex(model.save());
      });
    });

    await t.test('a browser killed while a save is in flight leaves the previous model', async () => {
      const [shaA] = await startVersionB();
      await page.evaluate(`(${interruptNextWrite})('hold'); window.pendingSave = store.saveModel('digits', model); true`);
      await page.waitForFunction(() => window.saveInFlight === true);
      page = await session.relaunch({ crash: true });
      await openPage(page, origin);
      assert.equal(await storedSha(), shaA);
      // ... and the store works normally afterwards: the new version saves and loads.
      const after = await page.evaluate(async () => {
        const model = await store.loadModel(qf, 'digits');
        await model.fit(synthetic(100, 9), { epochs: 1, batchSize: 32, lr: 0.01 });
        await store.saveModel('digits', model);
        const sha = await sha256Hex(model.save());
        model.dispose();
        return { sha, verify: await store.verify('digits') };
      });
      assert.equal(await storedSha(), after.sha);
      assert.deepEqual(after.verify, { ok: true, count: 2, modelMatchesLastReceipt: false });
    });

    await t.test('a forget whose log another writer extended meanwhile stores nothing', async () => {
      const result = await page.evaluate(async ({ DB }) => {
        const otherTab = await storage.openStorage(DB);  // a second connection, as another tab has
        const mine = await store.loadModel(qf, 'digits');
        const theirs = await store.loadModel(qf, 'digits');
        const retain = synthetic(100, 14);
        // Between store.forget reading the log and writing to it, the other tab forgets.
        const racing = {
          save: () => mine.save(),
          history: () => mine.history(),
          forget: async (set, options) => {
            await otherTab.forget('digits', theirs, synthetic(5, 15), { retain, method: 'ga', epochs: 1, lr: 1e-4 });
            return mine.forget(set, options);
          },
        };
        const error = await caught(store.forget('digits', racing, synthetic(5, 16), { retain, method: 'ga', epochs: 1, lr: 1e-4 }));
        const out = { error, verify: await store.verify('digits'), stored: await sha256Hex((await store.loadModel(qf, 'digits')).save()), theirs: await sha256Hex(theirs.save()) };
        for (const m of [mine, theirs]) m.dispose();
        otherTab.close();
        return out;
      }, { DB });
      assert.equal(result.error?.code, 'ABORTED', JSON.stringify(result.error));
      assert.match(result.error.message, /changed while forget ran/);
      assert.deepEqual(result.verify, { ok: true, count: 3, modelMatchesLastReceipt: true });
      assert.equal(result.stored, result.theirs);
    });

    await t.test('a checkpoint and the fits after it are stored with the model: after reloads, a rewind forgets exactly', async () => {
      const stored = await page.evaluate(async ({ SPEC }) => {
        const model = qf.createModel(SPEC);
        await model.fit(synthetic(200, 20), { epochs: 1, batchSize: 32, lr: 0.05 });
        window.baseBytes = model.save();
        await model.checkpoint();
        await model.fit(synthetic(60, 21), { epochs: 2, batchSize: 16, lr: 0.05, seed: 4 });
        await store.saveModel('personal', model);
        model.dispose();
        return Array.from(window.baseBytes);
      }, { SPEC });
      await page.reload();
      await page.waitForFunction(() => window.modulesLoaded === true);
      const rewound = await page.evaluate(async ({ DB }) => {
        window.qf = await qforget.createQforget();
        window.store = await storage.openStorage(DB);
        const model = await store.loadModel(qf, 'personal');
        const types = (await model.history()).events.map((e) => e.type);
        const user = synthetic(60, 21);
        const forgetSet = { x: user.x.subarray(0, 3 * 144), y: user.y.subarray(0, 3), shape: [3, 12, 12, 1] };
        const receipt = await store.forget('personal', model, forgetSet, { method: 'rewind', data: user });
        const sha = await sha256Hex(model.save());
        model.dispose();
        return { types, receipt, sha };
      }, { DB });
      assert.deepEqual(rewound.types, ['checkpoint', 'fit']);
      assert.equal(rewound.receipt.exact, true);
      assert.equal(rewound.receipt.modelAfterSha256, rewound.sha);
      await page.reload();
      await page.waitForFunction(() => window.modulesLoaded === true);
      const after = await page.evaluate(async ({ DB, stored }) => {
        window.qf = await qforget.createQforget();
        window.store = await storage.openStorage(DB);
        const model = await store.loadModel(qf, 'personal');
        const user = synthetic(60, 21);
        const reference = qf.loadModel(new Uint8Array(stored));
        await reference.fit({ x: user.x.subarray(3 * 144), y: user.y.subarray(3), shape: [57, 12, 12, 1] }, { epochs: 2, batchSize: 16, lr: 0.05, seed: 4 });
        const out = {
          types: (await model.history()).events.map((e) => e.type),
          sha: await sha256Hex(model.save()),
          referenceSha: await sha256Hex(reference.save()),
          verify: await store.verify('personal'),
          deleted: await store.delete('personal'),
        };
        model.dispose();
        reference.dispose();
        return out;
      }, { DB, stored });
      assert.deepEqual(after.types, ['checkpoint', 'fit', 'forget']);
      assert.equal(after.sha, rewound.sha);
      assert.equal(after.sha, after.referenceSha, 'the rewound model is the fit without the three samples');
      assert.deepEqual(after.verify, { ok: true, count: 1, modelMatchesLastReceipt: true });
      assert.equal(after.deleted, true);
    });

    await t.test('a database of the first layout (no ledgers) opens, upgraded, and its models load', async () => {
      const result = await page.evaluate(async ({ SPEC }) => {
        const name = 'qforget-layout-1';
        const bytes = qf.createModel(SPEC).save();
        const db = await new Promise((resolve, reject) => {
          const request = indexedDB.open(name, 1);
          request.onupgradeneeded = () => {
            request.result.createObjectStore('models', { keyPath: 'key' });
            request.result.createObjectStore('modelBytes', { keyPath: 'key' });
            request.result.createObjectStore('receipts', { keyPath: ['key', 'index'] });
          };
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        await new Promise((resolve, reject) => {
          const tx = db.transaction(['models', 'modelBytes'], 'readwrite');
          tx.objectStore('models').put({ key: 'old', size: bytes.length, savedAt: new Date().toISOString() });
          tx.objectStore('modelBytes').put({ key: 'old', bytes });
          tx.oncomplete = resolve;
          tx.onabort = () => reject(tx.error);
        });
        db.close();
        const upgraded = await storage.openStorage(name);
        const model = await upgraded.loadModel(qf, 'old');
        const out = { same: (await sha256Hex(model.save())) === (await sha256Hex(bytes)), events: (await model.history()).events.length };
        await model.checkpoint();
        await upgraded.saveModel('old', model);
        const again = await upgraded.loadModel(qf, 'old');
        out.afterSave = (await again.history()).events.map((e) => e.type);
        for (const m of [model, again]) m.dispose();
        upgraded.close();
        await storage.deleteStorage(name);
        return out;
      }, { SPEC });
      assert.deepEqual(result, { same: true, events: 0, afterSave: ['checkpoint'] });
    });

    await t.test('delete removes the model and its log', async () => {
      const result = await page.evaluate(async () => ({
        deleted: await store.delete('digits'),
        again: await store.delete('digits'),
        has: await store.has('digits'),
        list: await store.list(),
        log: await caught(store.receipts('digits')),
      }));
      assert.deepEqual({ ...result, log: result.log?.code }, { deleted: true, again: false, has: false, list: [], log: 'NOT_FOUND' });
    });

    await t.test('the SIMD-less build creates and predicts in the browser', async () => {
      const result = await page.evaluate(async ({ SPEC }) => {
        const qf = await qforget.createQforget({ simd: false });
        const model = qf.createModel(SPEC);
        const logits = model.predict(synthetic(4, 11).x);
        model.dispose();
        return { simd: qf.simd, isa: qf.kernels.isa, length: logits.length, finite: logits.every(Number.isFinite) };
      }, { SPEC });
      assert.deepEqual(result, { simd: false, isa: 'scalar', length: 36, finite: true });
      assert.ok(session.requests.some((url) => url.endsWith('/web/dist/qforget-nosimd.wasm')));
    });

    await t.test('no request left the page origin and nothing was logged as an error', () => {
      // The demo server's pages are cross-origin isolated: the threaded build loads.
      assert.ok(session.requests.some((url) => url.endsWith('/web/dist/qforget-threads.wasm')), 'requests are recorded');
      assert.deepEqual(session.foreignRequests(), []);
      assert.deepEqual(session.consoleErrors, []);
    });
  }));
});
