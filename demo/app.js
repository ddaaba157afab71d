// The demo page: personalize a 4-bit model with your pictures, make it forget them, and
// compare unlearning methods — everything in a worker in this tab. The engine does the
// work through qforget/worker; models and the receipt log persist in IndexedDB through
// qforget/storage. URL flags: ?simd=0 forces the no-SIMD build, ?threads=N the engine's
// thread count (default 'auto': the threaded build where the page is cross-origin isolated).
import { exportAudit } from '/web/audit.js';
import { openStorage } from '/web/storage.js';
import { QforgetError, createQforgetWorker } from '/web/worker.js';

import { bar, epochChart, methodsChart } from './charts.js';
import { PIXELS, pixelsFromImage, thumbnail } from './images.js';

const KEY = 'demo';  // the model's key in storage
const DATA = new URL('./data/', import.meta.url);
const METHODS = {
  qmul: 'Q-MUL — similar labels + adaptive gradient reweighting',
  rewind: 'Rewind — the base model re-personalized without your items (exact)',
  auto: 'Auto — rewind when it is cheap enough, Q-MUL otherwise',
  ft: 'Fine-tune on the retain set',
  ga: 'Gradient ascent on your items',
  rl: 'Random labels for your items',
  l1sparse: 'Fine-tune with an L1 penalty',
  salun: 'SalUn — random labels on salient weights',
  bs: 'Boundary shrink',
  oeu: 'Orthogonal entropy unlearning',
};
// Methods by name, spelled out, for the comparison's table and chart.
const NAMES = {
  qmul: 'Q-MUL', rewind: 'Exact rewind (the reference)', ft: 'Fine-tuning', ga: 'Gradient ascent',
  rl: 'Random labels', l1sparse: 'L1-sparse fine-tuning', salun: 'SalUn', bs: 'Boundary shrink', oeu: 'Orthogonal entropy (OEU)',
};
// The methods the form's options (epochs, learning rate, retain sample) do not apply to.
const EXACT = ['rewind'];
// Learning rates each method starts from in the form: gradient ascent diverges fast, and
// random labels at 0.05 moved further from the exact reference than doing nothing
// (bench/UNLEARNING.md, "lenet 4-bit personalization").
const DEFAULT_LR = { ga: 1e-3, rl: 0.01 };
const LR = 0.05;
// How the page's samples (28 × 28 × 1 Fashion-MNIST pixels, bytes, channels last) reach an
// imported graph: bytes scaled to [0, 1], as torchvision's ToTensor and Keras' Rescaling
// give a network, and laid out as this page holds them whatever layout the graph takes.
const ONNX_IMPORT = { inputType: 'uint8', preprocess: { scale: 1 / 255 }, inputLayout: 'nhwc' };

const $ = (id) => document.getElementById(id);
const percent = (x) => `${x.toFixed(1)} %`;
// A metric from the engine ({value, n, low, high}, fractions) as "87.5 % (53–98 %, n = 8)".
const withInterval = (p) => `${percent(100 * p.value)} (${(100 * p.low).toFixed(0)}–${(100 * p.high).toFixed(0)} %, n = ${p.n})`;
function element(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

const state = {
  qf: null,
  store: null,
  manifest: null,
  sets: {},           // train, gallery, test datasets
  model: null,        // the RemoteModel on the page
  preparedBytes: null,
  personalizedBytes: null,  // the model before any forget: what "compare" starts from
  personalizedHistory: null,  // its ledger (checkpoint, fits): what the exact reference rewinds
  fitData: [],        // the datasets personalized on in this tab (a rewind replays them)
  items: [],          // {pixels, label, name}
  busy: false,
};

// --- status and network ------------------------------------------------------------------

function status(text) {
  $('status').textContent = text;
}

// Every resource this page fetched, observed (not assumed): shown live, with what was
// requested while personalizing or forgetting.
const network = { entries: [], during: [], active: null };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    network.entries.push(entry.name);
    if (network.active) network.during.push(`${network.active}: ${entry.name}`);
  }
  renderNetwork();
}).observe({ type: 'resource', buffered: true });

function renderNetwork() {
  const foreign = network.entries.filter((url) => new URL(url).origin !== location.origin);
  $('network').textContent = `Network: ${network.entries.length} request(s) since the page opened ` +
    `(the page, the engine, the data), ${foreign.length} to other sites. ` +
    `Requests while personalizing, forgetting or comparing: ${network.during.length}.`;
  $('network').dataset.during = String(network.during.length);
  $('network').dataset.foreign = String(foreign.length);
}

// Runs `work` as one exclusive operation: buttons off, the network watched, errors shown.
async function operation(name, work) {
  if (state.busy) return;
  state.busy = true;
  network.active = name;
  updateButtons();
  try {
    await work();
  } catch (error) {
    if (error instanceof QforgetError && error.code === 'ABORTED') status(`${name}: cancelled — the model is unchanged.`);
    else {
      status(`${name} failed: ${error.message}`);
      console.warn(error);
    }
  } finally {
    network.active = null;
    state.busy = false;
    updateButtons();
  }
}

