// The unlearning experiment runner: trains the original model once per seed (cached),
// retrains the reference without the forget set (cached), runs every method on a copy
// of the original, and prints a table like the Q-MUL paper's: FA, RA, TA, MIA, AG
// (mean ± std over seeds, in points) and run time per method. Everything runs through
// the wasm build under node, on Fashion-MNIST from Debian's package.
//
//   npm run experiment -- --arch lenet --bits 4 [--scheme pow2] --scenario random:0.1 \
//     --methods retrain,ft,ga,rl,l1sparse,salun,bs,qmul,oeu --seeds 3 [--json]
//
// Options: --train-limit N (use the first N training images), --test-limit N,
// --epochs E (the original recipe's epochs; retrain uses the same recipe),
// --protocol full|short (below), --forget-epochs E and --forget-batch-size B (every other
// method; the protocols' batch is 256, sized for the 60,000 images), --retain-sample F
// (the fraction of the retain set the other methods get, a seeded sample; metrics always
// use all of it),
// --method-options JSON (per-method overrides, e.g. '{"qmul":{"qmulMode":"sequential"}}';
// the key retainSample there overrides --retain-sample for that method),
// --validation N (tuning: the last N training images replace the test set and are not
// trained on; defaults are tuned this way, never on the test set),
// --cache DIR (default bench/out/models),
// --train-only original|retrain (fill the cache with that model for each seed and stop:
// two processes, one per model, train a seed's pair on two cores at once).
// --until unseen|accuracy:<a> (every method but retrain and original: forget with options.until,
// --forget-epochs then the most epochs; 'unseen' compares with --holdout N test images,
// default 1,000, set aside from the end of the test set, which TA and the attack no
// longer use; accuracy:<a> is until { forgetAccuracy: a }, for class requests).
// --scheme uniform|asymmetric|pow2|apot|codebook: the weight grid of the layers at --bits.
// --ptq minmax|percentile|mse: the original and the reference are trained in float and then
// quantized (model.quantize, calibrated on 512 of their training samples) at --bits and
// --scheme, instead of trained quantized.
// --json prints one JSON object per method and seed (Q-MUL's with its G_f, G_r, w_f,
// gradient cosine, similar labels and warnings per epoch), then one per method with the means.
// Besides the methods, --methods may name `original`: the original model, unchanged, and
// qmul:<rule>, Q-MUL with qmulSimilarity <rule> (prediction, confusion, embedding, or
// garments: the matrix of bench/fashion_mnist.mjs's GARMENT_NEAREST); plain qmul takes the
// engine's default (prediction).
// Besides the engine's scenarios, --scenario may be user:<n>: one user's forget request,
// n training samples drawn with the seed and passed to the engine as ids:[...].
// --onnx FILE: the original and the retrained reference start from this pretrained float
// ONNX model (qf.importOnnx at --bits, fed the dataset's uint8 pixels scaled by 1/255)
// instead of a fresh createModel, and are then trained with the recipe: the original on D,
// retrain on D_r only (the reference for a fine-tuned pretrained model, whose pretraining
// data must be disjoint from D: bench/torch_lenet.py). --arch then only names the runs;
// the cache keys carry the file's hash.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { createQforget } from '../web/index.js';
import { onnxImportOptions } from '../cli/datasets.mjs';
import { forgetSettings, protocolNamed, RECIPE } from '../cli/protocols.mjs';
import { GARMENT_SIMILARITY, loadFashionMnist, sampleOf, subset, withoutClass } from './fashion_mnist.mjs';
import { unlearningTable } from './unlearning_table.mjs';

