// The table tests/js/bad_input.test.mjs sweeps: every public entry point × every class of
// bad input that applies, as data ({api, cls, name, code, message, run}), and how one case
// is run and judged. Not a test file itself (node --test skips it); it is also the entry
// of the worker thread that runs the cases that can crash the engine, so a crash cannot
// corrupt the instance the rest of the sweep uses.
import { createHash } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';

import { createQforget, exportAudit, QforgetError, verifyReceipts } from '../../web/index.js';
import { editModel, generateFloatModel, random } from './onnx_models.mjs';
import { synthetic } from './synthetic.mjs';

export const SPEC = { arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 3 };
export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// ---- inputs ------------------------------------------------------------------------------

/** Samples [from, to) of a dataset of 12×12×1 images, as a dataset. */
export function slice(ds, from, to) {
  return { x: ds.x.slice(from * 144, to * 144), y: ds.y.slice(from, to), shape: [to - from, 12, 12, 1] };
}

const EMPTY = { x: new Uint8Array(0), y: new Uint8Array(0), shape: [0, 12, 12, 1] };

// A copy of typed array `array` with `value` at index `i`.
function withValue(array, i, value) {
  const out = array.slice();
  out[i] = value;
  return out;
}

// A valid n × n similarity matrix (each class's similar label: the next class).
function ringMatrix(n) {
  return Array.from({ length: n }, (_, y) => Array.from({ length: n }, (_, j) => (j === (y + 1) % n ? 1 : 0)));
}

// A copy of matrix `m` with `value` at [y][j].
function withEntry(m, y, j, value) {
  const out = m.map((row) => row.slice());
  out[y][j] = value;
  return out;
}

// A copy of `ds` with label `value` at sample `i`.
function relabel(ds, i, value) {
  const y = ds.y.slice();
  y[i] = value;
  return { ...ds, y };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A model file (layout in src/io/model_file.h) rebuilt with a changed header, payload or
 * version and a correct CRC-32, so the loader's checks past the checksum are reached.
 */
export function rebuildModelFile(bytes, { header: edit = () => {}, payload: editPayload = () => {}, version = 1 } = {}) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength)));
  const payload = bytes.slice((16 + headerLength + 7) & ~7, bytes.length - 4);
  edit(header);
  editPayload(payload, header);
  const text = new TextEncoder().encode(JSON.stringify(header));
  const start = (16 + text.length + 7) & ~7;
  const out = new Uint8Array(start + payload.length + 4);
  const outView = new DataView(out.buffer);
  out.set(bytes.subarray(0, 8));
  outView.setUint32(8, version, true);
  outView.setUint32(12, text.length, true);
  out.set(text, 16);
  out.set(payload, start);
  outView.setUint32(start + payload.length, crc32(out.subarray(0, start + payload.length)), true);
  return out;
}

/** The same bytes with a correct CRC-32 over everything before the last 4 bytes. */
function resealed(bytes) {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

// Writes float32 `value` at the first value of the first tensor whose name ends with `suffix`.
const setFloat = (suffix, value) => (payload, header) => {
  const t = header.tensors.find((tensor) => tensor.name.endsWith(suffix));
  new DataView(payload.buffer).setFloat32(t.offset, value, true);
};

const IDX = new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);

/**
 * What the main-thread cases work on. `model` is the subject every model case hashes
 * before and after (its bytes and its ledger: a checkpoint, then a fit on `trained`); the
 * sweep replaces it (from `bytes`) if a case changed it.
 */
export async function mainContext(qf) {
  const model = qf.createModel(SPEC);
  await model.checkpoint();
  const trained = synthetic(48, 1);
  await model.fit(trained, { epochs: 1, batchSize: 16, seed: 1 });
  const foreign = qf.createModel({ ...SPEC, seed: 4 });
  await foreign.checkpoint();
  const foreignHistory = foreign.history();
  foreign.dispose();
  const disposed = qf.createModel(SPEC);
  disposed.dispose();
  const data = synthetic(24, 8);
  const packed = qf.kernels.packMatrixS8(new Int8Array(32), 4, 8);
  const ctx = {
    qf,
    model,
    disposed,
    data,
    forget: slice(data, 0, 4),
    retain: slice(data, 4, 24),
    trained,
    foreignHistory,
    features: qf.createModel({ arch: 'mlp', inputShape: [6], inputType: 'float32', numClasses: 4, weightBits: 4, seed: 2 }),
    featureData: { x: Float32Array.from({ length: 8 * 6 }, (_, i) => (i % 7) - 3), y: Uint8Array.from({ length: 8 }, (_, i) => i % 4), shape: [8, 6] },
    bytes: model.save(),
    packed,
    other: qf.createModel({ ...SPEC, numClasses: 10 }),
    dispose() {
      ctx.model.dispose();
      ctx.other.dispose();
      ctx.features.dispose();
      ctx.packed.dispose();
    },
  };
  return ctx;
}

// ---- the main-thread table -----------------------------------------------------------------

// Entry points that return a promise: they must reject, never throw synchronously. The
// others must throw synchronously.
export const ASYNC_APIS = new Set(['createQforget', 'model.fit', 'model.forget', 'model.checkpoint', 'model.restoreHistory', 'verifyReceipts', 'exportAudit', 'qf.replayReceipt', 'qf.unlearningMetrics', 'qf.importOnnx', 'model.toOnnx']);

// ---- ONNX files --------------------------------------------------------------------------------

/** A small valid ONNX file (a LeNet, NCHW float, from ./onnx_models.mjs) the ONNX cases break. */
export const ONNX_LENET = generateFloatModel('lenet').bytes;

// Seeded random bytes that are no protobuf at all.
const ONNX_JUNK = (() => {
  const next = random(5);
  return Uint8Array.from({ length: 64 }, () => Math.floor(next() * 256));
})();

// The LeNet with its first node of `op` made an `Einsum` (an operator qforget does not have).
const onnxWithOp = (op, newOp) => editModel(ONNX_LENET, (m) => {
  m.graph.node.find((n) => n.opType === op).opType = newOp;
});


/**
 * Cases as [api, cls, name, code, message, run, extra?]. `run(ctx)` makes the one call;
 * `extra` may hold `todo` (a known bug, described: the case stays and is reported, none
 * open now) and `isolated`
 * (run in a throwaway worker thread because it may crash the engine).
 */
