// `qforget poc`: the unlearning experiment of bench/experiment.mjs on the user's own data.
// It holds out a validation split, trains (or loads) the original, retrains the reference
// without the forget request, runs each method with a small step-size sweep, measures every
// model with qf.unlearningMetrics, and recommends a method within a time budget; report.json
// and report.html are rewritten after every stage, so a stop leaves a partial report. The
// metrics are the engine's; here only the order of the work and its bookkeeping.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { createQforget, QforgetError } from '../web/index.js';
import { withoutClass } from '../web/datasets.js';
import { loadDataset, onnxImportOptions, sampleOf, subset } from './datasets.mjs';
import { InputError } from './input_error.mjs';
import { Progress } from './progress.mjs';
import { forgetSettings, PROTOCOLS, RECIPE } from './protocols.mjs';
import { costs, fixed, givenUp, recommend } from './recommend.mjs';
import { renderReport } from './report.mjs';

export const POC_HELP = `Usage: qforget poc --data <path> [options]

Runs unlearning on your data and recommends a method: holds out a validation split, trains
(or loads) the original model, retrains a reference without the forget request, runs each
method at three step sizes, and writes report.json and report.html to --out.

  --data <path>        a folder of IDX files (*-images-idx3-ubyte[.gz] + *-labels-idx1-ubyte[.gz]),
                       a folder of PNG/JPEG images with labels.csv (header file,label),
                       a folder with x.npy + y.npy, or an .npz holding arrays x and y
  --model <m>          an architecture (mlp, lenet, resnet8, mobilenetv2), a qforget model
                       file (.qfm) or an ONNX file (.onnx, fine-tuned on the data) (lenet)
  --bits <b>           weight bits of a model trained or imported here: 2, 3, 4, 8, 32 (4)
  --request <r>        random:<fraction>, class:<k> or ids:<file> (row indices, one per
                       line or a JSON array) (random:0.1)
  --methods <list>     comma-separated: qmul, rl, salun, ft, ga, l1sparse, bs, oeu (qmul,rl,salun)
  --budget <p>%        the time a method may take, as a percentage of retraining's (10%)
  --validation <f>     the fraction held out from everything as the metrics' test set (0.1)
  --epochs <e>         epochs of the original's training and of the retrain (${RECIPE.epochs})
  --lr <lr>            their learning rate (${RECIPE.lr})
  --batch-size <b>     their batch size (${RECIPE.batchSize})
  --seed <s>           the seed of the split, the request, the models and the methods (1)
  --limit <n>          use the first n samples only (0: all)
  --threads <t>        engine threads: auto or 1 to 16 (auto)
  --out <dir>          where report.json and report.html go (qforget-poc)
  -h, --help           this text

Ctrl-C stops after writing the partial report (exit code 130).`;

const ARCHS = ['mlp', 'lenet', 'resnet8', 'mobilenetv2'];
const METHODS = ['qmul', 'rl', 'salun', 'ft', 'ga', 'l1sparse', 'bs', 'oeu'];
/** The step sizes each method runs at, as multiples of its tuned (or default) lr. */
const LR_SWEEP = [0.5, 1, 2];
/** model.forget's lr when the short protocol tunes none (README, "Entry points and options"). */
const ENGINE_FORGET_LR = 0.01;
/**
 * The work of one sample through unlearningMetrics, in training-sample units: forward
 * passes only (about a third of a training step), through the model, the reference and a
 * re-quantized copy.
 */
const METRICS_WEIGHT = 1;

const FLAGS = {
  data: { type: 'string' },
  model: { type: 'string', default: 'lenet' },
  bits: { type: 'string', default: '4' },
  request: { type: 'string', default: 'random:0.1' },
  methods: { type: 'string', default: 'qmul,rl,salun' },
  budget: { type: 'string', default: '10%' },
  validation: { type: 'string', default: '0.1' },
  epochs: { type: 'string', default: String(RECIPE.epochs) },
  lr: { type: 'string', default: String(RECIPE.lr) },
  'batch-size': { type: 'string', default: String(RECIPE.batchSize) },
  seed: { type: 'string', default: '1' },
  limit: { type: 'string', default: '0' },
  threads: { type: 'string', default: 'auto' },
  out: { type: 'string', default: 'qforget-poc' },
  help: { type: 'boolean', short: 'h', default: false },
};