function updateButtons() {
  const ready = state.model && !state.busy;
  $('personalize').disabled = !ready || state.items.length === 0;
  $('forget-run').disabled = !ready || state.items.length === 0;
  $('forget-hint').textContent = !state.model ? 'Waiting for the model to load.'
    : state.busy ? 'Another operation is running.'
      : state.items.length === 0 ? 'Pick or upload at least one item in step 1 first.' : '';
  $('compare-run').disabled = !ready || state.items.length === 0;
  $('reset').disabled = !ready;
  $('onnx-download').disabled = !ready;
  $('onnx-load').disabled = !ready;
  $('item-count').textContent = `(${state.items.length})`;
}

// --- data ----------------------------------------------------------------------------

async function fetchBytes(name) {
  const response = await fetch(new URL(name, DATA));
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status} (run npm start to prepare the demo data)`);
  return new Uint8Array(await response.arrayBuffer());
}

async function loadSet(name) {
  const [x, y] = await Promise.all([fetchBytes(`${name}-x.bin`), fetchBytes(`${name}-y.bin`)]);
  return { x, y, shape: [y.length, 28, 28, 1] };
}

function datasetOf(items) {
  const x = new Uint8Array(items.length * PIXELS);
  items.forEach((item, i) => x.set(item.pixels, i * PIXELS));
  return { x, y: Uint8Array.from(items, (item) => item.label), shape: [items.length, 28, 28, 1] };
}

function slice(ds, count, from = 0) {
  const start = Math.min(from, ds.shape[0]), n = Math.min(count, ds.shape[0] - start);
  return { x: ds.x.subarray(start * PIXELS, (start + n) * PIXELS), y: ds.y.subarray(start, start + n), shape: [n, 28, 28, 1] };
}

function concat(...sets) {
  const n = sets.reduce((sum, ds) => sum + ds.shape[0], 0);
  const x = new Uint8Array(n * PIXELS), y = new Uint8Array(n);
  let at = 0;
  for (const ds of sets) {
    x.set(ds.x, at * PIXELS);
    y.set(ds.y, at);
    at += ds.shape[0];
  }
  return { x, y, shape: [n, 28, 28, 1] };
}

// The training data that stays: a sample of the model's training set (never your items).
function retainSet() {
  return slice(state.sets.train, Number($('retain-count').value) || 500);
}

/** Training samples after the retain sample, which no forget trains on: RA and the membership attack's members come from them. */
function heldOutRetainSet() {
  return slice(state.sets.train, 1000, Number($('retain-count').value) || 500);
}

// The data a rewind replays the recorded personalizations on: what this tab personalized
// on, and what a personalization before a reload was made of (your items, the gallery, the
// training samples mixed in). Samples are matched by hash: extra ones are ignored.
function replayData() {
  return concat(...state.fitData, datasetOf(state.items), state.sets.gallery, slice(state.sets.train, 1000));
}

/**
 * The exact reference: a copy of the model (`bytes` with its ledger `history`) rewound to
 * the base model and re-personalized without the items. Resolves to {model, receipt}, or
 * {why} when it cannot be built (nothing personalized here, or an item it was not
 * personalized on).
 */
async function exactReference(forgetSet, bytes, history, signal) {
  if (!history || history.events.length === 0) return { why: 'the model was not personalized in this browser' };
  const model = await state.qf.loadModel(bytes);
  try {
    await model.restoreHistory(history);
    return { model, receipt: await model.forget(forgetSet, { method: 'rewind', data: replayData(), signal }) };
  } catch (error) {
    await model.dispose();
    if (error instanceof QforgetError && ['NOT_FOUND', 'FAILED_PRECONDITION'].includes(error.code)) return { why: error.message };
    throw error;
  }
}

/** For each item, the model's softmax probability of its label and the class it predicts. */
async function predictions(model, items) {
  if (items.length === 0) return [];
  const logits = await model.predict(datasetOf(items).x);
  const c = state.manifest.classNames.length;
  return items.map((item, i) => {
    const row = logits.subarray(i * c, (i + 1) * c);
    const max = Math.max(...row);
    const exp = Array.from(row, (v) => Math.exp(v - max));
    return { confidence: exp[item.label] / exp.reduce((a, b) => a + b, 0), guess: row.indexOf(max) };
  });
}

/** Softmax probability of each item's label under the model. */
async function confidences(model, items) {
  return (await predictions(model, items)).map((p) => p.confidence);
}

// --- your data ---------------------------------------------------------------------------

function classSelect(value, onChange, label) {
  const select = element('select');
  select.setAttribute('aria-label', label);
  state.manifest.classNames.forEach((name, k) => select.append(element('option', { value: String(k), textContent: name })));
  select.value = String(value);
  select.addEventListener('change', () => onChange(Number(select.value)));
  return select;
}

function renderGallery() {
  const { gallery } = state.sets;
  const names = state.manifest.classNames;
  const grid = $('gallery');
  grid.replaceChildren();
  for (let i = 0; i < gallery.shape[0]; i++) {
    const pixels = gallery.x.subarray(i * PIXELS, (i + 1) * PIXELS);
    const name = `gallery picture ${i + 1} (${names[gallery.y[i]]})`;
    const button = element('button', { type: 'button', title: names[gallery.y[i]] }, thumbnail(pixels, name));
    button.setAttribute('aria-pressed', 'false');
    button.setAttribute('aria-label', `Claim ${name} as yours`);
    button.dataset.index = String(i);
    button.addEventListener('click', () => {
      const at = state.items.findIndex((item) => item.galleryIndex === i);
      if (at >= 0) state.items.splice(at, 1);
      else state.items.push({ pixels: pixels.slice(), label: gallery.y[i], name, galleryIndex: i });
      button.setAttribute('aria-pressed', String(at < 0));
      renderItems();
    });
    grid.append(button);
  }
}

let itemsRender = 0;  // the latest renderItems call; older ones drop their result

async function renderItems() {
  const list = $('items');
  const render = ++itemsRender;
  list.dataset.settled = 'false';
  const predicted = state.model ? await predictions(state.model, state.items) : [];
  if (render !== itemsRender) return;
  list.dataset.settled = 'true';
  list.replaceChildren(...state.items.map((item, i) => {
    const { confidence = 0, guess } = predicted[i] ?? {};
    const info = element('div', {},
      classSelect(item.label, (label) => { item.label = label; renderItems(); }, `Label of ${item.name}`),
      bar(confidence, { label: `model confidence in this label: ${percent(100 * confidence)}` }),
      element('span', { className: 'small', textContent: `model: ${percent(100 * confidence)} sure` +
        (guess === undefined ? '' : `; its guess: ${state.manifest.classNames[guess]}`) }));
    const li = element('li', {}, thumbnail(item.pixels, item.name), info);
    if (guess !== undefined) li.dataset.guess = String(guess);
    return li;
  }));
  updateButtons();
}

// The largest picture the page decodes (4,096 × 4,096): a bigger one is refused rather than
// decoded into hundreds of megabytes to end up as 28 × 28 pixels.
const MAX_UPLOAD_PIXELS = 4096 * 4096;

async function addUploads(files) {
  const problems = [];
  for (const file of files) {
    try {
      if (!file.type.startsWith('image/')) throw new Error(`not an image (${file.type || 'unknown type'})`);
      const pixels = await pixelsFromImage(file, MAX_UPLOAD_PIXELS);
      const logits = await state.model.predict(pixels);
      const label = logits.indexOf(Math.max(...logits));  // starts as the model's guess
      state.items.push({ pixels, label, name: `your picture ${file.name}` });
    } catch (error) {
      problems.push(`${file.name}: ${error.message}`);
    }
  }
  $('upload-error').textContent = problems.join('; ');  // cleared by an upload that works
  $('upload').value = '';  // the same file may be picked again
  renderItems();
}

function clearItems() {
  state.items = [];
  for (const b of $('gallery').querySelectorAll('button')) b.setAttribute('aria-pressed', 'false');
  renderItems();
}

// Fine-tunes on your items (repeated so a few pictures count) mixed with training data,
// so the model learns them without losing the rest.
async function personalize() {
  if (!validFields(['fit-epochs'])) {
    status('Personalizing not started: fix the field marked in red.');
    return;
  }
  const epochs = Number($('fit-epochs').value);
  const mine = datasetOf(state.items);
  const copies = Math.max(1, Math.ceil(200 / state.items.length));
  const data = concat(...Array.from({ length: copies }, () => mine), slice(state.sets.train, 1000));
  const chart = personalizeChart;
  chart.reset();
  const progress = $('fit-progress');
  progress.hidden = false;
  progress.max = epochs;
  progress.value = 0;
  status(`Personalizing on ${state.items.length} item(s) (${data.shape[0]} samples with training data), in the worker…`);
  // The base model, kept before it first learns your items: what an exact forget goes back to.
  if ((await state.model.history()).events.length === 0) await state.model.checkpoint();
  await state.model.fit(data, {
    epochs, batchSize: 32, lr: 0.01, seed: 1,
    onProgress: (e) => {
      progress.value = e.epoch;
      chart.add(e.epoch, [e.loss, 100 * e.accuracy]);
    },
  });
  state.fitData.push(data);
  await state.store.saveModel(KEY, state.model);  // with its ledger
  state.personalizedBytes = await state.model.save();
  state.personalizedHistory = await state.model.history();
  await renderItems();
  await renderAccuracy('Personalized');
}

// --- forgetting --------------------------------------------------------------------------

// Checks number fields against their min, max and step before any work starts; a message
// goes right after each bad field (and is cleared once it is fixed). True when all are valid.
function validFields(ids) {
  let valid = true;
  for (const id of ids) {
    const input = $(id);
    const label = input.closest('label');
    let error = label.querySelector('.field-error');
    if (!error) {
      error = element('span', { className: 'field-error', role: 'alert' });
      label.append(error);
    }
    const ok = input.value !== '' && input.checkValidity();
    error.textContent = ok ? '' : `${input.min} to ${input.max}${input.step === '1' ? ', a whole number' : ''}`;
    input.setAttribute('aria-invalid', String(!ok));
    valid &&= ok;
  }
  return valid;
}

// What forget gets for `method` (besides the metrics' sets and the callbacks).
function forgetOptions(method) {
  if (method === 'rewind') return { method, data: replayData() };
  if (method === 'auto') return { ...forgetOptions('qmul'), method, data: replayData() };
  const options = {
    method,
    retain: retainSet(),
    epochs: Number($('forget-epochs').value),
    lr: Number($('forget-lr').value),
    batchSize: 64,
    seed: 1,
  };
  if (method === 'qmul') options.qmulMode = $('qmul-mode').value;
  if (method === 'salun') options.salunRatio = Number($('salun-ratio').value);
  if (method === 'l1sparse') options.l1Alpha = Number($('l1-alpha').value);
  if (method === 'bs') options.bsEpsilon = Number($('bs-epsilon').value);
  return options;
}

let forgetController = null;

async function forgetMyData() {
  const method = $('method').value;
  if (!EXACT.includes(method) && !validFields(['forget-epochs', 'forget-lr', 'retain-count'])) {
    status('Forget not started: fix the fields marked in red.');
    return;
  }
  const forgetSet = datasetOf(state.items);
  const test = state.sets.test;
  status('Measuring the model before forgetting…');
  const heldOutRetain = heldOutRetainSet();
  const before = await state.qf.unlearningMetrics(state.model, { forget: forgetSet, retain: heldOutRetain, test });
  const confBefore = await confidences(state.model, state.items);
  const [bytesBefore, historyBefore] = [await state.model.save(), await state.model.history()];
  const options = forgetOptions(method);
  const progress = $('forget-progress');
  progress.hidden = false;
  progress.max = options.epochs ?? 1;
  progress.value = 0;
  forgetController = new AbortController();
  $('forget-cancel').disabled = false;
  status(`Forgetting ${state.items.length} item(s) with ${method}, in the worker…`);
  let receipt;
  try {
    receipt = await state.store.forget(KEY, state.model, forgetSet, {
      ...options, test, heldOutRetain, signal: forgetController.signal,
      request: { requestedBy: 'the person using this page', subject: 'the person using this page', reason: `forget ${state.items.length} personal picture(s)` },
      onProgress: (e) => {
        // A rewind replays recorded fits: its progress runs over all their epochs.
        if (e.fit) [progress.max, progress.value] = [e.fits * e.fitEpochs, (e.fit - 1) * e.fitEpochs + e.epoch];
        else progress.value = e.epoch;
      },
    });
  } finally {
    $('forget-cancel').disabled = true;
    forgetController = null;
    if (receipt === undefined) {  // cancelled or failed: no half-filled bar left behind
      progress.value = 0;
      progress.hidden = true;
    }
  }
  const confAfter = await confidences(state.model, state.items);
  // Beside an approximate forget, the exact one: what a model that never saw the items says.
  let reference = null;
  if (!receipt.exact) {
    status('Building the exact reference: the base model re-personalized without your items…');
    const built = await exactReference(forgetSet, bytesBefore, historyBefore);
    reference = built.why ? { why: built.why } : {
      metrics: await state.qf.unlearningMetrics(built.model, { forget: forgetSet, retain: heldOutRetain, test }),
      confidences: await confidences(built.model, state.items),
    };
    await built.model?.dispose();
  }
  renderBeforeAfter(before, receipt.metrics, confBefore, confAfter, receipt, reference);
  $('forget-result').hidden = false;  // before the chart: uPlot sizes and fills it once visible
  renderQmul(receipt);
  await renderLog();
  showReceipt(receipt, (await state.store.receipts(KEY)).length - 1);
  await renderItems();  // the list's confidences are the model's after the forget
  await renderAccuracy(`Forgot ${receipt.forgotten} item(s) with ${receipt.method} in ${receipt.seconds.toFixed(1)} s.`);
}

// A table cell for a metric: its value, interval and count, and a bar; for MIA, what the
// attack could not tell (too few samples, or near chance).
function metricCell(metrics, key, { before, reference } = {}) {
  const p = metrics[key];
  if (p === null) return element('td', { className: 'note', textContent: `not enough samples — ${metrics.miaAttack.note}` });
  const cell = element('td', {}, withInterval(p), bar(p.value, { before, reference }));
  if (key === 'MIA' && !metrics.miaAttack.informative) {
    cell.append(element('div', { className: 'note', textContent: 'the attack is near chance here: this number says little', title: metrics.miaAttack.note }));
  }
  return cell;
}

// The forget's result, before and after, beside the exact reference (`reference`: its
// metrics and per-item confidences, or why there is none; null when the forget was exact).
function renderBeforeAfter(before, after, confBefore, confAfter, receipt, reference) {
  const mean = (xs) => (xs.length ? (100 * xs.reduce((a, b) => a + b, 0)) / xs.length : 0);
  const points = (p) => (p === null ? 'null' : String(100 * p.value));
  const exact = reference?.metrics;
  const table = $('before-after');
  table.replaceChildren(element('tr', {}, ...['', 'before', `after (${NAMES[receipt.method] ?? receipt.method})`,
    ...(exact ? ['a model that never saw your items (exact rewind)'] : [])].map((t) => element('th', { scope: 'col', textContent: t }))));
  const rows = [
    ['FA', 'Accuracy on your items (FA)'],
    ['confidence', 'Confidence on your items (mean)'],
    ['RA', 'Accuracy on the rest of the training data (RA; samples the forget did not train on)'],
    ['TA', 'Accuracy on the test set (TA)'],
    ['MIA', 'MIA-efficacy (higher = better forgotten)'],
  ];
  for (const [key, name] of rows) {
    const row = element('tr', {}, element('th', { scope: 'row', textContent: name }));
    if (key === 'confidence') {
      const [b, a] = [mean(confBefore), mean(confAfter)];
      row.append(element('td', {}, percent(b), bar(b / 100, { before: true })), element('td', {}, percent(a), bar(a / 100)));
      [row.dataset.before, row.dataset.after] = [String(b), String(a)];
      if (exact) {
        const r = mean(reference.confidences);
        row.append(element('td', {}, percent(r), bar(r / 100, { reference: true })));
        row.dataset.reference = String(r);
      }
    } else {
      row.append(metricCell(before, key, { before: true }), metricCell(after, key));
      [row.dataset.before, row.dataset.after] = [points(before[key]), points(after[key])];
      if (exact) {
        row.append(metricCell(exact, key, { reference: true }));
        row.dataset.reference = points(exact[key]);
      }
    }
    row.dataset.metric = key;
    table.append(row);
  }
  table.append(element('tr', {}, element('th', { scope: 'row', textContent: 'Time' }),
    element('td', { textContent: '' }), element('td', { textContent: `${receipt.seconds.toFixed(1)} s` })));
  $('reference-note').textContent = receipt.exact
    ? 'This forget was exact: the model is the base model re-personalized without your items.'
    : exact ? 'The last column is the target: the base model re-personalized without your items (exact, by rewind). The closer "after" comes to it, the better the forget.'
      : `No exact reference here: ${reference?.why ?? 'it could not be built'}.`;
  $('item-bars').replaceChildren(...state.items.map((item, i) => {
    const lines = [
      element('span', { className: 'small', textContent: `${state.manifest.classNames[item.label]}: ${percent(100 * confBefore[i])} → ${percent(100 * confAfter[i])}` }),
      bar(confBefore[i], { before: true, label: `before: ${percent(100 * confBefore[i])}` }),
      bar(confAfter[i], { label: `after: ${percent(100 * confAfter[i])}` }),
    ];
    if (exact) {
      const r = reference.confidences[i];
      lines.push(element('span', { className: 'small reference', textContent: `a model that never saw it: ${percent(100 * r)}` }),
        bar(r, { reference: true, label: `a model that never saw it: ${percent(100 * r)}` }));
    }
    return element('li', {}, thumbnail(item.pixels, item.name), element('div', {}, ...lines));
  }));
}

const personalizeChart = epochChart($('fit-chart'), [
  { label: 'loss', stroke: '#b42318' },
  { label: 'accuracy %', stroke: '#2457c5', scale: 'acc' },
], { y: 'training loss', acc: 'training accuracy (%)' });
const weightsChart = epochChart($('weights-chart'), [
  { label: 'w_f (your items)', stroke: '#b42318' },
  { label: 'w_r (retain set)', stroke: '#2457c5' },
], { y: 'gradient weight' });

function renderQmul(receipt) {
  const epochs = receipt.epochs.filter((e) => e.qmul);
  $('qmul-details').hidden = epochs.length === 0;
  if (epochs.length === 0) return;
  weightsChart.reset();
  for (const e of epochs) weightsChart.add(e.epoch, [e.qmul.wForget, e.qmul.wRetain]);
  const names = state.manifest.classNames;
  const last = epochs.at(-1).qmul.similarLabels;
  const table = $('similar-labels');
  table.replaceChildren(element('tr', {},
    element('th', { scope: 'col', textContent: 'the label your items had' }),
    element('th', { scope: 'col', textContent: 'similar label Q-MUL trained them toward (last epoch)' })));
  last.forEach((counts, k) => {
    const chosen = counts.map((n, j) => [n, j]).filter(([n]) => n > 0).sort((a, b) => b[0] - a[0]);
    if (chosen.length === 0) return;
    table.append(element('tr', {}, element('td', { textContent: names[k] }),
      element('td', { textContent: chosen.map(([n, j]) => `${names[j]} × ${n}`).join(', ') })));
  });
  const indicators = $('qmul-indicators');
  indicators.replaceChildren(element('tr', {}, ...['epoch', 'gradient cosine', 'moved to the similar label', 'retain accuracy', 'warnings']
    .map((text) => element('th', { scope: 'col', textContent: text }))));
  for (const e of epochs) {
    const q = e.qmul;
    indicators.append(element('tr', {}, ...[
      String(e.epoch),
      q.gradientCosine === null ? '—' : q.gradientCosine.toFixed(2),
      percent(100 * q.movedToSimilar),
      percent(100 * q.retainAccuracy),
      q.warnings.map((w) => w.message).join(' ') || 'none',
    ].map((text) => element('td', { textContent: text }))));
  }
}

async function renderLog() {
  const receipts = await state.store.receipts(KEY);
  const check = await state.store.verify(KEY);
  const chain = $('chain');
  chain.className = check.ok ? 'small ok' : 'small broken';
  chain.dataset.ok = String(check.ok);
  chain.textContent = check.ok
    ? `Receipt chain verified: ${check.count} receipt(s), every seal and every link intact` +
      (check.modelMatchesLastReceipt === false ? ' (the model was trained again since the last forget).' : '.')
    : `Receipt chain BROKEN at receipt ${check.brokenAt + 1}: ${check.reason}`;
  const table = $('log');
  table.replaceChildren(element('tr', {}, ...['#', 'when', 'method', 'items', 'model after', 'receipt'].map((t) => element('th', { scope: 'col', textContent: t }))));
  receipts.forEach((r, i) => {
    const open = element('button', { type: 'button', className: 'secondary', textContent: 'Open' });
    open.dataset.index = String(i);
    open.addEventListener('click', () => showReceipt(r, i));
    table.append(element('tr', {}, ...[
      String(i + 1), new Date(r.createdAt).toLocaleString(), r.method, String(r.forgotten),
      `${r.modelAfterSha256.slice(0, 12)}…`, `${r.sha256.slice(0, 12)}…`,
    ].map((t) => element('td', { textContent: t })), element('td', {}, open)));
  });
  await offerAuditLog(receipts);
}

let auditUrls = [];  // the object URLs of the audit log offered for download

// The audit log as a page for people and as JSON Lines, its signatures checked with this
// browser's device key (receipts from before signing show as unsigned).
async function offerAuditLog(receipts) {
  for (const url of auditUrls) URL.revokeObjectURL(url);
  auditUrls = [];
  $('audit-downloads').hidden = receipts.length === 0;
  if (receipts.length === 0) return;
  const check = { publicKeys: [(await state.store.deviceKey()).publicKey], requireSignatures: false };
  const files = [
    ['audit-html', await exportAudit(receipts, { format: 'html', title: 'qforget demo: audit log', ...check }), 'text/html'],
    ['audit-jsonl', await exportAudit(receipts, { format: 'jsonl' }), 'application/jsonl'],
  ];
  for (const [id, text, type] of files) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    auditUrls.push(url);
    $(id).href = url;
  }
}

let receiptUrl = null;  // the object URL of the receipt offered for download

// One receipt as a person reads it: who, what, when, how, the evidence, and whether the
// forgetting was exact; the whole JSON below it, and a download of that JSON.
function showReceipt(r, index) {
  const short = (hash) => `${hash.slice(0, 16)}…`;
  const m = r.metrics;
  const rows = [
    ['Who', `${r.request?.requestedBy ?? 'not recorded'}; run on this device: qforget ${r.engine.version} (${r.engine.isa} kernels), nothing was sent anywhere` +
      (r.signer ? `; signed with this browser's device key ${short(r.signer.keySha256)}` : '; not signed')],
    ['What', `${r.forgotten} item(s) forgotten; ${r.retained} ${r.exact ? 'sample(s) of the personalization replayed' : 'retain sample(s) used'}`],
    ['When', new Date(r.createdAt).toLocaleString()],
    ['Method', `${METHODS[r.method] ?? r.method} (${r.method}), ${r.epochs.length} epoch(s), ${r.seconds.toFixed(1)} s`],
    ['Evidence', `model ${short(r.modelBeforeSha256)} → ${short(r.modelAfterSha256)}; items ${short(r.forgetSetSha256)}` +
      (m ? `; after: FA ${withInterval(m.FA)}, MIA ${m.MIA ? withInterval(m.MIA) : 'not enough samples'}` : '')],
    ['Exact', r.exact === true ? 'yes: the base model re-personalized without the items (rewind)' : 'no: approximate unlearning (compare it with the exact rewind in step 3)'],
    ['Chain', r.previousSha256 ? `follows receipt ${short(r.previousSha256)}` : 'the first of this log'],
    ['Seal', r.sha256],
  ];
  $('receipt-summary').replaceChildren(...rows.flatMap(([term, text]) => [element('dt', { textContent: term }), element('dd', { textContent: text })]));
  $('receipt-title').textContent = `Receipt ${index + 1}`;
  const json = JSON.stringify(r, null, 2);
  $('receipt').textContent = json;
  if (receiptUrl) URL.revokeObjectURL(receiptUrl);
  receiptUrl = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  $('receipt-download').href = receiptUrl;
  $('receipt-download').download = `qforget-receipt-${r.sha256.slice(0, 12)}.json`;
  $('receipt-view').hidden = false;
  $('receipt-view').dataset.index = String(index);
}