function mainRows() {
  const IA = 'INVALID_ARGUMENT', DL = 'DATA_LOSS', FP = 'FAILED_PRECONDITION';
  const rows = [];
  const add = (api, cls, list) => {
    for (const [name, code, message, run, extra] of list) rows.push({ api, cls, name, code, message, run, ...extra });
  };
  const fit = (options) => (c) => c.model.fit(c.data, options);
  const forgetWith = (options) => (c) => c.model.forget(c.forget, { retain: c.retain, ...options });
  const metrics = (sets) => (c) => c.qf.unlearningMetrics(c.model, { forget: c.forget, retain: c.retain, test: c.data, ...sets(c) });
  const create = (over) => (c) => c.qf.createModel({ ...SPEC, ...over });
  const load = (make) => (c) => c.qf.loadModel(make(c.bytes));
  const rebuilt = (edits) => load((b) => rebuildModelFile(b, edits));
  const idx = (bytes) => (c) => c.qf.parseIdx(bytes);
  const scenario = (s, numClasses = 9) => (c) => c.qf.resolveScenario(c.data.y, s, { numClasses });
  const mm = (a, b, mDim, k, n) => (c) => c.qf.kernels.matmulU8S8(a, b, mDim, k, n);
  const pack = (b, k, n) => (c) => c.qf.kernels.packMatrixS8(b, k, n);
  const x1 = new Uint8Array(144);

  // createQforget: options are {simd: 'auto'|boolean, locateFile: function}.
  add('createQforget', 'option-type', [
    ['null options', IA, /options must be an object/, () => createQforget(null)],
    ['string options', IA, /options must be an object/, () => createQforget('simd')],
    ['array options', IA, /options must be an object/, () => createQforget([true])],
    ["simd: 'yes'", IA, /options\.simd must be 'auto', true or false/, () => createQforget({ simd: 'yes' })],
    ['simd: 1', IA, /options\.simd/, () => createQforget({ simd: 1 })],
    ['simd: null', IA, /options\.simd/, () => createQforget({ simd: null })],
    ['locateFile: a string', IA, /options\.locateFile must be a function/, () => createQforget({ locateFile: 'dist/' })],
  ]);
  add('createQforget', 'unknown-option', [
    ['options.colour', IA, /options\.colour/, () => createQforget({ colour: 1 })],
  ]);
  add('createQforget', 'bytes', [
    // The build not loaded yet in a fresh thread, from a folder that does not exist.
    ['locateFile names no module', 'NOT_FOUND', /nonexistent/,
      (c) => createQforget({ simd: !c.qf.simd, locateFile: (file) => `file:///nonexistent/${file}` }),
      { isolated: true }],
  ]);

  // qf.createModel
  add('qf.createModel', 'option-type', [
    ['null', IA, /options must be an object/, (c) => c.qf.createModel(null)],
    ['undefined', IA, /options must be an object/, (c) => c.qf.createModel()],
    ['a string', IA, /options must be an object/, (c) => c.qf.createModel('mlp')],
    ['an array', IA, /options must be an object/, (c) => c.qf.createModel([SPEC])],
    ['arch: 42', IA, /arch/, create({ arch: 42 })],
    ["numClasses: '9'", IA, /numClasses/, create({ numClasses: '9' })],
    ["weightBits: '4'", IA, /weightBits/, create({ weightBits: '4' })],
    ['inputShape: a string', IA, /inputShape/, create({ inputShape: '12x12x1' })],
    ["perChannel: 'yes'", IA, /perChannel/, create({ perChannel: 'yes' })],
    ['layers: not an array (custom)', IA, /layers/, create({ arch: 'custom', layers: { type: 'dense' } })],
  ]);
  add('qf.createModel', 'missing', [
    ['{}', IA, /arch/, (c) => c.qf.createModel({})],
    ['no inputShape', IA, /inputShape/, (c) => c.qf.createModel({ arch: 'mlp', numClasses: 9, weightBits: 4 })],
    ['no numClasses', IA, /numClasses/, (c) => c.qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], weightBits: 4 })],
    ['no weightBits', IA, /weightBits/, (c) => c.qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9 })],
    ['custom without layers', IA, /layers/, create({ arch: 'custom' })],
  ]);
  add('qf.createModel', 'unknown-option', [
    ['options.colour', IA, /colour/, create({ colour: 'red' })],
    ['inputshape (typo)', IA, /inputshape|inputShape/, (c) => c.qf.createModel({ arch: 'mlp', inputshape: [12, 12, 1], numClasses: 9, weightBits: 4 })],
    ['unknown layer type', IA, /warp|type/, create({ arch: 'custom', layers: [{ type: 'warp' }] })],
  ]);
  add('qf.createModel', 'hyperparameter', [
    ["arch: 'vgg'", IA, /arch must be one of/, create({ arch: 'vgg' })],
    ['weightBits: 5', IA, /weightBits must be 2, 3, 4, 8 or 32/, create({ weightBits: 5 })],
    ['weightBits: 0', IA, /weightBits/, create({ weightBits: 0 })],
    ['weightBits: 33', IA, /weightBits/, create({ weightBits: 33 })],
    ['edgeBits: 5', IA, /edgeBits/, create({ edgeBits: 5 })],
    ['weightScheme: log2', IA, /weightScheme: unknown weight scheme "log2" \(expected uniform, asymmetric, pow2, apot or codebook\)/, create({ weightScheme: 'log2' })],
    ['weightScheme: pow2 at 8 bits', IA, /weightScheme: pow2 weights have 2, 3 or 4 bits/, create({ weightBits: 8, weightScheme: 'pow2' })],
    ['weightScheme: codebook, float', IA, /weightScheme: codebook needs quantized weights/, create({ weightBits: 32, weightScheme: 'codebook' })],
    ['activationBits: 2', IA, /activationBits: expected 8, or 4 with quantized weights, got 2/, create({ activationBits: 2 })],
    ['numClasses: 0', IA, /numClasses/, create({ numClasses: 0 })],
    ['numClasses: 1', IA, /numClasses/, create({ numClasses: 1 })],
    ['numClasses: 65536', IA, /numClasses: 65536 is outside the allowed range 2\.\.65535/, create({ numClasses: 65536 })],
    ["inputType: 'int8'", IA, /inputType must be 'uint8' \(pixels\) or 'float32' \(features\), got 'int8'/, create({ inputType: 'int8' })],
    ['preprocess.std: [0]', IA, /preprocess\.std\[0\] must be a finite number > 0/, create({ preprocess: { std: [0] } })],
    ['preprocess.mean: 2 values for 1 channel', IA, /preprocess\.mean must have 1 or 1 values/, create({ preprocess: { mean: [0.1, 0.2] } })],
    ['preprocess.scale: 0', IA, /preprocess\.scale must be a finite number > 0/, create({ preprocess: { scale: 0 } })],
    ['preprocess.shift (unknown)', IA, /preprocess\.shift: unknown key/, create({ preprocess: { shift: 1 } })],
    ['numClasses: -3', IA, /numClasses/, create({ numClasses: -3 })],
    ['numClasses: 1.5', IA, /numClasses/, create({ numClasses: 1.5 })],
    ['seed: -1', IA, /seed/, create({ seed: -1 })],
    ['seed: 1.5', IA, /seed/, create({ seed: 1.5 })],
    ['seed: 2^60', IA, /seed/, create({ seed: 2 ** 60 })],
    ['layers: [] (custom)', IA, /layers/, create({ arch: 'custom', layers: [] })],
    ['dense units: 0 (custom)', IA, /units/, create({ arch: 'custom', layers: [{ type: 'dense', units: 0 }] })],
  ]);
  add('qf.createModel', 'shape', [
    ['inputShape [0, 12, 1]', IA, /inputShape/, create({ inputShape: [0, 12, 1] })],
    ['inputShape [-1, 12, 1]', IA, /inputShape/, create({ inputShape: [-1, 12, 1] })],
    ['inputShape [12, 12.5, 1]', IA, /inputShape/, create({ inputShape: [12, 12.5, 1] })],
    ['inputShape []', IA, /inputShape/, create({ inputShape: [] })],
    ['inputShape of rank 5', IA, /inputShape/, create({ inputShape: [2, 2, 2, 2, 2] })],
    ['inputShape [100000, 100000, 3]', IA, /inputShape/, create({ inputShape: [100000, 100000, 3] })],
    ["lenet on 2×2 images", IA, /input|window/, create({ arch: 'lenet', inputShape: [2, 2, 1] })],
  ]);
  add('qf.createModel', 'nan-inf', [
    ['numClasses: NaN', IA, /numClasses/, create({ numClasses: Number.NaN })],
    ['weightBits: Infinity', IA, /weightBits/, create({ weightBits: Infinity })],
    ['seed: NaN', IA, /seed/, create({ seed: Number.NaN })],
    ['inputShape [NaN, 12, 1]', IA, /inputShape/, create({ inputShape: [Number.NaN, 12, 1] })],
    ['inputShape [Infinity, 12, 1]', IA, /inputShape/, create({ inputShape: [Infinity, 12, 1] })],
  ]);

  // qf.loadModel
  add('qf.loadModel', 'dtype', [
    ['an Array', IA, /bytes must be a Uint8Array/, (c) => c.qf.loadModel(Array.from(c.bytes))],
    ['an ArrayBuffer', IA, /bytes must be a Uint8Array/, (c) => c.qf.loadModel(c.bytes.slice().buffer)],
    ['an Int8Array', IA, /bytes must be a Uint8Array/, (c) => c.qf.loadModel(new Int8Array(c.bytes))],
    ['a string', IA, /bytes must be a Uint8Array/, (c) => c.qf.loadModel('QFMODEL')],
    ['null', IA, /bytes must be a Uint8Array/, (c) => c.qf.loadModel(null)],
  ]);
  const flip = (at) => (b) => {
    const out = b.slice();
    out[typeof at === 'function' ? at(b) : at] ^= 0x10;
    return out;
  };
  add('qf.loadModel', 'bytes', [
    ['empty', DL, /model file: truncated/, load(() => new Uint8Array(0))],
    ['7 bytes', DL, /model file: truncated/, load((b) => b.subarray(0, 7))],
    ['magic and version only', DL, /model file: truncated/, load((b) => b.subarray(0, 12))],
    ['truncated by 1 byte', DL, /model file: checksum mismatch/, load((b) => b.subarray(0, b.length - 1))],
    ['truncated at half', DL, /model file: checksum mismatch/, load((b) => b.subarray(0, b.length >> 1))],
    ['one extra byte', DL, /model file: checksum mismatch/, load((b) => Uint8Array.from([...b, 0]))],
    ['a flipped byte in the middle', DL, /model file: checksum mismatch/, load(flip((b) => b.length >> 1))],
    ['a flipped byte in the header', DL, /model file: checksum mismatch/, load(flip(20))],
    ['a flipped checksum byte', DL, /model file: checksum mismatch/, load(flip((b) => b.length - 1))],
    ['foreign: text', DL, /model file: not a qforget model file/, load(() => new TextEncoder().encode('not a model at all, just some text'))],
    ['foreign: an IDX file', DL, /model file: truncated/, load(() => IDX)],
    ['foreign: the model gzipped', DL, /model file: not a qforget model file/, load((b) => new Uint8Array(gzipSync(b)))],
    ['newer version (5, resealed)', 'UNIMPLEMENTED', /model file format version 5 is newer than this build of qforget reads \(version 4\)/, rebuilt({ version: 5 })],
    ['newer version (99, not resealed)', 'UNIMPLEMENTED', /version/, load((b) => {
      const out = b.slice();
      out[8] = 99;
      return out;
    })],
    ['version 0 (resealed)', DL, /model file: format version 0/, rebuilt({ version: 0 })],
    ['header length past the end (resealed)', DL, /model file: .*header of 4294967280 bytes/, load((b) => {
      const out = b.slice();
      new DataView(out.buffer).setUint32(12, 0xfffffff0, true);
      return resealed(out);
    })],
    ['header not JSON (resealed)', DL, /model file: header/, load((b) => {
      const out = b.slice();
      out[16] = 0x5b;  // '{' -> '['
      return resealed(out);
    })],
    ['header: numClasses 10 (resealed)', DL, /model file: header\.model/, rebuilt({ header: (h) => (h.model.numClasses = 10) })],
    ['header: inputShape [4096, 4096, 3] (resealed)', DL, /model file: header\.model\.inputShape/, rebuilt({ header: (h) => (h.model.inputShape = [4096, 4096, 3]) })],
    ["header: arch 'vgg' (resealed)", DL, /model file: header\.model\.arch/, rebuilt({ header: (h) => (h.model.arch = 'vgg') })],
    ['header: weightBits 5 (resealed)', DL, /model file: header\.model\.weightBits/, rebuilt({ header: (h) => (h.model.weightBits = 5) })],
    ['header: shadow false with shadow tensors (resealed)', DL, /model file: header\.tensors/, rebuilt({ header: (h) => (h.shadow = false) })],
    ['header: payloadBytes + 8 (resealed)', DL, /model file: header\.payloadBytes/, rebuilt({ header: (h) => (h.payloadBytes += 8) })],
    ['header: a tensor offset past the payload (resealed)', DL, /model file: header\.tensors\[0\].*outside the payload/, rebuilt({ header: (h) => (h.tensors[0].offset = 1 << 30) })],
    ['header: a tensor with a negative shape (resealed)', DL, /model file: header\.tensors\[0\].*shape/, rebuilt({ header: (h) => (h.tensors[0].shape = [-1, 4]) })],
    ['header: no tensors (resealed)', DL, /model file: header\.tensors/, rebuilt({ header: (h) => (h.tensors = []) })],
    ['payload: a NaN step (resealed)', DL, /model file: "1\.weight_step": value 0 is NaN/, rebuilt({ payload: setFloat('weight_step', Number.NaN) })],
    ['payload: a negative step (resealed)', DL, /model file: "1\.weight_step".*must be positive/, rebuilt({ payload: setFloat('weight_step', -1) })],
    ['payload: an infinite bias (resealed)', DL, /model file: "1\.bias": value 0 is infinite/, rebuilt({ payload: setFloat('bias', Infinity) })],
  ]);

  // qf.parseIdx
  add('qf.parseIdx', 'dtype', [
    ['an Array', IA, /bytes must be a Uint8Array/, (c) => c.qf.parseIdx(Array.from(IDX))],
    ['an Int8Array', IA, /bytes must be a Uint8Array/, (c) => c.qf.parseIdx(new Int8Array(IDX))],
    ['null', IA, /bytes must be a Uint8Array/, (c) => c.qf.parseIdx(null)],
  ]);
  const withIdx = (edit) => {
    const out = IDX.slice();
    edit(out);
    return out;
  };
  add('qf.parseIdx', 'bytes', [
    ['empty', DL, /IDX|empty/, idx(new Uint8Array(0))],
    ['3 bytes', DL, /IDX/, idx(IDX.subarray(0, 3))],
    ['bad magic', DL, /IDX/, idx(withIdx((b) => (b[0] = 1)))],
    ['unknown element type', DL, /IDX/, idx(withIdx((b) => (b[2] = 0x42)))],
    ['float32 elements', 'UNIMPLEMENTED', /IDX.*float32/, idx(withIdx((b) => (b[2] = 0x0d)))],
    ['zero dimensions', DL, /IDX/, idx(new Uint8Array([0, 0, 8, 0]))],
    ['dimensions cut short', DL, /IDX/, idx(IDX.subarray(0, 9))],
    ['data cut short', DL, /IDX/, idx(IDX.subarray(0, IDX.length - 1))],
    ['trailing bytes', DL, /IDX/, idx(Uint8Array.from([...IDX, 7]))],
    ['dims that overflow', DL, /IDX/, idx(new Uint8Array([0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1]))],
    ['gzip: truncated', DL, /gzip/, idx(new Uint8Array(gzipSync(IDX)).subarray(0, 20))],
    ['gzip: a flipped checksum', DL, /gzip/, idx((() => {
      const z = new Uint8Array(gzipSync(IDX));
      z[z.length - 6] ^= 1;
      return z;
    })())],
    ['gzip of text', DL, /IDX/, idx(new Uint8Array(gzipSync(new TextEncoder().encode('hello'))))],
  ]);

  // qf.setMemoryLimit (the limit stays the default: each case checks it afterwards)
  const limitIs = (bytes) => (c) => {
    try {
      c.qf.setMemoryLimit(bytes);
    } finally {
      if (c.qf.memoryStats().limit !== 2 ** 32 - 2 ** 16) throw new Error('a refused setMemoryLimit changed the limit');
    }
  };
  add('qf.setMemoryLimit', 'range', [
    ['a string', IA, /bytes must be a positive integer or null/, limitIs('1GB')],
    ['NaN', IA, /bytes must be a positive integer or null/, limitIs(Number.NaN)],
    ['-1', IA, /bytes must be a positive integer or null/, limitIs(-1)],
    ['0', IA, /bytes must be a positive integer or null/, limitIs(0)],
    ['1.5 MiB + 0.5 bytes', IA, /bytes must be a positive integer or null/, limitIs(1.5 * 2 ** 20 + 0.5)],
    ['1000 bytes (below 1 MiB)', IA, /memory limit must be between 1 MiB and 4096 MiB, got 1000 bytes/, limitIs(1000)],
    ['4 GiB (above the build)', IA, /memory limit must be between 1 MiB and 4096 MiB/, limitIs(2 ** 32)],
  ]);

  // qf.resolveScenario
  add('qf.resolveScenario', 'dtype', [
    ['labels: an Array', IA, /labels must be a Uint8Array/, (c) => c.qf.resolveScenario(Array.from(c.data.y), 'class:0', { numClasses: 9 })],
    ['labels: an Int8Array', IA, /labels must be a Uint8Array, a Uint16Array or an Int32Array, got Int8Array/, (c) => c.qf.resolveScenario(new Int8Array(c.data.y), 'class:0', { numClasses: 9 })],
    ['labels: an Int32Array with -2', IA, /labels\[5\] = -2 is not a class/, (c) => c.qf.resolveScenario(withValue(Int32Array.from(c.data.y), 5, -2), 'class:0', { numClasses: 9 })],
    ['scenario: 42', IA, /scenario must be a string/, (c) => c.qf.resolveScenario(c.data.y, 42, { numClasses: 9 })],
    ['scenario: null', IA, /scenario must be a string/, (c) => c.qf.resolveScenario(c.data.y, null, { numClasses: 9 })],
  ]);
  add('qf.resolveScenario', 'option-type', [
    ['options: null', IA, /options|numClasses/, (c) => c.qf.resolveScenario(c.data.y, 'class:0', null)],
    ['options: a string', IA, /options must be an object/, (c) => c.qf.resolveScenario(c.data.y, 'class:0', 'nine')],
    ['options: an array', IA, /options must be an object/, (c) => c.qf.resolveScenario(c.data.y, 'class:0', [9])],
    ['options missing', IA, /numClasses/, (c) => c.qf.resolveScenario(c.data.y, 'class:0')],
    ["numClasses: '9'", IA, /numClasses/, (c) => c.qf.resolveScenario(c.data.y, 'class:0', { numClasses: '9' })],
    ["seed: '1'", IA, /seed/, (c) => c.qf.resolveScenario(c.data.y, 'random:0.5', { numClasses: 9, seed: '1' })],
  ]);
  add('qf.resolveScenario', 'hyperparameter', [
    ['numClasses: 0', IA, /numClasses/, (c) => c.qf.resolveScenario(c.data.y, 'class:0', { numClasses: 0 })],
    ['numClasses: 65536', IA, /numClasses/, (c) => c.qf.resolveScenario(c.data.y, 'class:0', { numClasses: 65536 })],
    ['seed: -1', IA, /seed/, (c) => c.qf.resolveScenario(c.data.y, 'random:0.5', { numClasses: 9, seed: -1 })],
    ['seed: 1.5', IA, /seed/, (c) => c.qf.resolveScenario(c.data.y, 'random:0.5', { numClasses: 9, seed: 1.5 })],
  ]);
  add('qf.resolveScenario', 'nan-inf', [
    ['numClasses: NaN', IA, /numClasses/, (c) => c.qf.resolveScenario(c.data.y, 'class:0', { numClasses: Number.NaN })],
    ['seed: NaN', IA, /seed/, (c) => c.qf.resolveScenario(c.data.y, 'random:0.5', { numClasses: 9, seed: Number.NaN })],
    ['seed: Infinity', IA, /seed/, (c) => c.qf.resolveScenario(c.data.y, 'random:0.5', { numClasses: 9, seed: Infinity })],
    ['random:NaN', IA, /random:<fraction>/, scenario('random:NaN')],
    ['random:Infinity', IA, /random:<fraction>/, scenario('random:Infinity')],
    ['random:1e999', IA, /random:<fraction>|range/, scenario('random:1e999')],
  ]);
  add('qf.resolveScenario', 'length', [
    ['no labels', IA, /labels|training set/, (c) => c.qf.resolveScenario(new Uint8Array(0), 'random:0.5', { numClasses: 9 })],
  ]);
  add('qf.resolveScenario', 'label', [
    ['a label >= numClasses', IA, /labels\[1\]|numClasses/, (c) => c.qf.resolveScenario(new Uint8Array([0, 12, 3, 4]), 'random:0.5', { numClasses: 10 })],
  ]);
  const all = `ids:[${Array.from({ length: 24 }, (_, i) => i)}]`;
  add('qf.resolveScenario', 'scenario', [
    ['random:0', IA, /fraction in \(0, 1\)/, scenario('random:0')],
    ['random:1.5', IA, /fraction in \(0, 1\)/, scenario('random:1.5')],
    ['random:1 (everything)', IA, /fraction in \(0, 1\)|every sample/, scenario('random:1')],
    ['random:-0.5', IA, /fraction in \(0, 1\)/, scenario('random:-0.5')],
    ['random:0.001 (rounds to none)', IA, /forgets no sample/, scenario('random:0.001')],
    ['random: (no number)', IA, /random:<fraction> must be a number/, scenario('random:')],
    ['random:abc', IA, /random:<fraction> must be a number/, scenario('random:abc')],
    ['class:10 (numClasses 10)', IA, /class in \[0, 10\)/, scenario('class:10', 10)],
    ['class:-1', IA, /class in \[0, 9\)/, scenario('class:-1')],
    ['class:1.5', IA, /class in \[0, 9\)/, scenario('class:1.5')],
    ['class:9 (no such sample; numClasses 10)', IA, /forgets no sample/, scenario('class:9', 10)],
    ['class: (no number)', IA, /class:<k> must be a number/, scenario('class:')],
    ['ids:[]', IA, /forgets no sample/, scenario('ids:[]')],
    ['ids:[1,1]', IA, /ids\[1\] = 1 is repeated/, scenario('ids:[1,1]')],
    ['ids:[99999]', IA, /ids\[0\] = 99999 is not a training sample/, scenario('ids:[99999]')],
    ['ids:[-1]', IA, /ids\[0\] = -1 is not a training sample/, scenario('ids:[-1]')],
    ['ids:[1.5]', IA, /ids\[0\]/, scenario('ids:[1.5]')],
    ['ids:["a"]', IA, /ids\[0\]/, scenario('ids:["a"]')],
    ['ids:[2^32 + 2] (wraps to 2 in wasm32)', IA, /ids\[0\] = 4294967298 is not a training sample/, scenario('ids:[4294967298]')],
    ['ids:[2^53] (wraps to 0 in wasm32)', IA, /ids\[0\]/, scenario(`ids:[${2 ** 53}]`)],
    ['ids of every sample', IA, /every sample/, scenario(all)],
    ['ids:1 (not a list)', IA, /ids:\[\.\.\.\] needs a JSON array/, scenario('ids:1')],
    ['ids:[1 (malformed)', IA, /scenario|ids/, scenario('ids:[1')],
    ["'' (empty)", IA, /scenario must be random:<fraction>, class:<k> or ids:\[\.\.\.\]/, scenario('')],
    ["'everything'", IA, /scenario must be/, scenario('everything')],
    ["'RANDOM:0.1' (case)", IA, /scenario must be/, scenario('RANDOM:0.1')],
  ]);

  // qf.unlearningMetrics
  add('qf.unlearningMetrics', 'dtype', [
    ['model: null', IA, /model must be a Model/, (c) => c.qf.unlearningMetrics(null, { forget: c.forget, retain: c.retain, test: c.data })],
    ['model: a plain object', IA, /model must be a Model/, (c) => c.qf.unlearningMetrics({ predict() {} }, { forget: c.forget, retain: c.retain, test: c.data })],
    ['forget.x: an Array', IA, /forget\.x must be a Uint8Array/, metrics((c) => ({ forget: { ...c.forget, x: Array.from(c.forget.x) } }))],
    ['test.y: an Int8Array', IA, /test\.y must be a Uint8Array/, metrics((c) => ({ test: { ...c.data, y: new Int8Array(c.data.y) } }))],
    ['reference: a plain object', IA, /reference must be a Model/, metrics(() => ({ reference: {} }))],
  ]);
  add('qf.unlearningMetrics', 'option-type', [
    ['onProgress: 3', IA, /onProgress must be a function/, metrics(() => ({ onProgress: 3 }))],
    ["signal: 'stop'", IA, /signal must be an AbortSignal/, metrics(() => ({ signal: 'stop' }))],
    ['sets: null', IA, /the second argument must be \{forget, retain, test\}/, (c) => c.qf.unlearningMetrics(c.model, null)],
    ['sets: a string', IA, /the second argument must be/, (c) => c.qf.unlearningMetrics(c.model, 'all')],
    ['sets: an array', IA, /forget must be an object/, (c) => c.qf.unlearningMetrics(c.model, [c.forget, c.retain, c.data])],
    ['retain: null', IA, /retain must be an object/, metrics(() => ({ retain: null }))],
    ['miaFeature: 42', IA, /miaFeature/, metrics(() => ({ miaFeature: 42 }))],
    ["seed: '1'", IA, /seed/, metrics(() => ({ seed: '1' }))],
  ]);
  add('qf.unlearningMetrics', 'aborted', [
    ['an aborted signal', 'ABORTED', /the metrics were aborted before they started/, metrics(() => ({ signal: AbortSignal.abort() }))],
  ]);
  add('qf.unlearningMetrics', 'unknown-option', [
    ['options.colour', IA, /colour/, metrics(() => ({ colour: 1 }))],
  ]);
  add('qf.unlearningMetrics', 'hyperparameter', [
    ["miaFeature: 'magic'", IA, /miaFeature must be/, metrics(() => ({ miaFeature: 'magic' }))],
    ['seed: -1', IA, /seed/, metrics(() => ({ seed: -1 }))],
  ]);
  add('qf.unlearningMetrics', 'nan-inf', [
    ['seed: NaN', IA, /seed/, metrics(() => ({ seed: Number.NaN }))],
  ]);
  add('qf.unlearningMetrics', 'shape', [
    ['forget.shape [4, 28, 28, 1]', IA, /forget/, metrics((c) => ({ forget: { ...c.forget, shape: [4, 28, 28, 1] } }))],
    ['forget.shape [4, 144] (same size)', IA, /forget has samples of shape \[144\]/, metrics((c) => ({ forget: { ...c.forget, shape: [4, 144] } }))],
    ["test.shape: 'abc'", IA, /test\.shape/, metrics((c) => ({ test: { ...c.data, shape: 'abc' } }))],
    ['reference with 10 classes', IA, /reference must take the same inputs and classes/, metrics((c) => ({ reference: c.other }))],
  ]);
  add('qf.unlearningMetrics', 'length', [
    ['retain.y one short', IA, /retain\.y has 19 labels/, metrics((c) => ({ retain: { ...c.retain, y: c.retain.y.subarray(0, 19) } }))],
    ['forget empty', IA, /forget is empty/, metrics(() => ({ forget: EMPTY }))],
  ]);
  add('qf.unlearningMetrics', 'label', [
    ['forget.y[2] = 9', IA, /forget\.y\[2\] = 9 is not a class/, metrics((c) => ({ forget: relabel(c.forget, 2, 9) }))],
    ['test.y[0] = 200', IA, /test\.y\[0\] = 200 is not a class/, metrics((c) => ({ test: relabel(c.data, 0, 200) }))],
  ]);
  add('qf.unlearningMetrics', 'disposed', [
    ['model disposed', FP, /disposed/, (c) => c.qf.unlearningMetrics(c.disposed, { forget: c.forget, retain: c.retain, test: c.data })],
    ['reference disposed', FP, /disposed/, metrics((c) => ({ reference: c.disposed }))],
  ]);

  // model.describe
  add('model.describe', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.describe()]]);

  // model.predict
  add('model.predict', 'dtype', [
    ['x: an Array', IA, /x must be a Uint8Array or a Float32Array, got Array/, (c) => c.model.predict(Array.from(x1))],
    ['x: a Float64Array', IA, /x must be a Uint8Array or a Float32Array, got Float64Array/, (c) => c.model.predict(new Float64Array(144))],
    ['x: a Float32Array (the model takes pixels)', IA, /x holds float32 values, the model takes uint8 \(pixels: a Uint8Array\)/, (c) => c.model.predict(new Float32Array(144))],
    ['x: pixels (the model takes features)', IA, /x holds uint8 values, the model takes float32 \(features: a Float32Array\)/, (c) => c.features.predict(new Uint8Array(6))],
    ['x: an Int8Array', IA, /x must be a Uint8Array/, (c) => c.model.predict(new Int8Array(144))],
    ['x: a Uint8ClampedArray', IA, /x must be a Uint8Array/, (c) => c.model.predict(new Uint8ClampedArray(144))],
    ['x: an ArrayBuffer', IA, /x must be a Uint8Array/, (c) => c.model.predict(new ArrayBuffer(144))],
    ['x: null', IA, /x must be a Uint8Array or a Float32Array, got null/, (c) => c.model.predict(null)],
    ['x: missing', IA, /x must be a Uint8Array or a Float32Array, got undefined/, (c) => c.model.predict()],
  ]);
  add('model.predict', 'length', [
    ['x: 10 values', IA, /x has 10 values: not a whole, non-zero number of samples of shape \[12, 12, 1\] \(144 values each\)/, (c) => c.model.predict(new Uint8Array(10))],
    ['x: 145 values', IA, /x has 145 values/, (c) => c.model.predict(new Uint8Array(145))],
    ['x: empty', IA, /x has 0 values/, (c) => c.model.predict(new Uint8Array(0))],
  ]);
  add('model.predict', 'unknown-option', [
    ['a sample count after x (before 1.0)', IA, /predict\(x\) takes the samples only: their count comes from x\.length/, (c) => c.model.predict(x1, 1)],
  ]);
  add('model.predict', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.predict(x1)]]);

  // model.evaluate
  const evaluate = (ds) => (c) => c.model.evaluate(typeof ds === 'function' ? ds(c) : ds);
  add('model.evaluate', 'option-type', [
    ['null', IA, /dataset must be an object/, evaluate(null)],
    ['undefined', IA, /dataset must be an object/, (c) => c.model.evaluate()],
    ['a string', IA, /dataset must be an object/, evaluate('train')],
    ['an array', IA, /dataset\.x must be a Uint8Array/, evaluate((c) => [c.data.x, c.data.y])],
  ]);
  add('model.evaluate', 'dtype', [
    ['x: an Array', IA, /dataset\.x must be a Uint8Array/, evaluate((c) => ({ ...c.data, x: Array.from(c.data.x) }))],
    ['x: a Float32Array (the model takes pixels)', IA, /dataset\.x holds float32 values, the model takes uint8/, evaluate((c) => ({ ...c.data, x: new Float32Array(c.data.x) }))],
    ['y: a Float32Array', IA, /dataset\.y must be a Uint8Array, a Uint16Array or an Int32Array, got Float32Array/, evaluate((c) => ({ ...c.data, y: new Float32Array(c.data.y) }))],
    ['y: an Int8Array', IA, /dataset\.y must be a Uint8Array/, evaluate((c) => ({ ...c.data, y: new Int8Array(c.data.y) }))],
    ['y: missing', IA, /dataset\.y must be a Uint8Array/, evaluate((c) => ({ x: c.data.x, shape: c.data.shape }))],
  ]);
  add('model.evaluate', 'shape', [
    ['shape missing', IA, /dataset\.shape/, evaluate((c) => ({ x: c.data.x, y: c.data.y }))],
    ["shape: 'abc'", IA, /dataset\.shape/, evaluate((c) => ({ ...c.data, shape: 'abc' }))],
    ['shape [24, 28, 28, 1]', IA, /dataset\.x has 3456 values/, evaluate((c) => ({ ...c.data, shape: [24, 28, 28, 1] }))],
    ['shape [24, 144] (same size)', IA, /dataset has samples of shape \[144\], the model expects \[12, 12, 1\]/, evaluate((c) => ({ ...c.data, shape: [24, 144] }))],
    ['shape [24, 12, 12, 1, 1]', IA, /dataset has samples of shape/, evaluate((c) => ({ ...c.data, shape: [24, 12, 12, 1, 1] }))],
    ['shape [24] (no sample dims)', IA, /dataset\.shape/, evaluate((c) => ({ ...c.data, shape: [24] }))],
    ['shape []', IA, /dataset\.shape/, evaluate((c) => ({ ...c.data, shape: [] }))],
    ['shape [24, -12, 12, 1]', IA, /dataset\.shape/, evaluate((c) => ({ ...c.data, shape: [24, -12, 12, 1] }))],
    ['shape [24, 12.5, 12, 1]', IA, /dataset\.shape/, evaluate((c) => ({ ...c.data, shape: [24, 12.5, 12, 1] }))],
  ]);
  add('model.evaluate', 'nan-inf', [
    ['shape [NaN, 12, 12, 1]', IA, /dataset\.shape/, evaluate((c) => ({ ...c.data, shape: [Number.NaN, 12, 12, 1] }))],
    ['shape [24, Infinity, 12, 1]', IA, /dataset\.shape/, evaluate((c) => ({ ...c.data, shape: [24, Infinity, 12, 1] }))],
  ]);
  add('model.evaluate', 'length', [
    ['y: 5 labels for n = 24', IA, /dataset\.y has 5 labels/, evaluate((c) => ({ ...c.data, y: c.data.y.subarray(0, 5) }))],
    ['x: one value too many', IA, /dataset\.x has 3457 values/, evaluate((c) => ({ ...c.data, x: Uint8Array.from([...c.data.x, 0]) }))],
    ['empty (n = 0)', IA, /dataset is empty/, evaluate(EMPTY)],
  ]);
  add('model.evaluate', 'label', [
    ['y[4] = 9 (numClasses 9)', IA, /dataset\.y\[4\] = 9 is not a class/, evaluate((c) => relabel(c.data, 4, 9))],
    ['y[0] = 255', IA, /dataset\.y\[0\] = 255 is not a class/, evaluate((c) => relabel(c.data, 0, 255))],
  ]);
  add('model.evaluate', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.evaluate(c.data)]]);

  // model.fit
  add('model.fit', 'option-type', [
    ['dataset: null', IA, /dataset must be an object/, (c) => c.model.fit(null)],
    ['dataset: a string', IA, /dataset must be an object/, (c) => c.model.fit('train')],
    ['options: null', IA, /options must be an object/, (c) => c.model.fit(c.data, null)],
    ['options: a string', IA, /options must be an object/, (c) => c.model.fit(c.data, 'fast')],
    ['options: 42', IA, /options must be an object/, (c) => c.model.fit(c.data, 42)],
    ['options: an array', IA, /options must be an object/, (c) => c.model.fit(c.data, [])],
    ['onProgress: 3', IA, /options\.onProgress must be a function/, fit({ onProgress: 3 })],
    ["signal: 'stop'", IA, /options\.signal must be an AbortSignal/, fit({ signal: 'stop' })],
    ["epochs: '3'", IA, /options\.epochs/, fit({ epochs: '3' })],
    ["lr: '0.1'", IA, /options\.lr/, fit({ lr: '0.1' })],
    ['optimizer: 42', IA, /options\.optimizer/, fit({ optimizer: 42 })],
    ["nesterov: 'yes'", IA, /options\.nesterov/, fit({ nesterov: 'yes' })],
    ['schedule: 42', IA, /options\.schedule/, fit({ schedule: 42 })],
    ["augment: 'yes'", IA, /options\.augment/, fit({ augment: 'yes' })],
    ["augment.flip: 'yes'", IA, /options\.augment\.flip/, fit({ augment: { flip: 'yes' } })],
  ]);
  add('model.fit', 'dtype', [
    ['x: an Array', IA, /dataset\.x must be a Uint8Array/, (c) => c.model.fit({ ...c.data, x: Array.from(c.data.x) })],
    ['y: an Int8Array', IA, /dataset\.y must be a Uint8Array/, (c) => c.model.fit({ ...c.data, y: new Int8Array(c.data.y) })],
  ]);
  add('model.fit', 'shape', [
    ['shape [24, 28, 28, 1]', IA, /dataset\.x has/, (c) => c.model.fit({ ...c.data, shape: [24, 28, 28, 1] })],
    ['shape [24, 144] (same size)', IA, /dataset has samples of shape \[144\]/, (c) => c.model.fit({ ...c.data, shape: [24, 144] })],
  ]);
  add('model.fit', 'length', [
    ['y: 5 labels for n = 24', IA, /dataset\.y has 5 labels/, (c) => c.model.fit({ ...c.data, y: c.data.y.subarray(0, 5) })],
    ['empty (n = 0)', IA, /dataset is empty/, (c) => c.model.fit(EMPTY)],
  ]);
  add('model.fit', 'dtype', [
    ['pixels for a model of features', IA, /dataset\.x holds uint8 values, the model takes float32 \(features: a Float32Array\)/, (c) => c.features.fit({ ...c.featureData, x: new Uint8Array(c.featureData.x.length) })],
  ]);
  add('model.fit', 'nan-inf', [
    ['x[7] = NaN (features)', IA, /dataset\.x\[7\] is NaN: features must be finite numbers/, (c) => c.features.fit({ ...c.featureData, x: withValue(c.featureData.x, 7, Number.NaN) })],
    ['x[0] = -Infinity (features)', IA, /dataset\.x\[0\] is -Infinity/, (c) => c.features.fit({ ...c.featureData, x: withValue(c.featureData.x, 0, -Infinity) })],
  ]);
  add('model.predict', 'nan-inf', [
    ['x[3] = Infinity (features)', IA, /x\[3\] is Infinity: features must be finite numbers/, (c) => c.features.predict(withValue(new Float32Array(6), 3, Infinity))],
  ]);
  add('model.fit', 'label', [
    ['y: an Int32Array with -1', IA, /dataset\.y\[2\] = -1 is not a class: labels are in \[0, 65535\)/, (c) => c.model.fit({ ...c.data, y: withValue(Int32Array.from(c.data.y), 2, -1) })],
    ['y: a Uint16Array with 9 (numClasses 9)', IA, /dataset\.y\[4\] = 9 is not a class: labels must be < 9/, (c) => c.model.fit({ ...c.data, y: withValue(Uint16Array.from(c.data.y), 4, 9) })],
    ['y: an Int32Array with 70000', IA, /dataset\.y\[1\] = 70000 is not a class/, (c) => c.model.fit({ ...c.data, y: withValue(Int32Array.from(c.data.y), 1, 70000) })],
    ['y[4] = 9 (numClasses 9)', IA, /dataset\.y\[4\] = 9 is not a class/, (c) => c.model.fit(relabel(c.data, 4, 9))],
    ['y[23] = 255', IA, /dataset\.y\[23\] = 255 is not a class/, (c) => c.model.fit(relabel(c.data, 23, 255))],
  ]);
  add('model.fit', 'hyperparameter', [
    ['epochs: 0', IA, /options\.epochs must be in \[1, 100000\], got 0/, fit({ epochs: 0 })],
    ['epochs: -1', IA, /options\.epochs/, fit({ epochs: -1 })],
    ['epochs: 1.5', IA, /options\.epochs/, fit({ epochs: 1.5 })],
    ['epochs: 1e9', IA, /options\.epochs/, fit({ epochs: 1e9 })],
    ['batchSize: 0', IA, /options\.batchSize must be in \[1, 65536\], got 0/, fit({ batchSize: 0 })],
    ['batchSize: 2.5', IA, /options\.batchSize/, fit({ batchSize: 2.5 })],
    ['batchSize: 1e9', IA, /options\.batchSize/, fit({ batchSize: 1e9 })],
    ['lr: -1', IA, /lr must be a finite number > 0/, fit({ lr: -1 })],
    ['lr: 0', IA, /lr must be a finite number > 0/, fit({ lr: 0 })],
    ['lr: 1e39 (past float)', IA, /lr must be a finite number > 0/, fit({ lr: 1e39 })],
    // lr is checked for being finite and > 0; a finite lr that makes training diverge is
    // caught when the loss stops being finite: FAILED_PRECONDITION, naming lr.
    ['lr: 1e30 (diverges)', FP, /training diverged.*lr/, fit({ lr: 1e30 })],
    ['lr: 1e30, epochs: 2 (diverges in the last epoch)', FP, /diverged.*lr/, fit({ lr: 1e30, epochs: 2 })],
    ["optimizer: 'rmsprop'", IA, /optimizer must be 'sgd' or 'adam'/, fit({ optimizer: 'rmsprop' })],
    ['momentum: -0.5', IA, /momentum must be in \[0, 1\)/, fit({ momentum: -0.5 })],
    ['momentum: 1', IA, /momentum must be in \[0, 1\)/, fit({ momentum: 1 })],
    ['weightDecay: -1', IA, /weightDecay must be a finite number >= 0/, fit({ weightDecay: -1 })],
    ["schedule: 'linear'", IA, /schedule must be/, fit({ schedule: 'linear' })],
    ['schedule: step, gamma 0', IA, /gamma/, fit({ schedule: { name: 'step', gamma: 0 } })],
    ['schedule: step, stepEpochs 0', IA, /stepEpochs/, fit({ schedule: { name: 'step', stepEpochs: 0 } })],
    ['clipNorm: -1', IA, /clipNorm/, fit({ clipNorm: -1 })],
    ['augment.cropPadding: 17', IA, /cropPadding/, fit({ augment: { cropPadding: 17 } })],
    ['seed: -1', IA, /options\.seed/, fit({ seed: -1 })],
    ['seed: 1.5', IA, /options\.seed/, fit({ seed: 1.5 })],
    ['seed: 2^60', IA, /options\.seed/, fit({ seed: 2 ** 60 })],
  ]);
  add('model.fit', 'nan-inf', [
    ['epochs: NaN', IA, /options\.epochs/, fit({ epochs: Number.NaN })],
    ['epochs: Infinity', IA, /options\.epochs/, fit({ epochs: Infinity })],
    ['batchSize: NaN', IA, /options\.batchSize/, fit({ batchSize: Number.NaN })],
    ['lr: NaN', IA, /options\.lr/, fit({ lr: Number.NaN })],
    ['lr: Infinity', IA, /options\.lr/, fit({ lr: Infinity })],
    ['lr: -Infinity', IA, /options\.lr/, fit({ lr: -Infinity })],
    ['momentum: NaN', IA, /options\.momentum/, fit({ momentum: Number.NaN })],
    ['weightDecay: Infinity', IA, /options\.weightDecay/, fit({ weightDecay: Infinity })],
    ['clipNorm: NaN', IA, /options\.clipNorm/, fit({ clipNorm: Number.NaN })],
    ['schedule.gamma: NaN', IA, /options\.schedule\.gamma/, fit({ schedule: { name: 'step', gamma: Number.NaN } })],
  ]);
  add('model.fit', 'unknown-option', [
    ['options.epoch', IA, /options\.epoch: unknown option/, fit({ epoch: 3 })],
    ['options.learningRate', IA, /options\.learningRate: unknown option/, fit({ learningRate: 0.1 })],
    ['options.method (a forget option)', IA, /options\.method: unknown option/, fit({ method: 'ft' })],
    ['options.schedule.warmup', IA, /options\.schedule\.warmup: unknown option/, fit({ schedule: { name: 'cosine', warmup: 2 } })],
    ['options.augment.rotate', IA, /options\.augment\.rotate: unknown option/, fit({ augment: { rotate: 10 } })],
  ]);
  add('model.fit', 'aborted', [
    ['an aborted signal', 'ABORTED', /fit was aborted before it started/, fit({ signal: AbortSignal.abort() })],
  ]);
  add('model.fit', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.fit(c.data)]]);

  // model.forget
  add('model.forget', 'option-type', [
    ['forgetSet: null', IA, /forgetSet must be an object/, (c) => c.model.forget(null, { retain: c.retain })],
    ['options: null', IA, /options must be an object/, (c) => c.model.forget(c.forget, null)],
    ['options: a string', IA, /options must be an object/, (c) => c.model.forget(c.forget, 'qmul')],
    ['options: an array', IA, /options/, (c) => c.model.forget(c.forget, [c.retain])],
    ['retain: a string', IA, /options\.retain must be an object/, forgetWith({ retain: 'rest' })],
    ['test: null', IA, /options\.test must be an object/, forgetWith({ test: null })],
    ["previousReceipt: 'abc'", IA, /options\.previousReceipt must be a receipt/, forgetWith({ previousReceipt: 'abc' })],
    ["previousReceipt: {sha256: 'x'}", IA, /options\.previousReceipt/, forgetWith({ previousReceipt: { sha256: 'x' } })],
    ["request: 'DSR-1'", IA, /options\.request must be an object/, forgetWith({ request: 'DSR-1' })],
    ['request.reason: a lone surrogate', IA, /options\.request\.reason is not valid UTF-8/, forgetWith({ request: { reason: 'x\ud800' } })],
    ['request.subject: 300 bytes', IA, /options\.request\.subject is 300 bytes of UTF-8, more than the limit of 256/, forgetWith({ request: { subject: 'x'.repeat(300) } })],
    ['request.ids: one too few', IA, /options\.request\.ids must name every sample of the forget set/, forgetWith({ request: { ids: [] } })],
    ["signingKey: 'key'", IA, /options\.signingKey must be an ECDSA P-256 private CryptoKey/, forgetWith({ signingKey: 'key' })],
    ['forgetClass: 1.5', IA, /options\.forgetClass must be an integer class/, forgetWith({ forgetClass: 1.5 })],
    ['method: 42', IA, /options\.method/, forgetWith({ method: 42 })],
    ['qmulScanMode: 1', IA, /options\.qmulScanMode/, forgetWith({ qmulScanMode: 1 })],
    ['onProgress: 3', IA, /options\.onProgress must be a function/, forgetWith({ onProgress: 3 })],
    ["signal: 'stop'", IA, /options\.signal must be an AbortSignal/, forgetWith({ signal: 'stop' })],
  ]);
  add('model.forget', 'missing', [
    ['options: {}', IA, /retain is required by qmul: the training data that stays, or a sample of it \(ga and bs run without it\)/, (c) => c.model.forget(c.forget, {})],
    ['options missing', IA, /retain is required by qmul: the training data that stays, or a sample of it \(ga and bs run without it\)/, (c) => c.model.forget(c.forget)],
    ['heldOutRetain without test', IA, /options\.heldOutRetain is for the metrics: give options\.test too/, (c) => c.model.forget(c.forget, { retain: c.retain, heldOutRetain: c.retain })],
    ["until: 'unseen' without holdout", IA, /options\.until 'unseen' compares the forget set with held-out samples .* needs at least 20 of each; got 0 held-out/, forgetWith({ until: 'unseen' })],
    ["holdout without until", IA, /options\.holdout is for options\.until 'unseen'/, forgetWith({ holdout: slice(synthetic(24, 8), 0, 24) })],
  ]);
  add('model.forget', 'dtype', [
    ['forgetSet.x: an Array', IA, /forgetSet\.x must be a Uint8Array/, (c) => c.model.forget({ ...c.forget, x: Array.from(c.forget.x) }, { retain: c.retain })],
    ['retain.y: an Int8Array', IA, /options\.retain\.y must be a Uint8Array/, forgetWith({ retain: { x: new Uint8Array(20 * 144), y: new Int8Array(20), shape: [20, 12, 12, 1] } })],
    ['test.x: a Float32Array (the model takes pixels)', IA, /options\.test\.x holds float32 values, the model takes uint8/, (c) => c.model.forget(c.forget, { retain: c.retain, test: { ...c.data, x: new Float32Array(c.data.x) } })],
  ]);
  add('model.forget', 'shape', [
    ['forgetSet.shape [4, 28, 28, 1]', IA, /forget/, (c) => c.model.forget({ ...c.forget, shape: [4, 28, 28, 1] }, { retain: c.retain })],
    ['forgetSet.shape [4, 144] (same size)', IA, /forget has samples of shape \[144\]/, (c) => c.model.forget({ ...c.forget, shape: [4, 144] }, { retain: c.retain })],
    ['retain.shape [20, 144] (same size)', IA, /retain has samples of shape \[144\]/, (c) => c.model.forget(c.forget, { retain: { ...c.retain, shape: [20, 144] } })],
    ['test.shape [24, 28, 28, 1]', IA, /options\.test/, (c) => c.model.forget(c.forget, { retain: c.retain, test: { ...c.data, shape: [24, 28, 28, 1] } })],
    ['heldOutRetain.shape [20, 144] (same size)', IA, /options\.heldOutRetain has samples of shape \[144\]/, (c) => c.model.forget(c.forget, { retain: c.retain, test: c.data, heldOutRetain: { ...c.retain, shape: [20, 144] } })],
    ['holdout.shape [20, 144] (same size)', IA, /options\.holdout has samples of shape \[144\]/, (c) => c.model.forget(c.forget, { retain: c.retain, until: 'unseen', holdout: { ...c.retain, shape: [20, 144] } })],
  ]);
  add('model.forget', 'length', [
    ['forgetSet.y one short', IA, /forget\.y has 3 labels|forgetSet\.y/, (c) => c.model.forget({ ...c.forget, y: c.forget.y.subarray(0, 3) }, { retain: c.retain })],
    ['forgetSet empty', IA, /forget is empty/, (c) => c.model.forget(EMPTY, { retain: c.retain })],
    ['retain empty', IA, /retain is required by qmul/, (c) => c.model.forget(c.forget, { retain: EMPTY })],
    ["until: 'unseen' with 4 forget samples", IA, /needs at least 20 of each; got 24 held-out and 4 forget sample\(s\)/, forgetWith({ until: 'unseen', holdout: slice(synthetic(24, 8), 0, 24) })],
  ]);
  add('model.forget', 'label', [
    ['forgetSet.y[1] = 9', IA, /forget\.y\[1\] = 9 is not a class/, (c) => c.model.forget(relabel(c.forget, 1, 9), { retain: c.retain })],
    ['retain.y[5] = 9', IA, /retain\.y\[5\] = 9 is not a class/, (c) => c.model.forget(c.forget, { retain: relabel(c.retain, 5, 9) })],
    ['test.y[0] = 9', IA, /options\.test\.y\[0\] = 9 is not a class/, (c) => c.model.forget(c.forget, { retain: c.retain, test: relabel(c.data, 0, 9) })],
  ]);
  add('model.forget', 'hyperparameter', [
    ["method: 'sorcery'", IA, /method must be one of/, forgetWith({ method: 'sorcery' })],
    ['epochs: 0', IA, /epochs/, forgetWith({ epochs: 0 })],
    ['epochs: 1.5', IA, /options\.epochs/, forgetWith({ epochs: 1.5 })],
    ['epochs: 10001', IA, /epochs must be in \[1, 10000\]/, forgetWith({ epochs: 10001 })],
    ['batchSize: 0', IA, /options\.batchSize/, forgetWith({ batchSize: 0 })],
    ['batchSize: 1e9', IA, /options\.batchSize/, forgetWith({ batchSize: 1e9 })],
    ['lr: -1', IA, /lr must be a finite number > 0/, forgetWith({ lr: -1 })],
    ['lr: 0', IA, /lr must be a finite number > 0/, forgetWith({ lr: 0 })],
    ['lr: 1e30 (diverges)', FP, /unlearning diverged.*lr/, forgetWith({ method: 'ft', lr: 1e30 })],
    ['lr: 1e30, epochs: 2 (diverges in the last epoch)', FP, /diverged.*lr/, forgetWith({ method: 'ft', lr: 1e30, epochs: 2 })],
    ["qmulMode: 'parallel'", IA, /qmulMode must be 'mixed' or 'sequential'/, forgetWith({ qmulMode: 'parallel' })],
    ["until: 'forgotten'", IA, /options\.until must be 'unseen' \(sample requests, with options\.holdout\) or \{ forgetAccuracy \}/, forgetWith({ until: 'forgotten' })],
    ['until: { forgetAccuracy: 1.5 }', IA, /options\.until\.forgetAccuracy must be a fraction in \[0, 1\]/, forgetWith({ until: { forgetAccuracy: 1.5 } })],
    ['qmulRetainScanBatches: -1', IA, /qmulRetainScanBatches/, forgetWith({ qmulRetainScanBatches: -1 })],
    ['qmulRetainScanBatches: 1.5', IA, /qmulRetainScanBatches/, forgetWith({ qmulRetainScanBatches: 1.5 })],
    ["qmulScanMode: 'inference'", IA, /qmulScanMode must be 'train' or 'eval', got 'inference'/, forgetWith({ qmulScanMode: 'inference' })],
    ["qmulSimilarity: 'nearest'", IA, /qmulSimilarity must be 'prediction', 'confusion', 'embedding' or a numClasses x numClasses similarity matrix, got 'nearest'/, forgetWith({ qmulSimilarity: 'nearest' })],
    ["qmulSimilarity: 'matrix' (the name)", IA, /options\.qmulSimilarity: give the matrix itself/, forgetWith({ qmulSimilarity: 'matrix' })],
    ['qmulSimilarity: 8 x 8 (9 classes)', IA, /qmulSimilarity is 8 x 8, the model has 9 classes: it must be 9 x 9/, forgetWith({ qmulSimilarity: ringMatrix(8) })],
    ['qmulSimilarity: 10 x 10 (9 classes)', IA, /qmulSimilarity is 10 x 10, the model has 9 classes/, forgetWith({ qmulSimilarity: ringMatrix(10) })],
    ['qmulSimilarity: a ragged row', IA, /options\.qmulSimilarity\[4\] has 8 numbers, the matrix 9 rows: it must be square/, forgetWith({ qmulSimilarity: ringMatrix(9).map((row, y) => (y === 4 ? row.slice(1) : row)) })],
    ['qmulSimilarity: a row that is not an array', IA, /options\.qmulSimilarity\[2\] is not an array/, forgetWith({ qmulSimilarity: ringMatrix(9).map((row, y) => (y === 2 ? 1 : row)) })],
    ['qmulSimilarity: []', IA, /options\.qmulSimilarity must be 'prediction', 'confusion', 'embedding' or a similarity matrix/, forgetWith({ qmulSimilarity: [] })],
    ['qmulSimilarity: a string entry', IA, /options\.qmulSimilarity\[1\]\[3\] must be a finite number, found string/, forgetWith({ qmulSimilarity: withEntry(ringMatrix(9), 1, 3, '1') })],
    ['qmulSimilarity: no class named for class 6', IA, /qmulSimilarity\[6\] has no similarity > 0 off the diagonal: it names no class similar to class 6/, forgetWith({ qmulSimilarity: ringMatrix(9).map((row, y) => (y === 6 ? row.map((_, j) => (j === 6 ? 1 : 0)) : row)) })],
    ['l1Alpha: 2', IA, /l1Alpha must be in \[0, 1\]/, forgetWith({ method: 'l1sparse', l1Alpha: 2 })],
    ['l1Alpha: -1', IA, /l1Alpha/, forgetWith({ method: 'l1sparse', l1Alpha: -1 })],
    ['salunRatio: 0', IA, /salunRatio must be in \(0, 1\]/, forgetWith({ method: 'salun', salunRatio: 0 })],
    ['salunRatio: 1.5', IA, /salunRatio/, forgetWith({ method: 'salun', salunRatio: 1.5 })],
    ['bsEpsilon: -0.1', IA, /bsEpsilon must be in \[0, 1\]/, forgetWith({ method: 'bs', bsEpsilon: -0.1 })],
    ['bsEpsilon: 2', IA, /bsEpsilon/, forgetWith({ method: 'bs', bsEpsilon: 2 })],
    ["optimizer: 'rmsprop'", IA, /optimizer must be 'sgd' or 'adam'/, forgetWith({ optimizer: 'rmsprop' })],
    ['momentum: 1', IA, /momentum/, forgetWith({ momentum: 1 })],
    ["schedule: 'linear'", IA, /schedule must be/, forgetWith({ schedule: 'linear' })],
    ['seed: -1', IA, /options\.seed/, forgetWith({ seed: -1 })],
  ]);
  add('model.forget', 'nan-inf', [
    ['lr: NaN', IA, /options\.lr/, forgetWith({ lr: Number.NaN })],
    ['qmulSimilarity: a NaN entry', IA, /options\.qmulSimilarity\[0\]\[5\] must be a finite number, found null \(NaN and Infinity become null in JSON\)/, forgetWith({ qmulSimilarity: withEntry(ringMatrix(9), 0, 5, Number.NaN) })],
    ['qmulSimilarity: an Infinity entry', IA, /options\.qmulSimilarity\[3\]\[4\] must be a finite number, found null/, forgetWith({ qmulSimilarity: withEntry(ringMatrix(9), 3, 4, Infinity) })],
    ['epochs: Infinity', IA, /options\.epochs/, forgetWith({ epochs: Infinity })],
    ['momentum: NaN', IA, /options\.momentum/, forgetWith({ momentum: Number.NaN })],
    ['l1Alpha: NaN', IA, /options\.l1Alpha/, forgetWith({ method: 'l1sparse', l1Alpha: Number.NaN })],
    ['salunRatio: NaN', IA, /options\.salunRatio/, forgetWith({ method: 'salun', salunRatio: Number.NaN })],
    ['bsEpsilon: Infinity', IA, /options\.bsEpsilon/, forgetWith({ method: 'bs', bsEpsilon: Infinity })],
    ['until: { forgetAccuracy: NaN }', IA, /options\.until\.forgetAccuracy/, forgetWith({ until: { forgetAccuracy: Number.NaN } })],
  ]);
  add('model.forget', 'unknown-option', [
    ['options.colour', IA, /options\.colour: unknown option/, forgetWith({ colour: 1 })],
    ['options.clipNorm (a fit option)', IA, /options\.clipNorm: unknown option/, forgetWith({ clipNorm: 1 })],
    ['options.augment (a fit option)', IA, /options\.augment: unknown option/, forgetWith({ augment: { flip: true } })],
    ['options.until.lead', IA, /options\.until\.lead: unknown option/, forgetWith({ until: { forgetAccuracy: 0.1, lead: 1 } })],
  ]);
  add('model.forget', 'aborted', [
    ['an aborted signal', 'ABORTED', /forget was aborted before it started; the model is unchanged/, forgetWith({ signal: AbortSignal.abort() })],
    ['aborted after the first epoch', 'ABORTED', /forget was aborted after \d+ epoch\(s\); the model is unchanged/, (c) => {
      const controller = new AbortController();
      return c.model.forget(c.forget, { retain: c.retain, method: 'ft', epochs: 50, batchSize: 4, signal: controller.signal, onProgress: () => controller.abort() });
    }],
  ]);
  add('model.forget', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.forget(c.forget, { retain: c.retain })]]);

  // model.forget by rewind and auto: the subject has a checkpoint and one fit on c.trained.
  const rewind = (options, set = (c) => slice(c.trained, 0, 2)) => (c) => c.model.forget(set(c), { method: 'rewind', data: c.trained, ...options });
  add('model.forget', 'missing', [
    ["method 'rewind' without data", IA, /method 'rewind' replays the recorded fits: give their training data as options\.data/, rewind({ data: undefined })],
  ]);
  add('model.forget', 'unknown-option', [
    ["rewind with epochs", IA, /options\.epochs does not apply to method 'rewind'/, rewind({ epochs: 2 })],
    ["rewind with retain", IA, /options\.retain does not apply to method 'rewind'/, rewind({ retain: slice(synthetic(8, 2), 0, 8) })],
    ['data with qmul', IA, /options\.data is the training data a rewind replays/, forgetWith({ data: slice(synthetic(8, 2), 0, 8) })],
    ['budget with qmul', IA, /options\.budget goes with method 'auto'/, forgetWith({ budget: 1 })],
    ["rewind with until", IA, /options\.until does not apply to method 'rewind': a rewind replays the recorded fits to their end/, rewind({ until: { forgetAccuracy: 0 } })],
    ["auto with holdout", IA, /options\.holdout does not apply to method 'auto'/, rewind({ method: 'auto', holdout: slice(synthetic(24, 8), 0, 24) })],
  ]);
  add('model.forget', 'hyperparameter', [
    ['budget: -1', IA, /options\.budget must be a finite number >= 0/, rewind({ method: 'auto', budget: -1 })],
    ["budget: '1'", IA, /options\.budget must be a finite number >= 0/, rewind({ method: 'auto', budget: '1' })],
  ]);
  add('model.forget', 'nan-inf', [['budget: NaN', IA, /options\.budget must be a finite number >= 0/, rewind({ method: 'auto', budget: Number.NaN })]]);
  add('model.forget', 'dtype', [['data.x: an Array', IA, /options\.data\.x must be a Uint8Array/, (c) => rewind({ data: { ...c.trained, x: Array.from(c.trained.x) } })(c)]]);
  add('model.forget', 'shape', [['data.shape [48, 144] (same size)', IA, /options\.data has samples of shape \[144\]/, (c) => rewind({ data: { ...c.trained, shape: [48, 144] } })(c)]]);
  add('model.forget', 'label', [['data.y[0] = 9', IA, /options\.data\.y\[0\] = 9 is not a class/, (c) => rewind({ data: relabel(c.trained, 0, 9) })(c)]]);
  add('model.forget', 'unknown-sample', [
    ['a sample no recorded fit trained on', 'NOT_FOUND', /sample 0 of the forget set .* is in no fit recorded since the first checkpoint/, rewind({}, (c) => c.forget)],
    ['data lacking samples to replay', FP, /options\.data lacks 5 of the 47 sample\(s\) recorded fit 1 of 1/, (c) => rewind({ data: slice(c.trained, 0, 42) }, () => slice(c.trained, 47, 48))(c)],
  ]);
  add('model.forget', 'aborted', [
    ['a rewind aborted after its first epoch', 'ABORTED', /forget was aborted after 1 epoch\(s\); the model is unchanged/, (c) => {
      const controller = new AbortController();
      return rewind({ signal: controller.signal, onProgress: () => controller.abort() })(c);
    }],
  ]);

  // model.checkpoint, model.history, model.restoreHistory
  add('model.checkpoint', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.checkpoint()]]);
  add('model.history', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.history()]]);
  add('model.restoreHistory', 'option-type', [
    ['a string', IA, /history must be what model\.history\(\) returned/, (c) => c.model.restoreHistory('history')],
    ['no format', IA, /history must be what model\.history\(\) returned/, (c) => c.model.restoreHistory({ events: [] })],
    ['an event of unknown type', IA, /history\.events\[1\]\.type must be 'checkpoint', 'fit' or 'forget'/, (c) => {
      const h = c.model.history();
      h.events[1].type = 'train';
      return c.model.restoreHistory(h);
    }],
    ['starting with a fit', IA, /history\.events\[0\] must be a checkpoint/, (c) => {
      const h = c.model.history();
      h.events.shift();
      return c.model.restoreHistory(h);
    }],
  ]);
  add('model.restoreHistory', 'bytes', [
    ["a checkpoint's bytes damaged", DL, /history\.events\[0\]: the checkpoint's bytes do not match its modelSha256/, (c) => {
      const h = c.model.history();
      h.events[0].bytes[50] ^= 0x10;
      return c.model.restoreHistory(h);
    }],
    ["another model's history", FP, /the history ends at model .* but this model is/, (c) => c.model.restoreHistory(c.foreignHistory)],
  ]);
  add('model.restoreHistory', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.restoreHistory(null)]]);

  // model.save
  add('model.save', 'option-type', [
    ['options: null', IA, /options must be an object/, (c) => c.model.save(null)],
    ['options: a string', IA, /options must be an object/, (c) => c.model.save('shadow')],
    ['options: an array', IA, /options must be an object/, (c) => c.model.save([])],
    ["shadow: 'yes'", IA, /options\.shadow must be a boolean/, (c) => c.model.save({ shadow: 'yes' })],
    ['shadow: 1', IA, /options\.shadow must be a boolean/, (c) => c.model.save({ shadow: 1 })],
  ]);
  add('model.save', 'unknown-option', [
    ['options.compress', IA, /options\.compress: unknown option \(known: shadow\)/, (c) => c.model.save({ compress: true })],
  ]);
  add('model.save', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.save()]]);

  // model.dispose is idempotent and cannot fail: nothing to refuse.

  // qf.kernels.matmulU8S8
  const a8 = new Uint8Array(8), b32 = new Int8Array(32);
  add('qf.kernels.matmulU8S8', 'dtype', [
    ['a: an Int8Array', IA, /a must be a Uint8Array, got Int8Array/, mm(new Int8Array(8), b32, 2, 4, 8)],
    ['a: an Array', IA, /a must be a Uint8Array/, mm(Array.from(a8), b32, 2, 4, 8)],
    ['a: null', IA, /a must be a Uint8Array/, mm(null, b32, 2, 4, 8)],
    ['b: a Uint8Array', IA, /b must be a Int8Array, got Uint8Array|b must be an Int8Array/, mm(a8, new Uint8Array(32), 2, 4, 8)],
    ['b: a Float32Array', IA, /b must be a.* Int8Array/, mm(a8, new Float32Array(32), 2, 4, 8)],
    ["m: '2'", IA, /m must be an integer/, mm(a8, b32, '2', 4, 8)],
  ]);
  add('qf.kernels.matmulU8S8', 'length', [
    ['a: 7 elements for 2×4', IA, /a must have 8 elements, got 7/, mm(new Uint8Array(7), b32, 2, 4, 8)],
    ['b: 33 elements for 4×8', IA, /b must have 32 elements, got 33/, mm(a8, new Int8Array(33), 2, 4, 8)],
    ['m = n = 2^15, k = 1 (a 4 GiB result)', 'RESOURCE_EXHAUSTED', /memory|bytes|m|n/, mm(new Uint8Array(2 ** 15), new Int8Array(2 ** 15), 2 ** 15, 1, 2 ** 15), { isolated: true }],
  ]);
  add('qf.kernels.matmulU8S8', 'hyperparameter', [
    ['m: 0', IA, /m must be an integer in \[1,/, mm(new Uint8Array(0), b32, 0, 4, 8)],
    ['k: -1', IA, /k must be an integer/, mm(a8, b32, 2, -1, 8)],
    ['n: 1.5', IA, /n must be an integer/, mm(a8, b32, 2, 4, 1.5)],
    ['k: 65537 (the int32 accumulator could overflow)', IA, /depth k=65537 exceeds 65536/, mm(new Uint8Array(65537), new Int8Array(65537), 1, 65537, 1)],
    ['m: 2^31', IA, /m must be an integer/, mm(a8, b32, 2 ** 31, 4, 8)],
  ]);
  add('qf.kernels.matmulU8S8', 'nan-inf', [
    ['m: NaN', IA, /m must be an integer/, mm(a8, b32, Number.NaN, 4, 8)],
    ['n: Infinity', IA, /n must be an integer/, mm(a8, b32, 2, 4, Infinity)],
  ]);

  // qf.kernels.packMatrixS8
  add('qf.kernels.packMatrixS8', 'dtype', [
    ['b: a Uint8Array', IA, /b must be a.* Int8Array/, pack(new Uint8Array(32), 4, 8)],
    ['b: an Array', IA, /b must be a.* Int8Array/, pack(Array.from(b32), 4, 8)],
    ['b: null', IA, /b must be a.* Int8Array/, pack(null, 4, 8)],
  ]);
  add('qf.kernels.packMatrixS8', 'length', [
    ['b: 31 elements for 4×8', IA, /b must have 32 elements, got 31/, pack(new Int8Array(31), 4, 8)],
  ]);
  add('qf.kernels.packMatrixS8', 'hyperparameter', [
    ['k: 0', IA, /k must be an integer/, pack(new Int8Array(0), 0, 8)],
    ['n: -1', IA, /n must be an integer/, pack(b32, 4, -1)],
    ['k: 1.5', IA, /k must be an integer/, pack(b32, 1.5, 8)],
    ['k: 65537', IA, /depth k=65537 exceeds 65536/, pack(new Int8Array(65537), 65537, 1)],
  ]);
  add('qf.kernels.packMatrixS8', 'nan-inf', [
    ['k: NaN', IA, /k must be an integer/, pack(b32, Number.NaN, 8)],
  ]);

  // packed.matmul
  add('packed.matmul', 'dtype', [
    ['a: an Int8Array', IA, /a must be a Uint8Array/, (c) => c.packed.matmul(new Int8Array(8), 2)],
    ['a: an Array', IA, /a must be a Uint8Array/, (c) => c.packed.matmul([0, 0, 0, 0], 1)],
  ]);
  add('packed.matmul', 'length', [
    ['a: 9 elements for 2×4', IA, /a must have 8 elements, got 9/, (c) => c.packed.matmul(new Uint8Array(9), 2)],
    ['m = 2^15 with n = 2^15 (a 4 GiB result)', 'RESOURCE_EXHAUSTED', /memory|bytes|m/, (c) => c.qf.kernels.packMatrixS8(new Int8Array(2 ** 15), 1, 2 ** 15).matmul(new Uint8Array(2 ** 15), 2 ** 15), { isolated: true }],
  ]);
  add('packed.matmul', 'hyperparameter', [
    ['m: 0', IA, /m must be an integer/, (c) => c.packed.matmul(new Uint8Array(0), 0)],
    ['m: -2', IA, /m must be an integer/, (c) => c.packed.matmul(a8, -2)],
  ]);
  add('packed.matmul', 'nan-inf', [['m: NaN', IA, /m must be an integer/, (c) => c.packed.matmul(a8, Number.NaN)]]);
  add('packed.matmul', 'disposed', [
    ['after dispose', FP, /PackedMatrixS8 was disposed/, (c) => {
      const p = c.qf.kernels.packMatrixS8(b32, 4, 8);
      p.dispose();
      return p.matmul(a8, 2);
    }],
  ]);

  // qf.importOnnx: what JS refuses (types, options, bytes that are no ONNX model) and what
  // the engine does (the graph).
  const importOnnx = (bytes, options) => (c) => c.qf.importOnnx(bytes, options);
  const onnxOptions = (options) => importOnnx(ONNX_LENET, options);
  add('qf.importOnnx', 'dtype', [
    ['bytes: an Array', IA, /bytes must be a Uint8Array, got Array/, importOnnx(Array.from(ONNX_LENET))],
    ['bytes: an ArrayBuffer', IA, /bytes must be a Uint8Array, got ArrayBuffer/, importOnnx(ONNX_LENET.slice().buffer)],
    ['bytes: null', IA, /bytes must be a Uint8Array/, importOnnx(null)],
    ['bytes: a string', IA, /bytes must be a Uint8Array/, importOnnx('model.onnx')],
  ]);
  add('qf.importOnnx', 'option-type', [
    ['options: null', IA, /options must be an object/, onnxOptions(null)],
    ['options: a string', IA, /options must be an object/, onnxOptions('nchw')],
    ['options: an array', IA, /options must be an object/, onnxOptions([32])],
    ["weightBits: '4'", IA, /options\.weightBits must be a number, got string/, onnxOptions({ weightBits: '4' })],
    ["perChannel: 'yes'", IA, /options\.perChannel must be a boolean/, onnxOptions({ perChannel: 'yes' })],
    ['preprocess: an array', IA, /options\.preprocess must be an object/, onnxOptions({ preprocess: [1] })],
    ['output: 3', IA, /options\.output must be a string/, onnxOptions({ output: 3 })],
    ['inputLayout: null', IA, /options\.inputLayout must be a string/, onnxOptions({ inputLayout: null })],
  ]);
  add('qf.importOnnx', 'unknown-option', [
    ['options.colour', IA, /options\.colour: unknown option \(known: weightBits/, onnxOptions({ colour: 1 })],
    ['options.layout (not inputLayout)', IA, /options\.layout: unknown option/, onnxOptions({ layout: 'nchw' })],
  ]);
  add('qf.importOnnx', 'hyperparameter', [
    ['weightBits: 5', IA, /options\.weightBits must be 2, 3, 4, 8 or 32/, onnxOptions({ weightBits: 5 })],
    ['edgeBits: 1', IA, /options\.edgeBits must be 2, 3, 4, 8 or 32/, onnxOptions({ edgeBits: 1 })],
    ["inputType: 'int8'", IA, /options\.inputType must be 'float32' or 'uint8'/, onnxOptions({ inputType: 'int8' })],
    ["inputLayout: 'NCHW'", IA, /options\.inputLayout must be 'nchw' or 'nhwc'/, onnxOptions({ inputLayout: 'NCHW' })],
    ['seed: -1', IA, /options\.seed/, onnxOptions({ seed: -1 })],
    ["output: 'logits' (no such output)", IA, /logits/, onnxOptions({ output: 'logits' })],
  ]);
  add('qf.importOnnx', 'nan-inf', [['weightBits: NaN', IA, /options\.weightBits/, onnxOptions({ weightBits: Number.NaN })]]);
  add('qf.importOnnx', 'bytes', [
    ['empty', IA, /ONNX: the bytes are empty/, importOnnx(new Uint8Array(0))],
    ['truncated at half', DL, /ONNX: the bytes are not a valid ONNX protobuf/, importOnnx(ONNX_LENET.subarray(0, ONNX_LENET.length >> 1))],
    ['truncated by 1 byte', DL, /ONNX: the bytes are not a valid ONNX protobuf/, importOnnx(ONNX_LENET.subarray(0, ONNX_LENET.length - 1))],
    ['random bytes', DL, /ONNX: the bytes are not a valid ONNX protobuf/, importOnnx(ONNX_JUNK)],
    ['text', DL, /ONNX: the bytes are not a valid ONNX protobuf/, importOnnx(new TextEncoder().encode('not an ONNX model at all, just text'))],
    ['a qforget model file', DL, /ONNX: the bytes are not a valid ONNX protobuf/, (c) => c.qf.importOnnx(c.bytes)],
    ['a protobuf that is not a model', IA, /ONNX: the bytes are a protobuf but not an ONNX model/, importOnnx(new Uint8Array([0x7a, 3, 0x61, 0x62, 0x63]))],
    ['a ModelProto without a graph', IA, /not an ONNX model/, importOnnx(editModel(ONNX_LENET, (m) => { m.graph = null; }))],
    ['a pad of 2^60 (saturated to 2^53)', IA, /pads/, importOnnx(editModel(ONNX_LENET, (m) => {
      m.graph.node.find((n) => n.opType === 'Conv').attribute.find((a) => a.name === 'pads').ints = [2 ** 60, 0, 0, 0];
    }))],
  ]);
  add('qf.importOnnx', 'graph', [
    ['an unsupported op (Einsum)', 'UNIMPLEMENTED', /Einsum/, importOnnx(onnxWithOp('Relu', 'Einsum'))],
    ['an op of another domain', 'UNIMPLEMENTED', /com\.example|Relu/, importOnnx(editModel(ONNX_LENET, (m) => {
      m.graph.node.find((n) => n.opType === 'Relu').domain = 'com.example';
    }))],
    ['an initializer 4 bytes short of its dims', DL, /conv_weight/, importOnnx(editModel(ONNX_LENET, (m) => {
      const t = m.graph.initializer[0];
      t.rawData = t.rawData.slice(0, t.rawData.length - 4);
    }))],
    ['an initializer with external data', 'DATA_LOSS', /external file/, importOnnx(editModel(ONNX_LENET, (m, onnx) => {
      const t = m.graph.initializer[0];
      t.rawData = new Uint8Array(0);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [{ key: 'location', value: 'weights.bin' }];
    }))],
    ['a node input nothing produces', IA, /nowhere/, importOnnx(editModel(ONNX_LENET, (m) => {
      m.graph.node.find((n) => n.opType === 'Relu').input[0] = 'nowhere';
    }))],
    ['two graph outputs and no options.output', IA, /output/, importOnnx(editModel(ONNX_LENET, (m) => {
      m.graph.output.push({ ...m.graph.output[0], name: m.graph.node.find((n) => n.opType === 'Relu').output[0] });
    }))],
  ]);

  // model.toOnnx
  add('model.toOnnx', 'option-type', [
    ['options: null', IA, /options must be an object/, (c) => c.model.toOnnx(null)],
    ['options: a string', IA, /options must be an object/, (c) => c.model.toOnnx('qdq')],
    ['format: 8', IA, /options\.format must be 'qdq' or 'float', got 8/, (c) => c.model.toOnnx({ format: 8 })],
  ]);
  add('model.toOnnx', 'hyperparameter', [
    ["format: 'int4'", IA, /options\.format must be 'qdq' or 'float', got 'int4'/, (c) => c.model.toOnnx({ format: 'int4' })],
  ]);
  add('model.toOnnx', 'unknown-option', [
    ['options.fmt', IA, /options\.fmt: unknown option \(known: format\)/, (c) => c.model.toOnnx({ fmt: 'qdq' })],
  ]);
  add('model.toOnnx', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.toOnnx()]]);

  // verifyReceipts: a log that does not verify is a result ({ok: false}), not an error;
  // what is not a log at all is refused.
  add('verifyReceipts', 'option-type', [
    ['receipts: null', IA, /receipts must be an array/, () => verifyReceipts(null)],
    ['receipts: a string', IA, /receipts must be an array/, () => verifyReceipts('[]')],
    ['receipts: one receipt, not a list', IA, /receipts must be an array/, () => verifyReceipts({ sha256: '0'.repeat(64) })],
    ['receipts missing', IA, /receipts must be an array/, () => verifyReceipts()],
    ['options: null', IA, /options/, () => verifyReceipts([], null)],
    ['options: a string', IA, /options/, () => verifyReceipts([], 'previous')],
    ['options.previous: 42', IA, /options\.previous/, () => verifyReceipts([], { previous: 42 })],
  ]);
  add('verifyReceipts', 'unknown-option', [
    ['options.prev', IA, /options\.prev/, () => verifyReceipts([], { prev: 'a'.repeat(64) })],
  ]);
  add('verifyReceipts', 'option-type', [
    ['options.publicKeys: a string', IA, /options\.publicKeys must be an array/, () => verifyReceipts([], { publicKeys: 'spki' })],
    ['options.publicKeys[0]: 42', IA, /options\.publicKeys\[0\] must be an ECDSA P-256 public CryptoKey/, () => verifyReceipts([], { publicKeys: [42] })],
    ['options.requireSignatures: 1', IA, /options\.requireSignatures must be a boolean/, () => verifyReceipts([], { publicKeys: [], requireSignatures: 1 })],
  ]);
  add('exportAudit', 'option-type', [
    ['log: null', IA, /log must be an array/, () => exportAudit(null, { format: 'html' })],
    ['options missing', IA, /options must be an object/, () => exportAudit([])],
    ["format: 'pdf'", IA, /options\.format must be 'jsonl' or 'html', got "pdf"/, () => exportAudit([], { format: 'pdf' })],
    ['title: 3', IA, /options\.title must be a string/, () => exportAudit([], { format: 'html', title: 3 })],
  ]);
  add('exportAudit', 'unknown-option', [
    ['options.fmt', IA, /options\.fmt: unknown option/, () => exportAudit([], { format: 'html', fmt: 'x' })],
  ]);
  add('qf.replayReceipt', 'option-type', [
    ['receipt: null', IA, /receipt must be an object/, (c) => c.qf.replayReceipt(null, { model: c.model, forget: c.forget })],
    ['receipt: not sealed', IA, /receipt: its contents do not match its sha256/, (c) => c.qf.replayReceipt({ sha256: 'a'.repeat(64) }, { model: c.model, forget: c.forget })],
    ['sets: null', IA, /the second argument must be an object/, (c) => c.qf.replayReceipt({}, null)],
  ]);
  return rows;
}