/**
 * Runs the command with `argv` (the words after `poc`). Resolves to the exit code: 0 done,
 * 130 stopped by Ctrl-C (the partial report written). Bad input rejects with an InputError
 * or a QforgetError, whose message is the one line to show.
 */
export async function runPoc(argv, { stdout = process.stdout, stderr = process.stderr } = {}) {
  const flags = parseFlags(argv);
  if (flags.help) {
    stdout.write(`${POC_HELP}\n`);
    return 0;
  }
  const qf = await createQforget({ threads: flags.threads });
  const data = loadDataset(qf, flags.data, { limit: flags.limit });
  const source = modelSource(qf, flags, data);
  const sets = splitSets(qf, data, flags);
  const report = newReport(qf, flags, data, sets, source);
  const save = () => saveReport(flags.out, report);
  const progress = new Progress(stderr, plannedWork(flags, sets, source));
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  let stage = 'starting';
  const step = (name, label, units) => {
    if (stop.signal.aborted) throw new QforgetError('ABORTED', 'stopped');
    stage = name;
    progress.start(label, units);
  };
  const run = { qf, flags, sets, signal: stop.signal, progress };
  try {
    save();
    step('original', source.trains ? 'training the original' : 'loading the original', source.trains ? flags.epochs * sets.train.shape[0] : 0);
    const original = await trainOriginal(run, source);
    report.original = { ...report.original, seconds: original.seconds };
    save();

    step('retrain', 'retraining the reference', flags.epochs * sets.retain.shape[0]);
    const reference = await trainReference(run, source);
    report.retrain = { seconds: reference.seconds, epochs: flags.epochs, samples: sets.retain.shape[0] };
    save();

    step('retrain metrics', 'measuring the reference', metricsWork(sets));
    report.retrain = { ...report.retrain, ...(await measured(run, reference.model, null)) };
    step('original metrics', 'measuring the original', metricsWork(sets));
    report.runs.push({ method: 'original', lr: null, epochs: 0, retainSample: 0, seconds: 0, percentOfRetrain: 0, ...(await measured(run, original.model, reference.model)) });
    save();
    const originalBytes = original.model.save();
    original.model.dispose();

    for (const method of flags.methods) {
      const { retainSample, options } = forgetSettings(PROTOCOLS.short, method, flags.request.text);
      for (const multiple of LR_SWEEP) {
        const lr = Number(((options.lr ?? ENGINE_FORGET_LR) * multiple).toPrecision(6));
        const label = `${method} at lr ${lr}`;
        step(`${method} lr ${lr}`, label, options.epochs * (sets.forget.shape[0] + retainSample * sets.retain.shape[0]) + metricsWork(sets));
        const row = await methodRun(run, { originalBytes, reference: reference.model, retainSample, options: { ...options, lr } });
        report.runs.push({ ...row, percentOfRetrain: row.seconds === null ? null : Number((100 * row.seconds / reference.seconds).toFixed(3)) });
        save();
      }
    }
    reference.model.dispose();

    const originalRow = report.runs[0];
    report.recommendation = recommend(report.runs, { retrainSeconds: reference.seconds, budget: flags.budget });
    report.costs = costs(report.recommendation, { original: originalRow, retrainSeconds: reference.seconds, forgetSamples: sets.forget.shape[0] });
    report.complete = true;
    save();
    progress.end();
    stdout.write(summary(report, flags.out));
    return 0;
  } catch (error) {
    if (!stop.signal.aborted) throw error;
    // Ctrl-C: whatever was running stopped with ABORTED and kept nothing; the report keeps
    // the stages finished before it.
    progress.end();
    report.stoppedAt = stage;
    save();
    stderr.write(`qforget poc: stopped during ${stage}; the partial report is ${path.join(flags.out, 'report.html')} (and report.json)\n`);
    return 130;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

// --- Flags -------------------------------------------------------------------------------

/** The command line, checked: every value parsed, or an InputError naming the flag. */
export function parseFlags(argv) {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    // node:util's messages name the flag ("Unknown option '--foo'..."); keep their first sentence.
    throw new InputError(`${error.message.split('. ')[0].replace(/\.$/, '')}; see qforget poc --help`);
  }
  if (values.help) return { help: true };
  if (values.data === undefined) throw new InputError('--data is required: a folder of images with labels.csv, of IDX files, of x.npy + y.npy, or an .npz');
  const number = (name, check, what) => {
    const value = Number(values[name]);
    if (values[name].trim() === '' || !check(value)) throw new InputError(`--${name} must be ${what}, got '${values[name]}'`);
    return value;
  };
  const positiveInteger = (v) => Number.isSafeInteger(v) && v > 0;
  const budget = /^(\d+(?:\.\d+)?)%$/.exec(values.budget.trim());
  if (!budget || !(Number(budget[1]) > 0)) throw new InputError(`--budget must be a percentage of retraining's time such as 10%, got '${values.budget}'`);
  const methods = values.methods.split(',').map((m) => m.trim()).filter(Boolean);
  const unknown = methods.find((m) => !METHODS.includes(m));
  if (unknown !== undefined || methods.length === 0) throw new InputError(`--methods: '${unknown ?? ''}' is not a method; use some of ${METHODS.join(', ')}`);
  return {
    data: values.data,
    model: values.model,
    bits: number('bits', (v) => [2, 3, 4, 8, 32].includes(v), '2, 3, 4, 8 or 32'),
    request: requestOf(values.request),
    methods: [...new Set(methods)],
    budget: Number(budget[1]) / 100,
    validation: number('validation', (v) => v > 0 && v < 1, 'a fraction between 0 and 1'),
    epochs: number('epochs', positiveInteger, 'a positive integer'),
    lr: number('lr', (v) => v > 0, 'a positive number'),
    batchSize: number('batch-size', positiveInteger, 'a positive integer'),
    seed: number('seed', (v) => Number.isSafeInteger(v) && v >= 0, 'an integer ≥ 0'),
    limit: number('limit', (v) => Number.isSafeInteger(v) && v >= 0, 'an integer ≥ 0 (0: all samples)'),
    threads: values.threads === 'auto' ? 'auto' : number('threads', (v) => Number.isSafeInteger(v) && v >= 1 && v <= 16, 'auto or 1 to 16'),
    out: values.out,
    argv,
  };
}

/** --request: {text, kind, fraction | class | idsFile}. The ids file is read with the data. */
function requestOf(text) {
  const [kind, value = ''] = [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)];
  if (kind === 'random' && Number(value) > 0 && Number(value) < 1) return { text, kind, fraction: Number(value) };
  if (kind === 'class' && /^\d+$/.test(value)) return { text, kind, class: Number(value) };
  if (kind === 'ids' && value !== '') return { text, kind, idsFile: value };
  throw new InputError(`--request must be random:<fraction between 0 and 1>, class:<k> or ids:<file>, got '${text}'`);
}

