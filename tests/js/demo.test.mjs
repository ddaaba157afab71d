// The demo page end to end in Debian's Chromium (playwright-core): load the page, wait
// for the model, claim a handful of gallery pictures with deliberately wrong labels,
// personalize, forget them, and check what a visitor would: the model had learned the
// wrong labels and no longer holds them, the rest of its accuracy held, the metrics and
// a verified receipt appear beside the exact reference (the base model re-personalized
// without the items), the comparison measures methods against that reference, an exact
// forget says so, a reload keeps model and log, nothing left the page's origin, and the
// console stayed clean. Once with the SIMD build, once with it forced off. The SIMD run
// leaves the README's screenshot in build/test-artifacts/demo-forget.png.
// Needs demo/data/ (scripts/test.sh runs demo/prepare.mjs first).
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';

import { withChromium } from './browser.mjs';

// The number of Q-MUL epochs in a receipt shown as JSON text.
const qmulEpochs = (text) => JSON.parse(text).epochs.filter((e) => e.qmul).length;

const ARTIFACTS = new URL('../../build/test-artifacts/', import.meta.url);
const ITEMS = [0, 1, 2, 3, 4, 5];

async function waitIdle(page, button) {
  await page.waitForFunction((id) => !document.getElementById(id).disabled, button, { timeout: 180_000 });
}

// The confidence each of your items gets for its (wrong) label, as the page shows it.
const itemConfidences = (page) => page.$$eval('#items li .small', (spans) => spans.map((s) => Number(s.textContent.match(/([\d.]+) %/)[1])));

describe('demo page: the model as ONNX (SIMD build)', () => {
  it('downloads the model as ONNX, loads the file back as the model, refuses a file that is no ONNX', { timeout: 180_000 }, () => withChromium(async (page, origin, session) => {
    await page.goto(`${origin}/demo/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    for (const i of ITEMS) await page.click(`#gallery button[data-index="${i}"]`);
    await page.waitForSelector('#items[data-settled="true"]');
    const guesses = () => page.$$eval('#items li', (lis) => lis.map((li) => li.dataset.guess));
    const before = { guesses: await guesses(), accuracy: await page.getAttribute('#status', 'data-accuracy') };
    assert.equal(before.guesses.length, ITEMS.length);

    // Download as ONNX (QDQ): a file named by its hash.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#onnx-download')]);
    assert.match(download.suggestedFilename(), /^qforget-[0-9a-f]{12}\.onnx$/);
    const onnx = await readFile(await download.path());
    await page.waitForFunction(() => /Exported the model as ONNX: /.test(document.getElementById('status').textContent));

    // Loaded back, it is the page's model: the same guess for every item, the same accuracy.
    await page.setInputFiles('#onnx-load', { name: 'mine.onnx', mimeType: 'application/octet-stream', buffer: onnx });
    await page.waitForFunction(() => /Loaded mine\.onnx/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
    await page.waitForSelector('#items[data-settled="true"]');
    assert.deepEqual(await guesses(), before.guesses, 'the imported model guesses as the exported one did');
    assert.equal(await page.getAttribute('#status', 'data-accuracy'), before.accuracy);
    assert.equal(await page.getAttribute('#onnx-report', 'data-producer'), 'qforget 1.0.0');
    assert.match(await page.textContent('#onnx-report'), /^mine\.onnx: written by qforget .*opset 13.*dropped: .*Cast/);
    assert.equal((await page.$$('#log tr')).length, 1, 'a new, empty receipt log');
    // And it learns: personalizing on it teaches the items the next class's label.
    for (let i = 0; i < ITEMS.length; i++) {
      const select = page.locator('#items li select').nth(i);
      await select.selectOption(String((Number(await select.inputValue()) + 1) % 10));
      await page.waitForSelector('#items[data-settled="true"]');
    }
    const untaught = await itemConfidences(page);
    await page.fill('#fit-epochs', '2');
    await page.click('#personalize');
    await waitIdle(page, 'personalize');
    await page.waitForSelector('#items[data-settled="true"]');
    const taught = await itemConfidences(page);
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(taught) > mean(untaught) + 30, `personalizing the imported model: ${mean(untaught).toFixed(1)} % -> ${mean(taught).toFixed(1)} %`);

    // Not ONNX: the engine's message in the status, and the model stays.
    const current = { guesses: await guesses(), accuracy: await page.getAttribute('#status', 'data-accuracy') };
    await page.setInputFiles('#onnx-load', { name: 'notes.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model, just notes') });
    await page.waitForFunction(() => /Loading the ONNX model failed/.test(document.getElementById('status').textContent));
    assert.match(await page.textContent('#status'), /^Loading the ONNX model failed: .*ONNX/);
    await waitIdle(page, 'personalize');
    await page.waitForSelector('#items[data-settled="true"]');
    assert.deepEqual(await guesses(), current.guesses, 'the model is unchanged');
    assert.match(await page.textContent('#onnx-report'), /^mine\.onnx/, 'the report is still the loaded model\'s');

    assert.deepEqual(session.foreignRequests(), []);
    assert.deepEqual(session.consoleErrors, []);
  }));
});