async function renderAccuracy(prefix) {
  const [{ accuracy }, { arch, weightBits }] = await Promise.all([state.model.evaluate(state.sets.test), state.model.describe()]);
  const name = arch === 'custom' ? 'imported' : arch;  // an imported graph's layers are a custom architecture
  status(`${prefix ? `${prefix} ` : ''}The ${weightBits}-bit ${name} model is ${percent(100 * accuracy)} accurate on ` +
         `${state.sets.test.shape[0]} test pictures.`);
  $('status').dataset.accuracy = String(accuracy);
}

/**
 * Makes `model` the page's model in place of the current one (disposed): stored under KEY
 * with a new, empty receipt log, and nothing personalized yet, so no exact reference until
 * it is personalized here.
 */
async function replaceModel(model, message) {
  await state.store.delete(KEY);
  await state.model.dispose();
  state.model = model;
  await state.store.saveModel(KEY, model);
  state.personalizedBytes = await model.save();
  state.personalizedHistory = await model.history();
  state.fitData = [];
  $('forget-result').hidden = true;
  await renderLog();
  await renderItems();
  await renderAccuracy(message);
}

async function reset() {
  await replaceModel(await state.qf.loadModel(state.preparedBytes), 'Reset to the prepared model.');
  $('onnx-report').textContent = '';
}