/** The dataset rows an ids:<file> request names: a JSON array, or one integer per line. */
function requestedRows(file, samples) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`--request ids:${file}: cannot read it (${error.code ?? error.message})`);
  }
  const entries = text.trim().startsWith('[') ? jsonArray(file, text) : text.split(/\r?\n/).map((line, i) => ({ where: `line ${i + 1}`, value: line.trim() })).filter((e) => e.value !== '');
  const rows = entries.map(({ where, value }) => {
    const row = /^\d+$/.test(String(value)) ? Number(value) : NaN;
    if (!(row < samples)) throw new InputError(`${file} ${where}: '${value}' is not a row of the dataset (an integer from 0 to ${samples - 1})`);
    return row;
  });
  if (rows.length === 0) throw new InputError(`${file} names no rows`);
  return [...new Set(rows)];
}

function jsonArray(file, text) {
  let array;
  try {
    array = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file} is not a JSON array (${error.message})`);
  }
  if (!Array.isArray(array)) throw new InputError(`${file} is not a JSON array`);
  return array.map((value, i) => ({ where: `entry ${i}`, value }));
}

// --- The data: validation split and the request ------------------------------------------

/**
 * The sets of the run: the validation split (held out from everything: the metrics' test
 * set), the training set D and its forget and retain sets. An ids request's rows are kept
 * out of the validation split, so every requested row is forgotten.
 */
function splitSets(qf, data, flags) {
  const n = data.shape[0];
  const requested = flags.request.kind === 'ids' ? requestedRows(flags.request.idsFile, n) : [];
  if (flags.request.kind === 'class' && !(flags.request.class < data.numClasses)) {
    throw new InputError(`--request ${flags.request.text}: the data's classes are 0 to ${data.numClasses - 1}`);
  }
  const isRequested = new Uint8Array(n);
  for (const row of requested) isRequested[row] = 1;
  const candidates = [...Array(n).keys()].filter((row) => !isRequested[row]);
  const { forgetIds: picked } = qf.resolveScenario(data.y.constructor.from(candidates, (row) => data.y[row]), `random:${flags.validation}`, { numClasses: data.numClasses, seed: flags.seed });
  const isValidation = new Uint8Array(n);
  for (const i of picked) isValidation[candidates[i]] = 1;
  const trainRows = [...Array(n).keys()].filter((row) => !isValidation[row]);
  const train = subset(data, trainRows);
  const validation = subset(data, [...Array(n).keys()].filter((row) => isValidation[row]));
  // The engine resolves the request on D: an ids request's rows become positions in D.
  const positionInTrain = new Map(trainRows.map((row, i) => [row, i]));
  const scenario = flags.request.kind === 'ids' ? `ids:[${requested.map((row) => positionInTrain.get(row)).join(',')}]` : flags.request.text;
  const split = qf.resolveScenario(train.y, scenario, { numClasses: data.numClasses, seed: flags.seed });
  if (split.retainIds.length === 0) throw new InputError(`--request ${flags.request.text} forgets every training sample; nothing would be left to retrain on`);
  return {
    numClasses: data.numClasses,
    train,
    validation,
    forget: subset(train, split.forgetIds),
    retain: subset(train, split.retainIds),
    // A class request's metrics leave the class out of the test set, as its receipts do.
    test: split.excludedClass === null ? validation : withoutClass(validation, split.excludedClass),
    excludedClass: split.excludedClass,
  };
}