export const MAIN_CASES = mainRows();

/** The key a case is looked up by (in the isolated thread, too). */
export const caseKey = (c) => `${c.api}: ${c.name}`;

// ---- the worker-API table (a representative subset) -----------------------------------------

/** What the worker cases work on: `remote` is the subject, hashed before and after. */
export async function workerContext(worker, bytes) {
  const data = synthetic(24, 8);
  const disposed = await worker.createModel(SPEC);
  await disposed.dispose();
  return {
    worker,
    remote: await worker.loadModel(bytes),
    disposed,
    data,
    forget: slice(data, 0, 4),
    retain: slice(data, 4, 24),
    bytes,
  };
}

function workerRows() {
  const IA = 'INVALID_ARGUMENT', DL = 'DATA_LOSS', FP = 'FAILED_PRECONDITION';
  const rows = [];
  const add = (api, cls, list) => {
    for (const [name, code, message, run, extra] of list) rows.push({ api, cls, name, code, message, run, ...extra });
  };
  const create = (over) => (c) => c.worker.createModel({ ...SPEC, ...over });
  const fit = (options) => (c) => c.remote.fit(c.data, options);
  const forgetWith = (options) => (c) => c.remote.forget(c.forget, { retain: c.retain, ...options });
  const load = (make) => (c) => c.worker.loadModel(make(c.bytes));
  const x1 = new Uint8Array(144);

  add('worker.createModel', 'option-type', [
    ['null', IA, /options must be an object/, (c) => c.worker.createModel(null)],
    ['a string', IA, /options must be an object/, (c) => c.worker.createModel('mlp')],
    ['a function inside', IA, /options\.seed is a function and cannot be sent/, create({ seed: () => 1 })],
  ]);
  add('worker.createModel', 'hyperparameter', [
    ['weightBits: 5', IA, /weightBits must be 2, 3, 4, 8 or 32/, create({ weightBits: 5 })],
    ['numClasses: 0', IA, /numClasses/, create({ numClasses: 0 })],
  ]);
  add('worker.createModel', 'shape', [
    ['inputShape [0, 12, 1]', IA, /inputShape/, create({ inputShape: [0, 12, 1] })],
    ['inputShape [-1, 12, 1]', IA, /inputShape/, create({ inputShape: [-1, 12, 1] })],
  ]);
  add('worker.createModel', 'nan-inf', [['numClasses: NaN', IA, /numClasses/, create({ numClasses: Number.NaN })]]);
  add('worker.createModel', 'unknown-option', [['options.colour', IA, /colour/, create({ colour: 'red' })]]);

  add('worker.importOnnx', 'bytes', [
    ['random bytes', DL, /ONNX: the bytes are not a valid ONNX protobuf/, (c) => c.worker.importOnnx(ONNX_JUNK)],
    ['an unsupported op (Einsum)', 'UNIMPLEMENTED', /Einsum/, (c) => c.worker.importOnnx(onnxWithOp('Relu', 'Einsum'))],
  ]);
  add('worker.importOnnx', 'dtype', [['bytes: an Array', IA, /bytes must be a Uint8Array/, (c) => c.worker.importOnnx(Array.from(ONNX_LENET))]]);
  add('worker.importOnnx', 'unknown-option', [['options.colour', IA, /options\.colour: unknown option/, (c) => c.worker.importOnnx(ONNX_LENET, { colour: 1 })]]);
  add('worker.importOnnx', 'option-type', [['options: a function inside', IA, /options\.output is a function and cannot be sent/, (c) => c.worker.importOnnx(ONNX_LENET, { output: () => 'x' })]]);
  add('remote.toOnnx', 'hyperparameter', [["format: 'int4'", IA, /options\.format must be 'qdq' or 'float'/, (c) => c.remote.toOnnx({ format: 'int4' })]]);
  add('remote.toOnnx', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.toOnnx()]]);

  add('remote.predict', 'dtype', [
    ['x: an Array', IA, /x must be a Uint8Array/, (c) => c.remote.predict(Array.from(x1))],
    ['x: a Float32Array (the model takes pixels)', IA, /x holds float32 values, the model takes uint8/, (c) => c.remote.predict(new Float32Array(144))],
  ]);
  add('remote.predict', 'length', [['x: 10 values', IA, /x has 10 values/, (c) => c.remote.predict(new Uint8Array(10))]]);
  add('remote.predict', 'unknown-option', [['a sample count after x', IA, /predict\(x\) takes the samples only/, (c) => c.remote.predict(x1, 1)]]);
  add('remote.predict', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.predict(x1)]]);

  add('remote.fit', 'option-type', [
    ['options: null', IA, /options must be an object/, (c) => c.remote.fit(c.data, null)],
    ['options: a string', IA, /options must be an object/, (c) => c.remote.fit(c.data, 'fast')],
    ['options: an array', IA, /options must be an object/, (c) => c.remote.fit(c.data, [])],
    ['onProgress: 3', IA, /options\.onProgress must be a function/, fit({ onProgress: 3 })],
    ["signal: 'stop'", IA, /options\.signal must be an AbortSignal/, fit({ signal: 'stop' })],
    ['schedule: a function', IA, /options\.schedule is a function and cannot be sent/, fit({ schedule: () => 0.1 })],
  ]);
  add('remote.fit', 'label', [['y[4] = 9', IA, /dataset\.y\[4\] = 9 is not a class/, (c) => c.remote.fit(relabel(c.data, 4, 9))]]);
  add('remote.fit', 'shape', [['shape [24, 144] (same size)', IA, /dataset has samples of shape \[144\]/, (c) => c.remote.fit({ ...c.data, shape: [24, 144] })]]);
  add('remote.fit', 'hyperparameter', [
    ['epochs: 0', IA, /options\.epochs/, fit({ epochs: 0 })],
    ['epochs: 1.5', IA, /options\.epochs/, fit({ epochs: 1.5 })],
    ['batchSize: 0', IA, /options\.batchSize/, fit({ batchSize: 0 })],
    ['lr: -1', IA, /lr must be a finite number > 0/, fit({ lr: -1 })],
  ]);
  add('remote.fit', 'nan-inf', [
    ['lr: NaN', IA, /options\.lr/, fit({ lr: Number.NaN })],
    ['epochs: Infinity', IA, /options\.epochs/, fit({ epochs: Infinity })],
  ]);
  add('remote.fit', 'unknown-option', [['options.epoch', IA, /options\.epoch: unknown option/, fit({ epoch: 3 })]]);
  add('remote.fit', 'aborted', [['an aborted signal', 'ABORTED', /fit was aborted before it started/, fit({ signal: AbortSignal.abort() })]]);
  add('remote.fit', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.fit(c.data)]]);

  add('remote.forget', 'missing', [['options: {}', IA, /retain is required by qmul: the training data that stays, or a sample of it \(ga and bs run without it\)/, (c) => c.remote.forget(c.forget, {})]]);
  add('remote.forget', 'option-type', [
    ['options: null', IA, /options must be an object/, (c) => c.remote.forget(c.forget, null)],
    ["previousReceipt: 'abc'", IA, /options\.previousReceipt/, forgetWith({ previousReceipt: 'abc' })],
  ]);
  add('remote.forget', 'hyperparameter', [
    ["method: 'sorcery'", IA, /method must be one of/, forgetWith({ method: 'sorcery' })],
    ['epochs: 1.5', IA, /options\.epochs/, forgetWith({ epochs: 1.5 })],
    ['salunRatio: 0', IA, /salunRatio/, forgetWith({ method: 'salun', salunRatio: 0 })],
  ]);
  add('remote.forget', 'nan-inf', [['lr: NaN', IA, /options\.lr/, forgetWith({ lr: Number.NaN })]]);
  add('remote.forget', 'length', [['forgetSet empty', IA, /forget is empty/, (c) => c.remote.forget({ x: new Uint8Array(0), y: new Uint8Array(0), shape: [0, 12, 12, 1] }, { retain: c.retain })]]);
  add('remote.forget', 'label', [['forgetSet.y[1] = 9', IA, /forget\.y\[1\] = 9 is not a class/, (c) => c.remote.forget(relabel(c.forget, 1, 9), { retain: c.retain })]]);
  add('remote.forget', 'unknown-option', [['options.colour', IA, /options\.colour: unknown option/, forgetWith({ colour: 1 })]]);
  add('remote.forget', 'aborted', [
    ['an aborted signal', 'ABORTED', /before it started; the model is unchanged/, forgetWith({ signal: AbortSignal.abort() })],
    ['aborted after the first epoch', 'ABORTED', /the model is unchanged/, (c) => {
      const controller = new AbortController();
      return c.remote.forget(c.forget, { retain: c.retain, method: 'ft', epochs: 50, batchSize: 4, signal: controller.signal, onProgress: () => controller.abort() });
    }],
  ]);
  add('remote.forget', 'disposed', [['after dispose', FP, /the model was disposed/, (c) => c.disposed.forget(c.forget, { retain: c.retain })]]);

  add('worker.loadModel', 'dtype', [
    ['an Array', IA, /bytes must be a Uint8Array/, (c) => c.worker.loadModel(Array.from(c.bytes))],
    ['null', IA, /bytes must be a Uint8Array/, (c) => c.worker.loadModel(null)],
  ]);
  add('worker.loadModel', 'bytes', [
    ['empty', DL, /model file: truncated/, load(() => new Uint8Array(0))],
    ['truncated by 1 byte', DL, /model file: checksum mismatch/, load((b) => b.subarray(0, b.length - 1))],
    ['a flipped byte in the middle', DL, /model file: checksum mismatch/, load((b) => {
      const out = b.slice();
      out[b.length >> 1] ^= 0x10;
      return out;
    })],
    ['foreign: text', DL, /model file: not a qforget model file/, load(() => new TextEncoder().encode('not a model at all, just some text'))],
    ['newer version (5, resealed)', 'UNIMPLEMENTED', /version 5 is newer/, load((b) => rebuildModelFile(b, { version: 5 }))],
    ['header: numClasses 10 (resealed)', DL, /model file: header\.model/, load((b) => rebuildModelFile(b, { header: (h) => (h.model.numClasses = 10) }))],
  ]);
  return rows;
}