// --- ONNX --------------------------------------------------------------------------------

let onnxUrl = null;  // the object URL of the last ONNX file offered for download

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

// The model as it is now, as an ONNX file: QDQ (its integer weights and grids). A model
// never trained here has no input grid yet (an imported float graph): its float form then.
async function downloadOnnx() {
  let bytes, note = '';
  try {
    bytes = await state.model.toOnnx();
  } catch (error) {
    if (!(error instanceof QforgetError && error.code === 'FAILED_PRECONDITION')) throw error;
    bytes = await state.model.toOnnx({ format: 'float' });
    note = ` with float weights (not QDQ: ${error.message})`;
  }
  const name = `qforget-${hex(await crypto.subtle.digest('SHA-256', bytes)).slice(0, 12)}.onnx`;
  if (onnxUrl) URL.revokeObjectURL(onnxUrl);
  onnxUrl = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  element('a', { href: onnxUrl, download: name }).click();
  status(`Exported the model as ONNX${note}: ${name}, ${(bytes.length / 1024).toFixed(0)} KiB.`);
}

// An ONNX file as the page's model, if it takes 28 × 28 × 1 pictures and has 10 classes;
// otherwise (or if the engine refuses it) the current model stays.
async function loadOnnx(file) {
  status(`Importing ${file.name}…`);
  const model = await state.qf.importOnnx(new Uint8Array(await file.arrayBuffer()), ONNX_IMPORT);
  const shape = model.inputShape.join(' × ');
  if (shape !== '28 × 28 × 1' || model.numClasses !== state.manifest.classNames.length) {
    await model.dispose();
    throw new Error(`${file.name} takes ${shape} samples and has ${model.numClasses} classes; ` +
                    `this page needs 28 × 28 × 1 pictures and ${state.manifest.classNames.length} classes`);
  }
  await replaceModel(model, `Loaded ${file.name}.`);
  renderImportReport(file.name, model.imported);
}

