// The qforget package entry: loads the threaded, the SIMD or the no-SIMD wasm build and
// wraps it in the JS API. No math here; the engine does the work, this file moves bytes and
// turns engine errors into QforgetError.
import { labelType } from './dtypes.js';
import { QforgetError, checkArray, checkDim, checkOptions, guardMethods, invalid, typeName, unwrap } from './errors.js';
import { wasmUrl as bundledWasmUrl, threadsGlueUrl, threadsWorkerUrl } from './files.js';
import { withHeap } from './heap.js';
import { Kernels } from './kernels.js';
import { checkDataset, heapDataset } from './datasets.js';
import { Model, handleOf, isLive, occupy, runMetrics, withImportReport } from './model.js';
import { isNode, nodeBuiltin } from './platform.js';
import { datasetSha256, receiptSha256, sha256 } from './receipts.js';
// Every build's glue, imported statically: a dynamic import would make a worker's bundle a
// code-split one, which Vite's default worker format (iife) refuses. 15 kB gzipped each.
import createSimdModule from './dist/qforget-simd.js';
import createNoSimdModule from './dist/qforget-nosimd.js';
import createThreadsModule from './dist/qforget-threads.js';

export { QforgetError } from './errors.js';
export { liveHandles } from './handles.js';
export { Model } from './model.js';
export { RECEIPT_FORMAT, REQUEST_LIMITS, keyFingerprint, verifyReceipts } from './receipts.js';
export { exportAudit } from './audit.js';

// (func (result v128) i8x16.splat(0) i32x4.dot_i16x8_s i8x16.splat(0)): validates only
// where the engine's SIMD instructions exist.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01,
  0x7b, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x0f, 0x01, 0x0d, 0x00, 0x41, 0x00, 0xfd, 0x0f,
  0x41, 0x00, 0xfd, 0x0f, 0xfd, 0xba, 0x01, 0x0b,
]);

/** True when this runtime can run the SIMD build. */
export function simdSupported() {
  return WebAssembly.validate(SIMD_PROBE);
}

/** The most threads an engine runs (src/core/thread_pool.h, kMaxThreads). */
const MAX_THREADS = 16;

/**
 * The thread count `threads: 'auto'` asks for: the machine's cores
 * (`os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in a browser), at
 * most 8. A fit or forget is the work the caller is waiting for, so it takes every core;
 * the cap of 8 is a guess (scaling is measured at 2 threads only: bench/RESULTS.md).
 */
export function autoThreads() {
  const cores = isNode ? globalThis.process.getBuiltinModule?.('os')?.availableParallelism?.() : globalThis.navigator?.hardwareConcurrency;
  return Math.max(1, Math.min(8, Number.isSafeInteger(cores) ? cores : 1));
}

/** Why this runtime cannot run the threaded build, or null when it can. */
export function threadsUnavailable() {
  if (!simdSupported()) return 'the threaded build needs WebAssembly SIMD, which this runtime lacks';
  if (isNode && typeof globalThis.process.getBuiltinModule !== 'function') {
    return `threads need Node 20.16 or later (this is ${globalThis.process.version})`;
  }
  if (!isNode && !globalThis.crossOriginIsolated) {
    return 'the page is not cross-origin isolated: serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp';
  }
  if (typeof SharedArrayBuffer !== 'function') return 'this runtime has no SharedArrayBuffer';
  return null;
}

// Which build, how many threads, and why fewer than asked (null when as asked).
function planBuild(simd, threads) {
  const wanted = threads === 'auto' ? autoThreads() : threads;
  const useSimd = simd === 'auto' ? simdSupported() : simd;
  const single = useSimd ? 'simd' : 'nosimd';
  if (wanted === 1) return { build: single, threads: 1, threadsReason: null };
  const reason = simd === false ? 'the threaded build has SIMD, and options.simd is false' : threadsUnavailable();
  if (reason) return { build: single, threads: 1, threadsReason: `${wanted} threads asked for, 1 runs: ${reason}` };
  return { build: 'threads', threads: wanted, threadsReason: null };
}

// 'simd' | 'nosimd' | 'threads/<n>' -> Map(options.locateFile (a function or undefined) -> Promise<Qforget>)
const instances = new Map();