export const WORKER_CASES = workerRows();

// ---- running one case ----------------------------------------------------------------------

/**
 * Runs `c` against `ctx` and returns what happened as plain data (it crosses threads):
 * {settled: 'throw' | 'reject' | 'return' | 'resolve', qforgetError, ctor, code, message}.
 */
export async function runCase(c, ctx) {
  let result;
  try {
    result = c.run(ctx);
  } catch (error) {
    return outcome('throw', error);
  }
  if (!(result instanceof Promise)) return { settled: 'return', qforgetError: false };
  try {
    await result;
    return { settled: 'resolve', qforgetError: false };
  } catch (error) {
    return outcome('reject', error);
  }
}

function outcome(settled, error) {
  return {
    settled,
    qforgetError: error instanceof QforgetError,
    ctor: error?.constructor?.name ?? typeof error,
    code: error?.code,
    message: typeof error?.message === 'string' ? error.message : String(error),
  };
}

/**
 * The SHA-256 of model.save() and of its ledger (model.history(), checkpoint bytes by
 * their hash), or why that failed (a changed model either way).
 */
export async function modelHash(model) {
  try {
    const ledger = JSON.stringify(await model.history(), (key, v) => (v instanceof Uint8Array ? sha256(v) : v));
    return `${sha256(await model.save())}:${sha256(ledger)}`;
  } catch (error) {
    return `save() failed: ${error?.message}`;
  }
}

// ---- the isolated thread ------------------------------------------------------------------

// Runs one case in a fresh engine instance and reports the outcome, whether the subject
// model changed, and whether the instance still predicts afterwards.
if (!isMainThread && workerData?.badInputCase) {
  const { key, simd } = workerData.badInputCase;
  const c = MAIN_CASES.find((row) => caseKey(row) === key);
  const qf = await createQforget({ simd });
  const ctx = await mainContext(qf);
  const before = await modelHash(ctx.model);
  const result = await runCase(c, ctx);
  let stillWorks;
  try {
    stillWorks = ctx.model.predict(ctx.data.x).length === 24 * 9 && (await modelHash(ctx.model)) === before;
  } catch {
    stillWorks = false;
  }
  result.changed = (await modelHash(ctx.model)) !== before;
  result.stillWorks = stillWorks;
  parentPort.postMessage(result);
}