// What the engine made of the graph, in a line: who wrote it, its opset, layers, what it dropped.
function renderImportReport(name, r) {
  const dropped = r.dropped.map((d) => `${d.op} "${d.node}" (${d.why})`);
  const report = $('onnx-report');
  report.textContent = `${name}: written by ${r.producer || 'an unnamed producer'}, opset ${r.opset}, ` +
    `${r.inputLayout ? `${r.inputLayout.toUpperCase()} ` : ''}input, ${r.layers} layer(s)` +
    (r.quantized.weights ? `, ${r.quantized.weights} with the file's int8 weights` : '') +
    `; dropped: ${dropped.join(', ') || 'nothing'}.`;
  Object.assign(report.dataset, { producer: r.producer, opset: String(r.opset), dropped: String(r.dropped.length) });
}

// --- compare -----------------------------------------------------------------------------

let compareController = null;

// Runs the checked methods, each on its own copy of the personalized model, and measures
// each against the exact reference: the base model re-personalized without the items.
async function compare() {
  const methods = [...$('compare-methods').querySelectorAll('input:checked')].map((input) => input.value);
  const forgetSet = datasetOf(state.items);
  const test = state.sets.test;
  const base = state.personalizedBytes;
  const progress = $('compare-progress');
  progress.hidden = false;
  progress.max = methods.length + 1;
  progress.value = 0;
  compareController = new AbortController();
  const { signal } = compareController;
  $('compare-cancel').disabled = false;
  const table = $('compare-table');
  table.replaceChildren();
  const models = [];
  try {
    status('Comparing: first the exact reference, the base model re-personalized without your items…');
    const reference = await exactReference(forgetSet, base, state.personalizedHistory, signal);
    if (reference.why) {
      status(`Compare needs the exact reference, which cannot be built: ${reference.why}. Personalize the model with your items first.`);
      return;
    }
    models.push(reference.model);
    const heldOutRetain = heldOutRetainSet();  // RA on samples no method trained on
    const measure = (model) => state.qf.unlearningMetrics(model, { forget: forgetSet, retain: heldOutRetain, test, reference: reference.model, signal });
    const results = [{ method: 'rewind', metrics: await measure(reference.model), seconds: reference.receipt.seconds }];
    progress.value = 1;
    for (const method of methods) {
      status(`Comparing: ${NAMES[method]}…`);
      const model = await state.qf.loadModel(base);
      models.push(model);
      const receipt = await model.forget(forgetSet, { ...forgetOptions(method), lr: DEFAULT_LR[method] ?? LR, signal });
      results.push({ method, metrics: await measure(model), seconds: receipt.seconds });
      progress.value += 1;
    }
    table.append(element('tr', {}, ...['method', 'FA', 'RA', 'TA', 'MIA', 'AG (gap to the reference, points)', 'time'].map((t) => element('th', { scope: 'col', textContent: t }))));
    for (const { method, metrics, seconds } of results) {
      const row = element('tr', { className: method === 'rewind' ? 'reference' : '' }, element('th', { scope: 'row', textContent: NAMES[method] }),
        ...['FA', 'RA', 'TA', 'MIA'].map((k) => metricCell(metrics, k, { reference: method === 'rewind' })),
        element('td', { textContent: (100 * metrics.AG).toFixed(2) }),
        element('td', { textContent: `${seconds.toFixed(1)} s` }));
      row.dataset.method = method;
      row.dataset.ag = String(100 * metrics.AG);
      table.append(row);
    }
    $('compare-result').hidden = false;  // before the chart: uPlot sizes it once visible
    methodsChart($('compare-chart'), results.map(({ method, metrics, seconds }) =>
      ({ label: NAMES[method], seconds, gap: 100 * metrics.AG, reference: method === 'rewind' })));
    const rewindSeconds = results[0].seconds;
    const best = results.slice(1).sort((a, b) => a.metrics.AG - b.metrics.AG)[0];
    status(`Compared ${methods.length} method(s) against the exact reference (${rewindSeconds.toFixed(1)} s to rebuild).` +
      (best ? ` Closest: ${NAMES[best.method]}, ${(100 * best.metrics.AG).toFixed(2)} points away, in ${best.seconds.toFixed(1)} s.` : ''));
  } finally {
    for (const m of models) await m.dispose();
    $('compare-cancel').disabled = true;
    compareController = null;
    if (progress.value < progress.max) [progress.value, progress.hidden] = [0, true];  // cancelled or failed
  }
}