/**
 * Loads qforget once per build (and thread count) and per `locateFile` and returns the
 * cached instance: a call with another `locateFile` function (files from elsewhere) gets
 * an instance of its own, never one loaded from other files.
 *
 * `threads`: 'auto' (the default: autoThreads()), or a number from 1 to 16. More than one
 * runs the threaded build where it can run (Node 20.16+, or a cross-origin isolated page
 * with SharedArrayBuffer, and SIMD); elsewhere one thread runs, and `qf.threadsReason`
 * says why. Any thread count gives the same results, bit for bit.
 * @param {{simd?: 'auto'|boolean, threads?: 'auto'|number, locateFile?: (file: string) => string|URL}} [options]
 */
export function createQforget(options = {}) {
  try {
    const { simd: _, threads: __, locateFile: ___, ...unknown } = checkOptions('options', options);
    if (Object.keys(unknown).length) throw invalid(`options.${Object.keys(unknown)[0]}: unknown option (known: simd, threads, locateFile)`);
  } catch (error) {
    return Promise.reject(error);
  }
  const { simd = 'auto', threads = 'auto', locateFile } = options;
  if (simd !== 'auto' && simd !== true && simd !== false) {
    return Promise.reject(invalid(`options.simd must be 'auto', true or false, got ${String(simd)}`));
  }
  if (threads !== 'auto' && !(Number.isSafeInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    return Promise.reject(invalid(`options.threads must be 'auto' or an integer from 1 to ${MAX_THREADS}, got ${typeof threads === 'string' ? `'${threads}'` : String(threads)}`));
  }
  if (locateFile !== undefined && typeof locateFile !== 'function') {
    return Promise.reject(invalid('options.locateFile must be a function'));
  }
  if (simd === true && !simdSupported()) {
    return Promise.reject(new QforgetError('UNIMPLEMENTED', 'options.simd is true but this runtime has no WebAssembly SIMD'));
  }
  const plan = planBuild(simd, threads);
  const key = plan.build === 'threads' ? `threads/${plan.threads}` : plan.build;
  if (!instances.has(key)) instances.set(key, new Map());
  const cache = instances.get(key);
  if (!cache.has(locateFile)) {
    // A failed load may be retried; a crashed instance is not handed out again.
    const forget = () => cache.delete(locateFile);
    cache.set(locateFile, load(plan, { simd, threads, locateFile }, forget).catch((error) => {
      forget();
      throw error;
    }));
  }
  return cache.get(locateFile);
}

// Each build's glue factory; its .wasm is named in ./files.js.
const FACTORIES = { simd: createSimdModule, nosimd: createNoSimdModule, threads: createThreadsModule };

// The threaded build's pthread script, which the glue starts workers from: Node runs a
// CommonJS copy (.cjs: the package is "type": "module").
function threadsWorker(locateFile) {
  const file = `qforget-threads.worker.${isNode ? 'cjs' : 'js'}`;
  const url = locateFile ? new URL(String(locateFile(file)), globalThis.location?.href ?? import.meta.url) : threadsWorkerUrl(file);
  return isNode && url.protocol === 'file:' ? globalThis.process.getBuiltinModule('url').fileURLToPath(url) : String(url);
}

async function load({ build, threads, threadsReason }, asked, onLost) {
  const { locateFile } = asked;
  const base = `qforget-${build}`;
  const wasmUrl = String(locateFile ? locateFile(`${base}.wasm`) : bundledWasmUrl(build));
  const missing = (url, error) => new QforgetError('NOT_FOUND', `could not load ${url} (see options.locateFile): ${error.message}`);
  let factory = FACTORIES[build];
  // Self-hosted or CDN files: the glue comes from there too, so it matches the .wasm.
  const glueUrl = locateFile ? String(locateFile(`${base}.js`)) : null;
  if (locateFile) {
    try {
      ({ default: factory } = await import(/* webpackIgnore: true */ /* @vite-ignore */ glueUrl));
    } catch (error) {
      throw missing(glueUrl, error);
    }
  }
  // The .wasm (and the threaded build's pthread script) is all the glue asks for (no file
  // system, -sFILESYSTEM=0).
  const worker = build === 'threads' ? threadsWorker(locateFile) : null;
  const moduleOptions = { locateFile: (file) => (file.endsWith('.wasm') ? wasmUrl : file.endsWith('.worker.js') ? worker : file) };
  if (build === 'threads') {
    // It starts its workers before the first call (CMakeLists.txt), and they import the
    // glue from this URL (files.js, threadsGlueUrl).
    moduleOptions.qforgetPoolSize = threads - 1;
    moduleOptions.mainScriptUrlOrBlob = String(glueUrl ? new URL(glueUrl, globalThis.location?.href ?? import.meta.url) : threadsGlueUrl());
  }
  if (isNode) {
    // Emscripten 3.1.6 hands Node's fetch a file path; give it the bytes instead.
    const { readFile } = await nodeBuiltin('fs/promises');
    try {
      moduleOptions.wasmBinary = await readFile(wasmUrl.startsWith('file:') ? new URL(wasmUrl) : wasmUrl);
    } catch (error) {
      throw missing(wasmUrl, error);
    }
  }
  let module;
  try {
    module = await factory(moduleOptions);
  } catch (error) {
    throw new QforgetError('INTERNAL', `the ${build} build could not start: ${error?.message ?? error}`);
  }
  unwrap(module.setThreads(threads));
  // Node: the pool's workers (worker_threads, started with the module) must not keep the
  // process alive once the caller is done; they wait for work the rest of the time.
  if (build === 'threads' && isNode) {
    for (const worker of [...module.PThread.unusedWorkers, ...module.PThread.runningWorkers]) worker.unref();
  }
  // A crashed instance is not handed out again; a model that survives the crash moves
  // into the fresh one (model.js, #survive).
  module.qforgetOnLost = onLost;
  module.qforgetRelaunch = async () => moduleOf(await createQforget(asked));
  return new Qforget(module, { build, threads, threadsReason });
}

let moduleOf;  // the emscripten module of a Qforget

// importOnnx's options: known keys and their JSON types (the engine checks the values).
const IMPORT_OPTIONS = {
  weightBits: 'number', edgeBits: 'number', perChannel: 'boolean', inputType: 'string',
  preprocess: 'object', inputLayout: 'string', inputNonNegative: 'boolean', output: 'string', seed: 'number',
};

function checkImportOptions(options) {
  checkOptions('options', options);
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(IMPORT_OPTIONS, key)) throw invalid(`options.${key}: unknown option (known: ${Object.keys(IMPORT_OPTIONS).join(', ')})`);
    if (value === undefined) continue;
    const type = IMPORT_OPTIONS[key];
    if (typeof value !== type || value === null || (type === 'object' && Array.isArray(value))) {
      const what = type === 'object' ? 'an object {scale, mean, std}' : `a ${type}`;
      throw invalid(`options.${key} must be ${what}, got ${Array.isArray(value) ? 'an array' : typeName(value)}`);
    }
  }
  if (options.weightBits !== undefined && ![2, 3, 4, 8, 32].includes(options.weightBits)) throw invalid(`options.weightBits must be 2, 3, 4, 8 or 32, got ${options.weightBits}`);
  if (options.edgeBits !== undefined && ![2, 3, 4, 8, 32].includes(options.edgeBits)) throw invalid(`options.edgeBits must be 2, 3, 4, 8 or 32, got ${options.edgeBits}`);
  if (options.inputType !== undefined && options.inputType !== 'float32' && options.inputType !== 'uint8') {
    throw invalid(`options.inputType must be 'float32' or 'uint8', got '${options.inputType}'`);
  }
  if (options.inputLayout !== undefined && options.inputLayout !== 'nchw' && options.inputLayout !== 'nhwc') {
    throw invalid(`options.inputLayout must be 'nchw' or 'nhwc', got '${options.inputLayout}'`);
  }
  if (options.seed !== undefined && (!Number.isSafeInteger(options.seed) || options.seed < 0)) throw invalid(`options.seed must be an integer >= 0, got ${options.seed}`);
  return options;
}