const { values: args } = parseArgs({
  options: {
    arch: { type: 'string', default: 'lenet' },
    bits: { type: 'string', default: '4' },
    scheme: { type: 'string', default: 'uniform' },
    ptq: { type: 'string' },
    scenario: { type: 'string', default: 'random:0.1' },
    methods: { type: 'string', default: 'retrain,ft,ga,rl,l1sparse,salun,bs,qmul,oeu' },
    seeds: { type: 'string', default: '3' },
    'first-seed': { type: 'string', default: '1' },
    epochs: { type: 'string', default: '10' },
    protocol: { type: 'string', default: 'full' },
    'forget-epochs': { type: 'string' },
    'forget-batch-size': { type: 'string' },
    'train-limit': { type: 'string', default: '0' },
    'test-limit': { type: 'string', default: '0' },
    'retain-sample': { type: 'string' },
    'method-options': { type: 'string', default: '{}' },
    validation: { type: 'string', default: '0' },
    cache: { type: 'string', default: 'bench/out/models' },
    'train-only': { type: 'string' },
    onnx: { type: 'string' },
    until: { type: 'string' },
    holdout: { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
  },
});
const protocol = protocolNamed(args.protocol);
const trainOnly = args['train-only'];
if (trainOnly !== undefined && trainOnly !== 'original' && trainOnly !== 'retrain') {
  throw new Error(`--train-only must be original or retrain, got '${trainOnly}'`);
}
const num = (name) => {
  const v = Number(args[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number, got '${args[name]}'`);
  return v;
};
const log = (line) => { if (!args.json) process.stderr.write(`${line}\n`); };

const qf = await createQforget();
let train = await loadFashionMnist(qf, 'train', num('train-limit'));
let fullTest = await loadFashionMnist(qf, 'test', num('test-limit'));
if (num('validation') > 0) {
  const n = train.shape[0], v = num('validation');
  fullTest = subset(train, Array.from({ length: v }, (_, i) => n - v + i));
  train = subset(train, Array.from({ length: n - v }, (_, i) => i));
}
const until = untilOption(args.until);
let holdout;  // until 'unseen': test images set aside, never trained on nor measured
if (until === 'unseen') {
  const n = fullTest.shape[0], h = num('holdout');
  if (!(h >= 20 && h < n)) throw new Error(`--holdout must be from 20 to ${n - 1} test images, got ${args.holdout}`);
  holdout = subset(fullTest, Array.from({ length: h }, (_, i) => n - h + i));
  fullTest = subset(fullTest, Array.from({ length: n - h }, (_, i) => i));
}

/** options.until for --until: 'unseen', { forgetAccuracy } from accuracy:<a>, or undefined. */
function untilOption(flag) {
  if (flag === undefined || flag === 'unseen') return flag;
  const accuracy = /^accuracy:([\d.]+)$/.exec(flag);
  if (!accuracy) throw new Error(`--until must be unseen or accuracy:<fraction>, got '${flag}'`);
  return { forgetAccuracy: Number(accuracy[1]) };
}
const spec = { arch: args.arch, inputShape: [28, 28, 1], numClasses: 10, weightBits: num('bits'), weightScheme: args.scheme };
const recipe = { ...RECIPE, epochs: num('epochs') };
const onnx = args.onnx === undefined ? null : await pretrained(args.onnx);
const methods = args.methods.split(',').map((m) => m.trim()).filter(Boolean);
const variants = Object.fromEntries(methods.map((m) => [m, methodVariant(m)]));
const flags = { epochs: args['forget-epochs'], batchSize: args['forget-batch-size'], retainSample: args['retain-sample'], methodOptions: JSON.parse(args['method-options']) };
// Seeds first-seed .. first-seed + seeds - 1 (several processes can train different seeds
// into the shared cache; a final run over all of them then finds every model cached).
const seeds = Array.from({ length: num('seeds') }, (_, i) => i + num('first-seed'));
await mkdir(args.cache, { recursive: true });

/**
 * The pretrained ONNX model at `file`: its bytes, a short hash for the cache keys, and the
 * import options. Fashion-MNIST's samples are [28, 28, 1] uint8 (NHWC); a PyTorch LeNet
 * takes [1, 28, 28] floats (NCHW) = pixel / 255. inputLayout 'nhwc' makes the imported
 * model take [28, 28, 1] (the engine moves channels; with one channel the NCHW and NHWC
 * bytes are the same), and uint8 with scale 1/255 feeds the first layer pixel / 255 on the
 * pixel grid, as a fresh createModel's is. Without 'nhwc' the import would take [1, 28, 28]
 * (the graph's own layout), which the dataset's shape does not match.
 */
async function pretrained(file) {
  const bytes = new Uint8Array(await readFile(file));
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  const options = onnxImportOptions('uint8', spec.weightBits);
  const probe = await qf.importOnnx(bytes, options);
  try {
    if (probe.inputShape.join() !== spec.inputShape.join() || probe.numClasses !== spec.numClasses) {
      throw new Error(`${file} takes ${JSON.stringify(probe.inputShape)} with ${probe.numClasses} classes; the dataset has ${JSON.stringify(spec.inputShape)} and ${spec.numClasses}`);
    }
    log(`${file} (sha256 ${hash}…): ${probe.imported.producer}, opset ${probe.imported.opset}, ${probe.imported.layers} layers`);
  } finally {
    probe.dispose();
  }
  return { file, bytes, hash, options };
}

/**
 * What --methods' entry `name` runs: the engine's method and the options it adds
 * (qmul:<rule> is qmul with qmulSimilarity <rule>).
 */
function methodVariant(name) {
  const [method, rule, ...rest] = name.split(':');
  if (rule === undefined) return { method, options: {} };
  const rules = { prediction: 'prediction', confusion: 'confusion', embedding: 'embedding', garments: GARMENT_SIMILARITY };
  if (method !== 'qmul' || rest.length || !(rule in rules)) {
    throw new Error(`--methods: '${name}' is not a method; only qmul has variants, qmul:<${Object.keys(rules).join('|')}>`);
  }
  return { method, options: { qmulSimilarity: rules[rule] } };
}

/**
 * The untrained model a run starts from: fresh, or the pretrained ONNX model imported; with
 * --ptq, a float model (quantized after its training, by quantizedAfter).
 */
async function startingModel(seed) {
  const bits = args.ptq === undefined ? spec.weightBits : 32;
  if (onnx) return qf.importOnnx(onnx.bytes, { ...onnx.options, weightBits: bits, seed });
  return qf.createModel({ ...spec, weightBits: bits, weightScheme: bits === 32 ? 'uniform' : spec.weightScheme, seed });
}

/** With --ptq: `model` (float, trained on ds) quantized at --bits and --scheme, calibrated on ds's first 512 samples. */
function quantizedAfter(model, ds) {
  if (args.ptq === undefined) return model;
  const calibration = subset(ds, Array.from({ length: Math.min(512, ds.shape[0]) }, (_, i) => i));
  try {
    return model.quantize({ calibration, bits: spec.weightBits, scheme: spec.weightScheme, method: args.ptq });
  } finally {
    model.dispose();
  }
}

/** A model trained on `ds` with the recipe, cached under `key` (a file name). */
async function trained(key, ds, seed) {
  const file = path.join(args.cache, `${key}.qfm`);
  const timing = path.join(args.cache, `${key}.json`);  // how long the cached training took
  try {
    const model = qf.loadModel(new Uint8Array(await readFile(file)));
    const { seconds = null } = JSON.parse(await readFile(timing, 'utf8').catch(() => '{}'));
    return { model, seconds, cached: true };
  } catch {
    const started = performance.now();
    const float = await startingModel(seed);
    await float.fit(ds, { ...recipe, seed, onProgress: (e) => log(`  ${key}: epoch ${e.epoch} loss ${e.loss.toFixed(4)}`) });
    const model = quantizedAfter(float, ds);
    const seconds = (performance.now() - started) / 1000;
    await writeFile(file, model.save());
    await writeFile(timing, JSON.stringify({ seconds }));
    return { model, seconds, cached: false };
  }
}

/** The engine's scenario for `scenario`: user:<n> becomes ids:[n seeded training ids]. */
function engineScenario(scenario, seed) {
  const user = /^user:(\d+)$/.exec(scenario);
  if (!user) return scenario;
  const n = train.shape[0];
  const { forgetIds } = qf.resolveScenario(train.y, `random:${Number(user[1]) / n}`, { numClasses: 10, seed });
  return `ids:[${forgetIds.join(',')}]`;
}

const rows = [];  // {method, seed, FA, RA, TA, MIA, AG, JS, seconds, cached}
// Uniform QAT models keep the names they always had.
const scheme = `${spec.weightScheme === 'uniform' ? '' : `-${spec.weightScheme}`}${args.ptq === undefined ? '' : `-ptq${args.ptq}`}`;
const base = `${spec.arch}${onnx ? `-onnx${onnx.hash}` : ''}-${spec.weightBits}${scheme}-n${train.shape[0]}-e${recipe.epochs}${num('validation') > 0 ? '-val' : ''}`;
for (const seed of seeds) {
  let originalBytes = null;
  if (trainOnly !== 'retrain') {
    log(`seed ${seed}: original model`);
    const original = await trained(`${base}-seed${seed}`, train, seed);
    originalBytes = original.model.save();
    original.model.dispose();
    if (trainOnly === 'original') continue;
  }
  const split = qf.resolveScenario(train.y, engineScenario(args.scenario, seed), { numClasses: 10, seed });
  const forget = subset(train, split.forgetIds);
  const retain = subset(train, split.retainIds);
  const test = split.excludedClass === null ? fullTest : withoutClass(fullTest, split.excludedClass);
  log(`seed ${seed}: ${args.scenario} forgets ${forget.shape[0]} of ${train.shape[0]} samples; reference retrain`);
  const scenarioKey = args.scenario.replace(/[^a-z0-9.]+/gi, '_');
  const reference = await trained(`${base}-seed${seed}-retrain-${scenarioKey}`, retain, seed);
  if (trainOnly === 'retrain') {
    reference.model.dispose();
    continue;
  }
  for (const name of methods) {
    const { method, options: variantOptions } = variants[name];
    let model = reference.model;
    let { seconds, cached } = reference;
    let retained = retain.shape[0];  // the retain samples the method trained on
    let settings = null;  // what model.forget got, for the log
    let qmul;  // Q-MUL's reweighting per epoch, for the log
    if (method === 'original') {
      // The baseline: the original model itself, unchanged (what doing nothing scores).
      model = qf.loadModel(originalBytes);
      [seconds, retained, cached] = [0, 0, true];
    } else if (method !== 'retrain') {
      model = qf.loadModel(originalBytes);
      try {
        const { retainSample, options: protocolOptions } = forgetSettings(protocol, method, args.scenario, flags);
        const options = { ...protocolOptions, ...variantOptions };
        settings = { retainSample, ...options, ...(until && { until }) };
        const stopping = until === undefined ? {} : { until, ...(holdout && { holdout }) };
        const result = await model.forget(forget, { retain: sampleOf(qf, retain, retainSample, seed), seed, ...options, ...stopping });
        if (result.until) Object.assign(settings, { untilOutcome: result.until, untilReadings: result.epochs.map((e) => e.until) });
        seconds = result.seconds;
        retained = result.retained;
        if (method === 'qmul') {
          qmul = result.epochs.map(({ qmul: { gForget, gRetain, wForget, gradientCosine, movedToSimilar, similarFallbacks, similarLabels, warnings } }) => (
            { gForget, gRetain, wForget, gradientCosine, movedToSimilar, similarFallbacks, similarLabels, warnings: warnings.map((w) => w.kind) }));
        }
        cached = false;
      } catch (error) {
        // A method that fails (e.g. diverges) is reported and the others still run.
        log(`  ${name.padEnd(9)} FAILED: ${error.message}`);
        if (args.json) console.log(JSON.stringify({ event: 'failed', method: name, seed, code: error.code, message: error.message }));
        model.dispose();
        continue;
      }
    }
    const m = await qf.unlearningMetrics(model, { forget, retain, test, reference: reference.model, seed, requantize: true });
    // The tables are in points, as the papers' are; the API gives fractions.
    const points = (p) => (p === null ? null : 100 * p.value);
    const row = {
      method: name, seed, FA: points(m.FA), FARequantized: points(m.FARequantized), RA: points(m.RA), TA: points(m.TA), MIA: points(m.MIA),
      miaAttackAccuracy: points(m.miaAttack.accuracy), AG: 100 * m.AG, JS: m.JS, seconds, cached, retained, ...(qmul && { qmul }),
    };
    rows.push(row);
    const fixed = (v) => (v === null ? 'n/a' : v.toFixed(2));
    const stopped = settings?.untilOutcome ? `  (until: ${settings.untilOutcome.reached ? 'met' : 'not met'} after ${settings.untilOutcome.epochs} epoch(s))` : '';
    log(`  ${name.padEnd(9)} FA ${fixed(row.FA)}  RA ${fixed(row.RA)}  TA ${fixed(row.TA)}  MIA ${fixed(row.MIA)}  AG ${fixed(row.AG)}  ${seconds === null ? 'time unknown' : `${seconds.toFixed(1)} s`}${stopped}`);
    if (args.json) console.log(JSON.stringify({ event: 'run', arch: spec.arch, ...(onnx && { onnx: onnx.file, onnxSha256: onnx.hash }), bits: spec.weightBits, scheme: spec.weightScheme, ...(args.ptq && { ptq: args.ptq }), scenario: args.scenario, ...row, settings }));
    if (model !== reference.model) model.dispose();
  }
  reference.model.dispose();
}

if (trainOnly !== undefined) {
  log(`the ${trainOnly} model${seeds.length > 1 ? 's are' : ' is'} in ${args.cache}`);
} else {
  const { lines, means } = unlearningTable(methods, rows);
  if (args.json) {
    for (const mean of means) console.log(JSON.stringify({ event: 'mean', ...mean }));
  } else {
    const from = onnx ? ` imported from ${onnx.file} (sha256 ${onnx.hash}…)` : '';
    console.log(`${spec.arch}${from} ${spec.weightBits}-bit ${spec.weightScheme}, ${args.scenario}, ${seeds.length} seed(s), ${train.shape[0]} training images\n`);
    console.log(lines.join('\n'));
  }
}