// --- The models --------------------------------------------------------------------------

/**
 * Where the original comes from, checked against the data: `fresh(seed)` makes the untrained
 * model the original and the reference start from; `loaded` is a .qfm's model (the original
 * as it is); `trains` whether the original is trained here.
 */
function modelSource(qf, flags, data) {
  const name = flags.model;
  const sampleShape = data.shape.slice(1);
  if (ARCHS.includes(name)) {
    const spec = { arch: name, inputShape: sampleShape, inputType: data.inputType, numClasses: data.numClasses, weightBits: flags.bits };
    engineCall(`--model ${name}`, () => qf.createModel({ ...spec, seed: flags.seed }).dispose());
    return { kind: 'arch', name, trains: true, fresh: (seed) => qf.createModel({ ...spec, seed }) };
  }
  if (name.endsWith('.qfm')) {
    const loaded = engineCall(`--model ${name}`, () => qf.loadModel(readModelFile(name)));
    checkFits(name, loaded, data);
    // The reference starts from a fresh model of the file's architecture: describe() lists
    // a built-in one's layers too, which createModel takes for 'custom' only.
    const { layers, ...spec } = loaded.describe();
    const fresh = (seed) => qf.createModel({ ...spec, ...(spec.arch === 'custom' && { layers }), seed });
    engineCall(`--model ${name}`, () => fresh(flags.seed).dispose());
    return { kind: 'qfm', name, trains: false, loaded, fresh };
  }
  if (name.endsWith('.onnx')) return onnxSource(qf, flags, data);
  throw new InputError(`--model must be one of ${ARCHS.join(', ')}, a .qfm model file or an .onnx file, got '${name}'`);
}

/** An ONNX file's model, imported at --bits (onnxImportOptions) and fine-tuned on the data. */
function onnxSource(qf, flags, data) {
  const bytes = readModelFile(flags.model);
  const options = onnxImportOptions(data.inputType, flags.bits);
  return {
    kind: 'onnx', name: flags.model, trains: true,
    fresh: async (seed) => {
      const model = await engineCall(`--model ${flags.model}`, () => qf.importOnnx(bytes, { ...options, seed }));
      checkFits(flags.model, model, data);
      return model;
    },
  };
}