/** One loaded engine. Obtain it with createQforget(). */
export class Qforget {
  #module;

  static {
    moduleOf = (qf) => qf.#module;
    guardMethods(Qforget, ['createModel', 'unlearningMetrics', 'replayReceipt', 'resolveScenario', 'loadModel', 'importOnnx', 'memoryStats', 'setMemoryLimit', 'parseIdx'], (qf) => qf.#module);
  }

  constructor(module, { build, threads, threadsReason }) {
    this.#module = module;
    /** Which build is running: 'threads' (SIMD and threads), 'simd' or 'nosimd'. */
    this.build = build;
    /** Whether the running build has SIMD ('threads' and 'simd' do). */
    this.simd = build !== 'nosimd';
    /** How many threads the engine runs (the caller's included). */
    this.threads = threads;
    /** Why fewer threads run than were asked for; null when as asked. */
    this.threadsReason = threadsReason;
    /** The engine's version. */
    this.version = module.version();
    /** Low-level kernels, for benchmarks and cross-checks. */
    this.kernels = new Kernels(module);
  }

  /**
   * A new model, initialized from `options.seed`.
   * @param {object} options arch ('mlp' | 'lenet' | 'resnet8' | 'mobilenetv2' | 'custom'),
   *   inputShape, numClasses, weightBits (2 | 3 | 4 | 8 | 32), weightScheme ('uniform' |
   *   'asymmetric' | 'pow2' | 'apot' | 'codebook'), activationBits (8 | 4), edgeBits,
   *   perChannel, seed, layers (with arch 'custom')
   */
  createModel(options) {
    if (options === null || typeof options !== 'object') throw invalid('options must be an object');
    return new Model(this.#module, unwrap(this.#module.createModel(JSON.stringify(options))));
  }

  /**
   * The standard unlearning metrics of `model` (SPEC §4), on the deployed integer model:
   * FA, UA, RA, TA and MIA-efficacy, each `{value, n, low, high}` (a fraction, its sample
   * count and 95 % Wilson interval); MIA is null when the retain or the test set has fewer
   * than 100 samples, and `miaAttack` tells how well the attack separates members from
   * non-members (its balanced training set, accuracy, `informative`, `note`). With
   * `reference` (the model retrained without the forget set) also AG, the average gap (a
   * fraction), and JS, the mean Jensen-Shannon divergence of the two models' predictions on
   * the forget set; with `requantize: true` also FARequantized, the FA after re-quantizing
   * the float shadow weights from scratch,
   * each weight step replaced by its least-squared-error step and BatchNorm statistics
   * re-estimated on up to 4,096 retain samples (the deployment check: forgetting must not
   * come back when the float weights are quantized again).
   * Resolves once done; reports `{stage, batches: [done, total], svmSteps}` to
   * `onProgress` and stops with ABORTED when `signal` fires. The models are busy meanwhile
   * (a fit or forget on them is refused).
   * @param {Model} model
   * @param {{forget, retain, test, reference?: Model, miaFeature?: string, seed?: number,
   *   requantize?: boolean, onProgress?: (progress: object) => void, signal?: AbortSignal}} sets
   * @returns {Promise<object>}
   */
  async unlearningMetrics(model, sets) {
    if (!(model instanceof Model)) throw invalid('model must be a Model');
    if (sets === null || typeof sets !== 'object') throw invalid('the second argument must be {forget, retain, test}');
    const { forget, retain, test, reference, onProgress, signal, ...options } = sets;
    for (const [name, ds] of [['forget', forget], ['retain', retain], ['test', test]]) checkDataset(name, ds);
    if (reference !== undefined && !(reference instanceof Model)) throw invalid('reference must be a Model');
    if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid('onProgress must be a function');
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal');
    if (signal?.aborted) throw new QforgetError('ABORTED', 'the metrics were aborted before they started');
    const handle = handleOf(model);
    const referenceHandle = reference === undefined ? undefined : handleOf(reference);
    const frees = [occupy(model, 'measure')];
    try {
      if (reference !== undefined && reference !== model) frees.push(occupy(reference, 'measure'));
      const json = JSON.stringify(options);
      const start = () => withHeap(this.#module, (heap) => {
        const [f, r, t] = [forget, retain, test].map((ds) => heapDataset(heap, ds));
        return unwrap(referenceHandle ? handle.startMetricsWithReference(f, r, t, referenceHandle, json) : handle.startMetrics(f, r, t, json));
      });
      const check = () => {
        for (const m of [model, reference]) {
          if (m !== undefined && !isLive(m)) throw new QforgetError('ABORTED', 'the metrics stopped: a model was disposed');
        }
      };
      return await runMetrics(this.#module, start, { onProgress, signal, check });
    } finally {
      for (const free of frees) free();
    }
  }

  /**
   * Re-runs the forget a receipt records, on a copy of the model it started from, and
   * says whether the copy ends where the receipt says the model did (its
   * modelAfterSha256): the engine is deterministic across builds and thread counts, so a
   * party holding the model before and the data can check a receipt without trusting the
   * device that wrote it. `model` is the model before (a Model or its save() bytes; it is
   * not changed), `forget` and `retain` the sets the receipt hashes (retain may be left out
   * for methods that never read it: ga, bs), `holdout` the one an `until: 'unseen'`
   * forget compared with. Inputs that are not the receipt's (their SHA-256 differs), a
   * receipt whose seal does not match, and a rewind's receipt (it replays the model's
   * ledger, not a method) are refused with INVALID_ARGUMENT before anything runs.
   * @param {object} receipt
   * @param {{model: Model | Uint8Array, forget: object, retain?: object, holdout?: object, onProgress?: Function, signal?: AbortSignal}} sets
   * @returns {Promise<{match: boolean, expected: string, replayed: string, engine: {version: string, isa: string}, seconds: number}>}
   */
  async replayReceipt(receipt, sets) {
    checkOptions('receipt', receipt);
    const { model, forget, retain, holdout, onProgress, signal, ...unknown } = checkOptions('the second argument', sets);
    if (Object.keys(unknown).length) throw invalid(`${Object.keys(unknown)[0]}: unknown field (known: model, forget, retain, holdout, onProgress, signal)`);
    if (typeof receipt.sha256 !== 'string' || receipt.sha256 !== await receiptSha256(receipt)) {
      throw invalid("receipt: its contents do not match its sha256 (altered, or not a receipt forget returned); verifyReceipts says more");
    }
    if (receipt.exact === true || receipt.method === 'rewind') {
      throw invalid('receipt is a rewind\'s: it is checked by replaying the model\'s ledger (forget with method \'rewind\'), not a method');
    }
    if (receipt.options === null || typeof receipt.options !== 'object') throw invalid('receipt.options must be the options object forget recorded');
    const bytes = model instanceof Model ? model.save() : model;
    checkArray('model', bytes, Uint8Array);
    const mismatch = (name, got, expected) => invalid(`${name} is not the one the receipt names: its SHA-256 is ${got.slice(0, 16)}…, the receipt's ${String(expected).slice(0, 16)}…`);
    const modelSha256 = await sha256(bytes);
    if (modelSha256 !== receipt.modelBeforeSha256) throw mismatch('model (the model before the forget)', modelSha256, receipt.modelBeforeSha256);
    for (const [name, ds, expected] of [['forget', forget, receipt.forgetSetSha256], ['retain', retain, receipt.retainSetSha256], ['holdout', holdout, receipt.until?.holdoutSha256]]) {
      if (ds === undefined) continue;
      const got = await datasetSha256(checkDataset(name, ds));
      if (got !== expected) throw mismatch(name, got, expected);
    }
    if (forget === undefined) throw invalid('forget (the forget set the receipt hashes) is required');
    const copy = this.loadModel(bytes);
    try {
      const replayed = await copy.forget(forget, {
        ...receipt.options, retain, onProgress, signal, ...(holdout === undefined ? {} : { holdout }),
      });
      if (replayed.retainSetSha256 !== receipt.retainSetSha256) throw mismatch('retain', replayed.retainSetSha256, receipt.retainSetSha256);
      return {
        match: replayed.modelAfterSha256 === receipt.modelAfterSha256,
        expected: receipt.modelAfterSha256, replayed: replayed.modelAfterSha256,
        engine: replayed.engine, seconds: replayed.seconds,
      };
    } finally {
      copy.dispose();
    }
  }

  /**
   * Which training samples a forget scenario names (SPEC §4): 'random:<fraction>'
   * (seeded), 'class:<k>' or 'ids:[...]'. Unknown, repeated or out-of-range ids, and
   * scenarios that forget nothing or everything, throw a QforgetError.
   * @param {Uint8Array | Uint16Array | Int32Array} labels the training set's labels
   * @returns {{forgetIds: Uint32Array, retainIds: Uint32Array, excludedClass: number|null}}
   */
  resolveScenario(labels, scenario, options = {}) {
    const { numClasses, seed = 0 } = checkOptions('options', options);
    const type = labelType('labels', labels);
    if (typeof scenario !== 'string') throw invalid('scenario must be a string such as "random:0.1"');
    checkDim('numClasses', numClasses, 65535);
    if (!Number.isSafeInteger(seed) || seed < 0) throw invalid('seed must be an integer >= 0');
    return withHeap(this.#module, (heap) => unwrap(this.#module.resolveScenario(heap.copyIn(labels), labels.length, type, scenario, numClasses, seed)));
  }

  /**
   * A model from the bytes model.save() produced. Truncated, corrupted, foreign or
   * newer-version bytes throw a QforgetError (DATA_LOSS or UNIMPLEMENTED).
   * @param {Uint8Array} bytes
   */
  loadModel(bytes) {
    checkArray('bytes', bytes, Uint8Array);
    return new Model(this.#module, withHeap(this.#module, (heap) => unwrap(this.#module.loadModel(heap.copyIn(bytes), bytes.length))));
  }

  /**
   * A model from an ONNX file (ONNX's protobuf, a ModelProto; opsets 7 and later): a float
   * network of the layers qforget has (Conv, Gemm/MatMul, BatchNormalization, ReLU/Clip,
   * pooling, residual Add, ...) or its QDQ form as onnxruntime's quantizer writes it. The
   * model gets `imported`: what the engine made of the graph (producer, opset, the nodes it
   * dropped such as a trailing Softmax, ...). Bytes that are not a protobuf: DATA_LOSS; a
   * protobuf that is not a model, an unknown option or a wrong type: INVALID_ARGUMENT; an
   * operator qforget does not have: UNIMPLEMENTED.
   * @param {Uint8Array} bytes
   * @param {object} [options] weightBits (2 | 3 | 4 | 8 | 32; default 32, the float model as
   *   the graph computes it, or the grid a QDQ graph carries), edgeBits, perChannel,
   *   inputType ('float32' | 'uint8'), preprocess ({scale, mean, std}), inputLayout
   *   ('nchw' | 'nhwc'; default: the graph's), inputNonNegative (see createModel; default:
   *   true when a QDQ graph's input zero point is 0), output (the name of the graph output holding
   *   the logits; default the only one), seed
   * @returns {Promise<Model>}
   */
  async importOnnx(bytes, options = {}) {
    checkArray('bytes', bytes, Uint8Array);
    const engineOptions = JSON.stringify(checkImportOptions(options));
    const { decodeOnnx } = await import('./onnx.js');
    const { json, payload } = decodeOnnx(bytes);
    const module = this.#module;
    const imported = withHeap(module, (heap) => unwrap(module.importOnnx(json, heap.copyIn(payload), payload.length, engineOptions)));
    // The binding returns the model's handle (its report from handle.importReport()), or
    // {handle, report}.
    const handle = imported.handle ?? imported;
    const report = imported.handle ? imported.report : handle.importReport();
    return withImportReport(new Model(module, handle), typeof report === 'string' ? JSON.parse(report) : report);
  }

  /**
   * Bytes of WebAssembly memory this instance holds now. It grows on demand (up to the
   * build's maximum) and never shrinks, so it is the high-water mark of all work so far.
   */
  memoryBytes() {
    // The threaded build's views can lag behind another thread's growth (heap.js).
    return (this.#module.wasmMemory ?? this.#module.HEAPU8).buffer.byteLength;
  }

  /**
   * The engine's memory accounting, in bytes: `inUse` (allocated now), `footprint` (the
   * most wasm memory the allocator has used), `reserved` (held by fits and forgets in
   * progress), `peakReserved` (the most reserved at once so far) and `limit`. Work that
   * would take inUse + reserved past the limit is refused up front with
   * RESOURCE_EXHAUSTED, before anything changes.
   * @returns {{inUse: number, footprint: number, reserved: number, peakReserved: number, limit: number}}
   */
  memoryStats() {
    return this.#module.memoryStats();
  }

  /**
   * Lowers the memory limit work is checked against (default and maximum: the build's
   * wasm memory maximum, 4 GiB less 64 KiB), e.g. to leave room for the rest of a page;
   * `null` restores the default.
   * @param {number|null} bytes at least 1 MiB
   */
  setMemoryLimit(bytes) {
    if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes < 1)) {
      throw invalid(`bytes must be a positive integer or null, got ${String(bytes)}`);
    }
    unwrap(this.#module.setMemoryLimit(bytes ?? 0));
  }

  /**
   * Parses an IDX file (the MNIST / Fashion-MNIST format), gzip-compressed or plain.
   * @param {Uint8Array} bytes
   * @returns {{dims: number[], data: Uint8Array}}
   */
  parseIdx(bytes) {
    checkArray('bytes', bytes, Uint8Array);
    return withHeap(this.#module, (heap) => unwrap(this.#module.parseIdx(heap.copyIn(bytes), bytes.length)));
  }
}