for (const simd of [true, false]) {
  describe(`demo page (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    it('personalize, forget, receipt, reload — all on the device', { timeout: 300_000 }, () => withChromium(async (page, origin, session) => {
      const url = `${origin}/demo/${simd ? '' : '?simd=0'}`;
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      assert.equal(await page.getAttribute('body', 'data-simd'), String(simd));
      // The demo server makes the page cross-origin isolated: the SIMD run gets the
      // threaded build, one engine thread per core (threads: 'auto'), and says so.
      const threads = simd ? Math.min(8, await page.evaluate(() => navigator.hardwareConcurrency)) : 1;
      assert.equal(await page.getAttribute('body', 'data-threads'), String(threads));
      assert.match(await page.textContent('#engine'), simd && threads > 1 ? new RegExp(`SIMD with threads build, ${threads} threads`) : /, 1 thread, in a worker/);
      const accuracyBefore = Number(await page.getAttribute('#status', 'data-accuracy'));
      assert.ok(accuracyBefore > 0.7, `the prepared model is ready and accurate (${accuracyBefore})`);

      // With nothing picked, the Forget button is disabled and says why.
      assert.equal(await page.isDisabled('#forget-run'), true);
      assert.match(await page.textContent('#forget-hint'), /Pick or upload at least one item/);

      // Claim pictures and give each the next class's label: only personalization can teach that.
      for (const i of ITEMS) await page.click(`#gallery button[data-index="${i}"]`);
      const settled = () => page.waitForSelector('#items[data-settled="true"]');
      await settled();
      assert.equal(await page.locator('#items li select').count(), ITEMS.length);
      for (let i = 0; i < ITEMS.length; i++) {
        const select = page.locator('#items li select').nth(i);
        await select.selectOption(String((Number(await select.inputValue()) + 1) % 10));
        await settled();
      }
      const untaught = await itemConfidences(page);

      await page.fill('#fit-epochs', '3');
      await page.click('#personalize');
      await waitIdle(page, 'personalize');
      await settled();
      const taught = await itemConfidences(page);
      const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
      assert.ok(mean(taught) > 80 && mean(taught) > mean(untaught) + 50,
        `personalizing taught the wrong labels: ${mean(untaught).toFixed(1)} % -> ${mean(taught).toFixed(1)} %`);
      assert.ok(await page.$('#fit-chart canvas'), 'the loss/accuracy chart was drawn');
      // Its legend shows the last epoch's values, and its axes have titles.
      const legend = await page.$$eval('#fit-chart .u-legend .u-value', (cells) => cells.map((c) => c.textContent));
      assert.deepEqual(legend[0], '3', `the legend shows the last epoch: ${legend}`);
      assert.ok(legend.slice(1).every((v) => v !== '--' && Number.isFinite(Number(v))), `values, not "--": ${legend}`);
      assert.equal(await page.getAttribute('#fit-chart', 'data-axis-titles'), 'epoch|training loss|training accuracy (%)');

      // Bad fields are refused next to the field, before any work starts.
      const fieldError = (id) => page.textContent(`label:has(#${id}) .field-error`);
      for (const [id, bad] of [['forget-epochs', '0'], ['forget-lr', '-1'], ['retain-count', '6001']]) {
        const good = await page.inputValue(`#${id}`);
        await page.fill(`#${id}`, bad);
        await page.click('#forget-run');
        assert.match(await fieldError(id), /\d+ to \d+/, `${id} = ${bad} is marked`);
        assert.match(await page.textContent('#status'), /Forget not started/);
        assert.equal(await page.isHidden('#forget-result'), true, 'nothing ran');
        await page.fill(`#${id}`, good);
      }

      await page.fill('#retain-count', '300');
      await page.click('#forget-run');
      await page.waitForSelector('#forget-result:not([hidden])', { timeout: 180_000 });
      const metric = async (name) => {
        const row = await page.$(`#before-after tr[data-metric="${name}"]`);
        return { before: Number(await row.getAttribute('data-before')), after: Number(await row.getAttribute('data-after')) };
      };
      const fa = await metric('FA'), confidence = await metric('confidence'), ta = await metric('TA'), ra = await metric('RA');
      assert.equal(fa.before, 100, 'before forgetting, the model held every wrong label');
      assert.ok(fa.after <= 50, `after forgetting, most are gone (FA ${fa.after})`);
      assert.ok(confidence.after < confidence.before - 30, `confidence on the items dropped: ${confidence.before} -> ${confidence.after}`);
      // RA is measured on the 300 retained samples: one sample is 0.33 points, and the
      // standard error of an accuracy near 90 % on 300 is 1.7 points. 3 points (TA, on
      // 1,000 test samples) and 4 (RA) are then about two standard errors past no change;
      // RA at 3 failed once on a fresh prepared model (91.8 -> 88.7) when the engine's
      // bias and BatchNorm sums changed their summation order, the bytes and nothing else.
      assert.ok(ta.after > ta.before - 3 && ra.after > ra.before - 4, `the rest held: TA ${ta.before} -> ${ta.after}, RA ${ra.before} -> ${ra.after}`);
      // The attack trains on as many test samples as retain ones: items the model holds are
      // not all "non-members" (an attack taught the 300:1,000 prior said 100 % everywhere).
      // "Your items" shows the model after the forget, not the one before.
      await page.waitForSelector('#items[data-settled="true"]');
      const listed = (await page.$$eval('#items li .small', (spans) => spans.map((s) => s.textContent)))
        .map((text) => Number(/model: ([\d.]+) % sure/.exec(text)[1]));
      assert.equal(listed.length, ITEMS.length);
      const listedMean = listed.reduce((a, b) => a + b, 0) / listed.length;
      assert.ok(Math.abs(listedMean - confidence.after) < 0.5, `the list (${listedMean}) shows the confidences after forgetting (${confidence.after})`);
      const mia = await metric('MIA');
      assert.ok(mia.before < 100, `MIA before forgetting ${mia.before}`);
      assert.match(await page.textContent('#before-after tr[data-metric="FA"] td'), /^100\.0 % \(\d+–100 %, n = \d+\)/, 'FA with its interval and count');
      // Beside it, the exact reference: a model that never saw the items. It holds none of
      // the wrong labels (they were only ever taught by personalizing), and the rest as well.
      const reference = async (name) => Number(await page.getAttribute(`#before-after tr[data-metric="${name}"]`, 'data-reference'));
      assert.equal(await page.locator('#before-after tr').first().locator('th').count(), 4, 'before, after and the reference');
      assert.equal(await reference('FA'), 0, 'the re-personalized base model gives none of the wrong labels');
      assert.ok(await reference('confidence') < 10, `nor much confidence in them (${await reference('confidence')})`);
      assert.ok(Math.abs(await reference('TA') - ta.before) < 3, 'and is as accurate on the test set');
      assert.match(await page.textContent('#reference-note'), /re-personalized without your items/);
      const perItem = await page.$$eval('#item-bars li .small.reference', (spans) => spans.map((s) => Number(/never saw it: ([\d.]+) %/.exec(s.textContent)[1])));
      assert.equal(perItem.length, ITEMS.length, 'each item shows what a model that never saw it says');
      assert.ok(await page.$('#weights-chart canvas'), "Q-MUL's reweighting was charted");
      const weightsLegend = await page.$$eval('#weights-chart .u-legend .u-value', (cells) => cells.map((c) => c.textContent));
      assert.ok(weightsLegend.every((v) => v !== '--'), `the weights' legend has values: ${weightsLegend}`);
      assert.ok((await page.$$('#similar-labels tr')).length > 1, 'the similar labels were listed');
      const indicators = await page.$$eval('#qmul-indicators tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
      assert.equal(indicators.length, 1 + qmulEpochs(await page.textContent('#receipt')), "one row of Q-MUL's indicators per epoch");
      assert.ok(indicators.slice(1).every((row) => row.length === 5 && /%$/.test(row[2]) && /%$/.test(row[3])), `the indicators: ${JSON.stringify(indicators)}`);
      const receipt = JSON.parse(await page.textContent('#receipt'));
      assert.equal(receipt.method, 'qmul');
      assert.equal(receipt.metrics.retainSet, 'heldOut', 'RA on samples the forget did not train on');
      assert.equal(receipt.forgotten, ITEMS.length);
      assert.match(receipt.sha256, /^[0-9a-f]{64}$/);
      assert.equal(await page.getAttribute('#chain', 'data-ok'), 'true');
      assert.equal((await page.$$('#log tr')).length, 2, 'one receipt in the log');


      await page.waitForFunction(() => !/Forgetting|Building/.test(document.getElementById('status').textContent));
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: new URL(`demo-${simd ? 'simd' : 'nosimd'}.png`, ARTIFACTS).pathname, fullPage: true });
      if (simd) await page.locator('#forget').screenshot({ path: new URL('demo-forget.png', ARTIFACTS).pathname });

      let receipts = 1;
      if (simd) {
        // Compare Q-MUL with the exact reference: a table and a chart, names spelled out,
        // the reference first, at no distance from itself.
        for (const box of await page.$$('#compare-methods input')) {
          if ((await box.getAttribute('value')) === 'qmul') await box.check();
          else await box.uncheck();
        }
        await page.click('#compare-run');
        await page.waitForSelector('#compare-table tr[data-method="qmul"]', { timeout: 180_000 });
        const rows = await page.$$eval('#compare-table tr[data-method]', (trs) => trs.map((r) => [r.dataset.method, Number(r.dataset.ag), r.querySelector('th').textContent]));
        assert.deepEqual(rows.map(([m]) => m), ['rewind', 'qmul']);
        assert.equal(rows[0][1], 0, 'the reference is its own gap');
        assert.ok(rows[1][1] > 0 && Number.isFinite(rows[1][1]), `Q-MUL's gap ${rows[1][1]}`);
        assert.deepEqual(rows.map(([, , name]) => name), ['Exact rewind (the reference)', 'Q-MUL']);
        assert.ok(await page.$('#compare-chart canvas'), 'the comparison is charted');
        assert.equal(await page.getAttribute('#compare-chart', 'data-series'), 'Exact rewind (the reference)|Q-MUL');
        assert.equal(await page.getAttribute('#compare-chart', 'data-reference'), 'Exact rewind (the reference)');
        assert.equal(await page.getAttribute('#compare-chart', 'data-axis-titles'), 'time on this device (s)|gap to the exact reference (AG, points)');
        assert.match(await page.textContent('#status'), /Compared 1 method\(s\) against the exact reference/);

        // Making the forget exact afterwards: a rewind of the same items (Q-MUL forgot
        // them approximately; the rewind replays the personalization without them).
        await page.selectOption('#method', 'rewind');
        assert.equal(await page.isHidden('label:has(#forget-epochs)'), true, 'a rewind has no epochs to choose');
        await page.click('#forget-run');
        await page.waitForFunction(() => /Forgot .* with rewind/.test(document.getElementById('status').textContent), null, { timeout: 180_000 });
        const exact = JSON.parse(await page.textContent('#receipt'));
        assert.equal(exact.method, 'rewind');
        assert.equal(exact.exact, true);
        assert.match(await page.textContent('#receipt-summary'), /yes: the base model re-personalized without the items/);
        assert.equal(Number(await page.getAttribute('#before-after tr[data-metric="FA"]', 'data-after')), 0);
        assert.match(await page.textContent('#reference-note'), /This forget was exact/);
        receipts = 2;
      }

      // The page's own observation: nothing fetched while working, nothing to other sites.
      assert.equal(await page.getAttribute('#network', 'data-during'), '0');
      assert.equal(await page.getAttribute('#network', 'data-foreign'), '0');

      await page.reload();
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      assert.match(await page.textContent('#status'), /Restored/);
      assert.equal((await page.$$('#log tr')).length, 1 + receipts, 'the log survived the reload');
      // Any receipt of the log opens after the reload: a summary to read, the JSON to download.
      assert.equal(await page.isHidden('#receipt-view'), true);
      await page.click('#log button[data-index="0"]');
      await page.waitForSelector('#receipt-view:not([hidden])');
      const summary = await page.textContent('#receipt-summary');
      for (const term of ['Who', 'What', 'When', 'Method', 'Evidence', 'Exact', 'Seal']) assert.match(summary, new RegExp(term));
      assert.match(summary, /Q-MUL .*\(qmul\)/);
      assert.match(summary, new RegExp(`${ITEMS.length} item\\(s\\) forgotten`));
      assert.match(summary, /no: approximate unlearning/);
      assert.match(await page.getAttribute('#receipt-download', 'download'), /^qforget-receipt-[0-9a-f]{12}\.json$/);
      const downloaded = await page.evaluate(async () => (await fetch(document.querySelector('#receipt-download').href)).json());
      assert.equal(downloaded.sha256, receipt.sha256, 'the download is the receipt');
      assert.ok(summary.includes(receipt.sha256));
      assert.equal(await page.getAttribute('#chain', 'data-ok'), 'true');
      // The audit log: signed with this browser's device key, as a page and as JSON Lines.
      assert.match(summary, /signed with this browser's device key [0-9a-f]{16}…/);
      assert.match(summary, /Who\s*the person using this page/);
      assert.equal(await page.isHidden('#audit-downloads'), false);
      const audit = await page.evaluate(async () => Promise.all(['#audit-html', '#audit-jsonl'].map(async (id) => (await fetch(document.querySelector(id).href)).text())));
      assert.match(audit[0], /<table id="receipts">/);
      assert.match(audit[0], new RegExp(`${receipts} receipt\\(s\\): every seal and link intact, every signature verified`));
      assert.equal(audit[1].trim().split('\n').map((line) => JSON.parse(line).sha256)[0], receipt.sha256);

      if (simd) {
        // Your own picture: a light shirt-like shape on a white background, as a PNG.
        const png = await page.evaluate(async () => {
          const canvas = new OffscreenCanvas(60, 80);
          const ctx = canvas.getContext('2d');
          ctx.fillStyle = '#fff';
          ctx.fillRect(0, 0, 60, 80);
          ctx.fillStyle = '#333';
          ctx.fillRect(15, 10, 30, 60);
          return Array.from(new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer()));
        });
        await page.click('#clear-items');
        // Not a picture, and a picture too large: refused at the upload control, with why.
        await page.setInputFiles('#upload', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') });
        await page.waitForFunction(() => document.querySelector('#upload-error').textContent !== '');
        assert.match(await page.textContent('#upload-error'), /notes\.txt: not an image/);
        const hugePng = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0x2e, 0xe0, 0, 0, 0x2e, 0xe0]);
        await page.setInputFiles('#upload', { name: 'huge.png', mimeType: 'image/png', buffer: hugePng });
        await page.waitForFunction(() => /huge\.png/.test(document.querySelector('#upload-error').textContent));
        assert.match(await page.textContent('#upload-error'), /12000 × 12000 pixels is more than the 16,777,216/);
        assert.equal(await page.locator('#items li').count(), 0);
        await page.setInputFiles('#upload', { name: 'mine.png', mimeType: 'image/png', buffer: Buffer.from(png) });
        await page.waitForFunction(() => document.querySelectorAll('#items li').length === 1);
        assert.equal(await page.textContent('#upload-error'), '', 'a good upload clears the old message');
        const pixels = await page.$eval('#items li canvas', (c) => Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data));
        assert.ok(pixels[0] < 30 && pixels[(14 * 28 + 14) * 4] > 150, 'the upload became a light object on black, like Fashion-MNIST');

        // An item the model was never personalized on has no exact reference: Compare says so.
        await page.click('#compare-run');
        await page.waitForFunction(() => /Compare needs the exact reference/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
        assert.match(await page.textContent('#status'), /is in no fit recorded since the first checkpoint.*Personalize the model with your items first/);
        assert.equal(await page.isHidden('#compare-progress'), true, 'no progress bar left behind');
      }

      assert.deepEqual(session.foreignRequests(), [], 'no request left the page origin (the worker included)');
      assert.deepEqual(session.consoleErrors, []);
    }));
  });
}