// --- start -------------------------------------------------------------------------------

function buildControls() {
  const select = $('method');
  for (const [value, text] of Object.entries(METHODS)) select.append(element('option', { value, textContent: text }));
  const showOptions = () => {
    const method = select.value;
    // auto runs Q-MUL when it does not rewind: Q-MUL's options; a rewind replays the
    // personalization with its own options, so the training fields go.
    const shown = method === 'auto' ? 'qmul' : method;
    for (const label of $('forget-form').querySelectorAll('label[data-for]')) label.hidden = label.dataset.for !== shown;
    for (const id of ['forget-epochs', 'forget-lr', 'retain-count']) $(id).closest('label').hidden = EXACT.includes(method);
    $('forget-lr').value = String(DEFAULT_LR[method] ?? LR);
  };
  select.addEventListener('change', showOptions);
  showOptions();
  const fieldset = $('compare-methods');
  for (const value of Object.keys(NAMES).filter((m) => m !== 'rewind')) {
    const input = element('input', { type: 'checkbox', value, checked: ['qmul', 'ft', 'rl', 'salun', 'oeu'].includes(value) });
    fieldset.append(element('label', {}, input, ` ${NAMES[value]}`));
  }
  $('upload').addEventListener('change', (event) => addUploads([...event.target.files]));
  $('clear-items').addEventListener('click', clearItems);
  $('personalize').addEventListener('click', () => operation('Personalizing', personalize));
  $('forget-run').addEventListener('click', () => operation('Forgetting', forgetMyData));
  $('forget-cancel').addEventListener('click', () => forgetController?.abort());
  $('compare-run').addEventListener('click', () => operation('Comparing', compare));
  $('compare-cancel').addEventListener('click', () => compareController?.abort());
  $('reset').addEventListener('click', () => operation('Resetting', reset));
  $('onnx-download').addEventListener('click', () => operation('Exporting to ONNX', downloadOnnx));
  $('onnx-load').addEventListener('change', (event) => {
    const [file] = event.target.files;
    event.target.value = '';  // the same file may be picked again
    if (file) operation('Loading the ONNX model', () => loadOnnx(file));
  });
}