function readModelFile(file) {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (error) {
    throw new InputError(`--model ${file}: cannot read it (${error.code ?? error.message})`);
  }
}

/** `fn()`, its QforgetError (the engine refusing the model) made a line naming `what`. */
function engineCall(what, fn) {
  const fail = (error) => {
    if (error instanceof QforgetError) throw new InputError(`${what}: ${error.message}`);
    throw error;
  };
  try {
    const result = fn();
    return result instanceof Promise ? result.catch(fail) : result;
  } catch (error) {
    return fail(error);
  }
}

/** Refuses a model whose input or classes are not the data's, naming both. */
function checkFits(file, model, data) {
  const sample = data.shape.slice(1);
  if (model.inputShape.join() === sample.join() && model.inputType === data.inputType && model.numClasses >= data.numClasses) return;
  model.dispose();
  throw new InputError(`${file} takes ${model.inputType} samples of shape [${model.inputShape}] with ${model.numClasses} classes, but ${data.source} has ${data.inputType} samples of shape [${sample}] with labels up to ${data.numClasses - 1}; use a model made for this data or --model <arch> to train one`);
}

/** The original: the loaded .qfm as it is, or the starting model trained on D with the recipe. */
async function trainOriginal(run, source) {
  if (!source.trains) return { model: source.loaded, seconds: null };
  return fitted(run, source, run.sets.train);
}

/** The reference: the same starting model trained on D_r alone (its time is retraining's). */
function trainReference(run, source) {
  return fitted(run, source, run.sets.retain);
}

async function fitted({ flags, signal, progress }, source, ds) {
  const started = performance.now();
  const model = await source.fresh(flags.seed);
  try {
    const recipe = { ...RECIPE, epochs: flags.epochs, lr: flags.lr, batchSize: flags.batchSize, seed: flags.seed };
    await model.fit(ds, { ...recipe, signal, onProgress: (e) => progress.update(e.epoch / flags.epochs, `epoch ${e.epoch}/${flags.epochs}`) });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, seconds: (performance.now() - started) / 1000 };
}

// --- Methods and metrics -----------------------------------------------------------------

/** One method at one step size on a fresh copy of the original: its row (metrics in points). */
async function methodRun(run, { originalBytes, reference, retainSample, options }) {
  const { qf, flags, sets, signal, progress } = run;
  const model = qf.loadModel(originalBytes);
  const row = { method: options.method, lr: options.lr, epochs: options.epochs, retainSample };
  try {
    const retain = sampleOf(qf, sets.retain, retainSample, flags.seed, sets.numClasses);
    const onProgress = (e) => progress.update(0.5 * e.epoch / options.epochs, `epoch ${e.epoch}/${options.epochs}`);
    let receipt;
    try {
      receipt = await model.forget(sets.forget, { ...options, retain, seed: flags.seed, signal, onProgress });
    } catch (error) {
      // A method that fails here (e.g. diverges at the largest step) is a row of the
      // report, not the end of the run.
      if (signal.aborted || !(error instanceof QforgetError)) throw error;
      return { ...row, seconds: null, error: error.message };
    }
    return { ...row, seconds: receipt.seconds, ...(await measured(run, model, reference, 0.5)) };
  } finally {
    model.dispose();
  }
}

/**
 * `model`'s FA, RA, TA and MIA (and AG against `reference`, when given), in points, on the
 * run's forget, retain and test (validation) sets; progress from `start` to 1 of the stage.
 */
async function measured({ qf, flags, sets, signal, progress }, model, reference, start = 0) {
  const stages = ['model', 'reference', 'requantize'];
  const onProgress = ({ stage, batches: [done, total] }) => {
    const at = (stages.indexOf(stage) + (total ? done / total : 0)) / stages.length;
    progress.update(start + (1 - start) * at, `metrics: ${stage}`);
  };
  const m = await qf.unlearningMetrics(model, {
    forget: sets.forget, retain: sets.retain, test: sets.test, ...(reference && { reference }), seed: flags.seed, requantize: true, signal, onProgress,
  });
  const points = (p) => (p === null ? null : 100 * p.value);
  return {
    FA: points(m.FA), RA: points(m.RA), TA: points(m.TA), MIA: points(m.MIA), AG: reference ? 100 * m.AG : 0,
    FARequantized: points(m.FARequantized), miaNote: m.miaAttack.note ?? (m.miaAttack.informative ? null : 'the attack is near chance on this data: MIA says little'),
  };
}