async function start() {
  const params = new URLSearchParams(location.search);
  const simd = params.get('simd') === '0' ? false : 'auto';
  const threads = params.has('threads') ? Number(params.get('threads')) : 'auto';
  const [manifest, qf, store] = await Promise.all([
    fetch(new URL('manifest.json', DATA)).then((r) => {
      if (!r.ok) throw new Error('the demo data is missing: run npm start, which prepares it');
      return r.json();
    }),
    createQforgetWorker({ simd, threads }),
    openStorage('qforget-demo'),
  ]);
  Object.assign(state, { manifest, qf, store });
  const build = { threads: 'WebAssembly SIMD with threads', simd: 'WebAssembly SIMD', nosimd: 'WebAssembly without SIMD' }[qf.build];
  const threadCount = `${qf.threads} thread${qf.threads === 1 ? '' : 's'}`;
  $('engine').textContent = `Engine ${qf.version}, ${build} build, ${threadCount}, in a worker.` + (qf.threadsReason ? ` (${qf.threadsReason}.)` : '');
  document.body.dataset.simd = String(qf.simd);
  document.body.dataset.threads = String(qf.threads);
  const [train, gallery, test, preparedBytes] = await Promise.all([loadSet('train'), loadSet('gallery'), loadSet('test'), fetchBytes('model.qfm')]);
  Object.assign(state.sets, { train, gallery, test });
  state.preparedBytes = preparedBytes;
  buildControls();
  renderGallery();
  let restored = false;
  if (await store.has(KEY)) {
    try {
      state.model = await store.loadModel(qf, KEY);
      restored = true;
    } catch (error) {
      console.warn(`the stored model could not be loaded (${error.message}); starting from the prepared one`);
    }
  }
  if (!state.model) {
    state.model = await qf.loadModel(preparedBytes);
    await store.saveModel(KEY, state.model);
  }
  state.personalizedBytes = await state.model.save();
  state.personalizedHistory = await state.model.history();
  await renderLog();
  await renderAccuracy(restored ? 'Restored your model and its receipt log from this browser\'s storage.' : 'Ready.');
  document.body.dataset.ready = 'true';
  updateButtons();
}

start().catch((error) => {
  status(`The demo could not start: ${error.message}`);
  console.error(error);
});