// --- Planning, the report ----------------------------------------------------------------

const metricsWork = (sets) => METRICS_WEIGHT * (sets.forget.shape[0] + sets.retain.shape[0] + sets.test.shape[0]);

/** The planned work of every stage, in samples through a training step (the progress bar's total). */
function plannedWork(flags, sets, source) {
  const train = source.trains ? flags.epochs * sets.train.shape[0] : 0;
  const retrain = flags.epochs * sets.retain.shape[0];
  const methods = flags.methods.reduce((sum, method) => {
    const { retainSample, options } = forgetSettings(PROTOCOLS.short, method, flags.request.text);
    return sum + LR_SWEEP.length * (options.epochs * (sets.forget.shape[0] + retainSample * sets.retain.shape[0]) + metricsWork(sets));
  }, 0);
  return train + retrain + 2 * metricsWork(sets) + methods;
}

function newReport(qf, flags, data, sets, source) {
  return {
    version: 1,
    complete: false,
    createdAt: new Date().toISOString(),
    command: ['qforget', 'poc', ...flags.argv].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`)).join(' '),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? null, node: process.version, threads: qf.threads, build: qf.build },
    data: {
      source: data.source, format: data.format, samples: data.shape[0], classes: sets.numClasses, inputShape: data.shape.slice(1), inputType: data.inputType,
      training: sets.train.shape[0], validation: { fraction: flags.validation, samples: sets.validation.shape[0], testSamples: sets.test.shape[0] },
    },
    request: { text: flags.request.text, kind: flags.request.kind, forgetSamples: sets.forget.shape[0], retainSamples: sets.retain.shape[0], excludedClass: sets.excludedClass },
    original: {
      model: source.name, kind: source.kind, seconds: null,
      ...(source.trains && { bits: flags.bits, recipe: { ...RECIPE, epochs: flags.epochs, lr: flags.lr, batchSize: flags.batchSize } }),
    },
    retrain: null,
    budget: flags.budget,
    runs: [],
    recommendation: null,
    costs: null,
  };
}

function saveReport(dir, report) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(dir, 'report.html'), renderReport(report));
}

/** What the terminal shows at the end: the table, the recommendation, the costs. */
function summary(report, out) {
  const lines = [`${'method'.padEnd(9)} ${'lr'.padStart(7)} ${'seconds'.padStart(8)} ${'%retrain'.padStart(8)}    FA     RA     TA    MIA     AG`];
  const rows = [{ method: 'retrain', lr: null, seconds: report.retrain.seconds, percentOfRetrain: 100, ...report.retrain }, ...report.runs];
  for (const r of rows) {
    const metrics = r.error ? `failed: ${r.error}` : [r.FA, r.RA, r.TA, r.MIA, r.AG].map((v) => fixed(v).padStart(6)).join(' ');
    lines.push(`${r.method.padEnd(9)} ${(r.lr === null ? '' : String(r.lr)).padStart(7)} ${fixed(r.seconds).padStart(8)} ${fixed(r.percentOfRetrain, 1).padStart(8)} ${metrics}`);
  }
  const rec = report.recommendation;
  const c = report.costs;
  lines.push('', rec ? `Recommended: ${rec.method} at lr ${rec.lr}, ${rec.epochs} epochs. ${rec.why}` : `No recommendation: no method finished within twice the budget (${100 * report.budget} % of retraining).`);
  if (rec) lines.push(`Cost: ${fixed(c.secondsPerRequest)} s per forget request of ${c.forgetSamples} samples on this machine (${fixed(c.percentOfRetrain, 1)} % of retraining's ${fixed(c.retrainSeconds, 1)} s); validation accuracy given up: ${givenUp(c.accuracyGivenUp)}.`);
  lines.push(`Report: ${path.join(out, 'report.html')} (and report.json)`, '');
  return lines.join('\n');
}
