// qforget/worker: the qforget API, promise-based, served by a Web Worker (browser) or a
// worker_threads Worker (Node) so long work never blocks the caller's thread. This is
// the client half of a small RPC; web/worker_thread.js runs the real API. No math here.
//
// Messages, client -> worker: {id, op, args, hooks?: {progress, abortable, streams}} (a
// call) and {abort: id} (cancel that call). Worker -> client: {id, result} |
// {id, error: {code, message}} | {id, progress}.
// Inputs are structured-cloned (the caller keeps its arrays); the worker transfers the
// fresh typed arrays it returns.
//
// Streams (fit's dataset, forget's options.retain given as an iterable of batches) stay
// here: the call sends {qforgetStream: n} in their place (hooks.streams says how many), and
// the worker reads them through requests of its own, worker -> client
// {id, stream: {request, open: n}} | {id, stream: {request, next: k}} |
// {id, stream: {request, close: k}}: start iteration k of stream n (a new one each time),
// its next batch, its end (the iterator's return()). The client answers each with
// {answer: request, result} (k; {done, value} with copies of the batch's arrays,
// transferred; nothing) or {answer: request, error: {code, message}} (what the caller's
// iterable threw: the call then rejects with that very error).
import { QforgetError, invalid } from './errors.js';
import { rewrittenByBundler } from './files.js';
import { isNode, nodeBuiltin } from './platform.js';
import { isBatchStream } from './stream.js';

export { QforgetError } from './errors.js';

const terminatedMessage = 'the worker was terminated';

/**
 * Starts a worker and loads qforget in it.
 * @param {{simd?: 'auto'|boolean, threads?: 'auto'|number, wasmBaseUrl?: string|URL, workerUrl?: string|URL}} [options]
 *   simd, threads: as createQforget's (the engine's threads run inside the worker). wasmBaseUrl: the folder holding qforget-{simd,nosimd}.{js,wasm}
 *   (default: dist/ next to this module); it replaces createQforget's locateFile, since a
 *   function cannot be sent to a worker. workerUrl: where worker_thread.js is served
 *   (default: next to this module), passed to the Worker constructor unchanged.
 * @returns {Promise<QforgetWorker>} call terminate() when done
 */
export async function createQforgetWorker(options = {}) {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  const { simd = 'auto', threads = 'auto', wasmBaseUrl, workerUrl, ...rest } = options;
  if ('locateFile' in rest) {
    throw invalid('options.locateFile cannot be sent to a worker; give options.wasmBaseUrl, the URL of the folder holding the qforget-*.js/.wasm files');
  }
  const unknown = Object.keys(rest);
  if (unknown.length) throw invalid(`options.${unknown[0]}: unknown option (known: simd, threads, wasmBaseUrl, workerUrl)`);
  if (workerUrl !== undefined && typeof workerUrl !== 'string' && !(workerUrl instanceof URL)) throw invalid('options.workerUrl must be a string or a URL');
  const base = wasmBaseUrl === undefined ? undefined : folderUrl(wasmBaseUrl);
  let channel;
  try {
    channel = await openChannel(workerUrl);
  } catch (error) {
    throw invalid(`options.workerUrl: no worker could be started from ${String(workerUrl ?? 'worker_thread.js')} (${error?.message ?? error})`);
  }
  const client = new QforgetWorker(channel);
  try {
    // The worker runs createQforget({simd, threads, locateFile}) and reports what it loaded.
    const loaded = await send(client, 'init', [{ simd, threads, wasmBaseUrl: base }]);
    for (const key of ['simd', 'build', 'threads', 'threadsReason', 'version']) {
      Object.defineProperty(client, key, { value: loaded[key], enumerable: true });
    }
  } catch (error) {
    await client.terminate();
    throw error;
  }
  return client;
}

// An absolute URL ending in '/', so file names resolve inside the folder.
function folderUrl(value) {
  if (typeof value !== 'string' && !(value instanceof URL)) throw invalid('options.wasmBaseUrl must be a string or a URL');
  let url;
  try {
    url = new URL(value, globalThis.location?.href);
  } catch {
    throw invalid(`options.wasmBaseUrl must be an absolute URL (or relative to the page), got ${String(value)}`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

// The one place the two environments differ: start the worker and talk to it. `url`
// undefined starts the package's own worker_thread.js.
async function openChannel(url) {
  if (isNode) {
    const { Worker } = await nodeBuiltin('worker_threads');
    // Not for bundlers to copy into a browser bundle as an asset.
    const worker = new Worker(url ?? new URL(/* webpackIgnore: true */ /* @vite-ignore */ './worker_thread.js', import.meta.url));
    return {
      send: (message, transfer = []) => worker.postMessage(message, transfer),
      listen(onMessage, onFailure) {
        worker.on('message', onMessage);
        worker.on('messageerror', () => onFailure('a message from the worker could not be read'));
        worker.on('error', (error) => onFailure(error?.message ?? String(error)));
        worker.on('exit', (code) => onFailure(`it exited with code ${code}`));
      },
      // Node keeps the process alive only while a call is pending, like any other I/O.
      hold: (busy) => (busy ? worker.ref() : worker.unref()),
      terminate: () => worker.terminate(),
    };
  }
  const worker = url !== undefined ? new Worker(url, { type: 'module' }) : startPackageWorker();
  return {
    send: (message, transfer = []) => worker.postMessage(message, transfer),
    listen(onMessage, onFailure) {
      worker.addEventListener('message', (event) => onMessage(event.data));
      worker.addEventListener('messageerror', () => onFailure('a message from the worker could not be read'));
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        onFailure(event.message || 'its script failed to load or threw');
      });
    },
    hold: () => {},
    terminate: async () => worker.terminate(),
  };
}

// The package's own worker_thread.js, named by the literal
// `new Worker(new URL('…', import.meta.url), { type: 'module' })` that bundlers (Vite and
// webpack among them) recognize as a worker entry to bundle; relative, or through
// the package's name where a bundler rewrites that (./files.js says why and when).
function startPackageWorker() {
  if (rewrittenByBundler) return new Worker(new URL(/* webpackIgnore: true */ 'qforget/worker_thread.js', import.meta.url), { type: 'module' });
  return new Worker(new URL('./worker_thread.js', import.meta.url), { type: 'module' });
}

// The path of the first value inside `value` that cannot be sent to a worker, and why;
// null when everything can. (Structured clone would drop or refuse these silently or
// with a message that does not name the argument.)
function unsendable(value, path, seen = new Set()) {
  if (typeof value === 'function') return `${path} is a function`;
  if (typeof value === 'symbol') return `${path} is a symbol`;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return null;
  if (value instanceof RemoteModel) return `${path} is a RemoteModel (models can be passed only where the API takes one)`;
  if (value instanceof AbortSignal) return `${path} is an AbortSignal (only options.signal of fit and forget may be one)`;
  // Structured clone keeps arrays, maps and sets, and makes {} of any other iterable.
  if (isBatchStream(value) && !Array.isArray(value) && !(value instanceof Map) && !(value instanceof Set)) {
    return `${path} is a stream of batches (only fit's dataset and forget's options.retain may be streamed)`;
  }
  if (seen.has(value)) return null;
  seen.add(value);
  for (const key of Object.keys(value)) {
    const found = unsendable(value[key], Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, seen);
    if (found) return found;
  }
  return null;
}

function checkSendable(name, value) {
  const problem = unsendable(value, name);
  if (problem) throw invalid(`${problem} and cannot be sent to the worker`);
  return value;
}

/**
 * Splits fit/forget options into what the worker gets and what stays here. Only a
 * function onProgress and an AbortSignal are kept back; anything else is sent as is so
 * the real API judges it (and names it) exactly as on the main thread.
 */
function splitHooks(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return { sent: options };  // refused there
  const { onProgress, signal, ...sent } = options;
  const hooks = {};
  if (typeof onProgress === 'function') hooks.onProgress = onProgress;
  else if (onProgress !== undefined) sent.onProgress = onProgress;
  if (signal instanceof AbortSignal) hooks.signal = signal;
  else if (signal !== undefined) sent.signal = signal;
  return { sent, hooks };
}

/**
 * The streams of one fit or forget call: the caller's iterables, which stay on this
 * thread, and the iterations of them the worker has open. The worker reads them with
 * open/next/close requests (see the top of this file).
 */
class CallStreams {
  #sources = [];  // placeholder n -> {source, name}
  #iterations = new Map();  // k -> {iterator, name, batches}
  #nextIteration = 1;
  #thrown = new Map();  // message -> the latest error of the caller's iterables with it

  get size() {
    return this.#sources.length;
  }

  /** `value` as sent to the worker: a placeholder if it is a stream, else itself, checked. */
  sendable(name, value) {
    if (!isBatchStream(value)) return checkSendable(name, value);
    this.#sources.push({ source: value, name });
    return { qforgetStream: this.#sources.length - 1 };
  }

  /** Answers one of the worker's requests: resolves to {result, transfer}; rejects with what failed. */
  async serve({ open, next, close }) {
    if (open !== undefined) return { result: this.#open(open) };
    if (next !== undefined) return this.#next(next);
    if (close !== undefined) return { result: await this.#close(close) };
    throw new QforgetError('INTERNAL', 'an unknown stream request from the worker');
  }

  // A new iteration of stream n (as web/stream.js's Pass starts one); its number.
  #open(n) {
    const entry = this.#sources[n];
    if (!entry) throw new QforgetError('INTERNAL', `the worker asked for stream ${String(n)}, which the call did not send`);
    const { source, name } = entry;
    const iterate = source[Symbol.asyncIterator] ?? source[Symbol.iterator];
    const iterator = iterate.call(source);
    if (iterator === null || typeof iterator?.next !== 'function') {
      throw invalid(`${name} must be an iterable of batches {x, y, shape}: its iterator has no next()`);
    }
    if (iterator === source) {
      throw invalid(`${name} is an iterator (a generator object, say), which can be read once; a stream is read once per epoch: give an iterable that starts over each time, e.g. { [Symbol.asyncIterator]: () => readBatches() }`);
    }
    const k = this.#nextIteration++;
    this.#iterations.set(k, { iterator, name, batches: 0 });
    return k;
  }

  #iteration(k) {
    const iteration = this.#iterations.get(k);
    if (!iteration) throw new QforgetError('INTERNAL', `the worker asked for iteration ${String(k)} of a stream, which is not open`);
    return iteration;
  }

  // The next batch of iteration k: the caller keeps its arrays; copies of x and y go, moved.
  async #next(k) {
    const iteration = this.#iteration(k);
    const { done, value } = await iteration.iterator.next();
    if (done) return { result: { done: true }, transfer: [] };
    iteration.batches++;
    if (value === null || typeof value !== 'object') return { result: { done: false, value }, transfer: [] };  // refused there
    const batch = { x: copied(value.x), y: copied(value.y), shape: value.shape };
    checkSendable(`${iteration.name} (batch ${iteration.batches} of the stream)`, batch);
    const transfer = [batch.x, batch.y].filter((a) => a !== value.x && a !== value.y && ArrayBuffer.isView(a)).map((a) => a.buffer);
    return { result: { done: false, value: batch }, transfer };
  }

  async #close(k) {
    const { iterator } = this.#iteration(k);
    this.#iterations.delete(k);
    await iterator.return?.();
  }

  /** Remembers an error the caller's iterable threw, to reject the call with it. */
  remember(thrown) {
    this.#thrown.set(messageOf(thrown), thrown);
  }

  /** The caller's error the worker's error {message} stands for, if it is one. */
  thrownFor({ message }) {
    return this.#thrown.has(message) ? { thrown: this.#thrown.get(message) } : null;
  }

  /** Once the call has settled: ends the iterations the worker left open (a crash, terminate()). */
  closeAll() {
    for (const { iterator } of this.#iterations.values()) {
      try {
        Promise.resolve(iterator.return?.()).catch(() => {});
      } catch {
        // The call is over; nothing to report to.
      }
    }
    this.#iterations.clear();
    this.#sources = [];
  }
}

function messageOf(error) {
  return error?.message ?? String(error);
}

// A copy of a typed array in a buffer of its own (to transfer); anything else as it is.
function copied(value) {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) ? value.slice() : value;
}

// send(client, op, args, hooks): one call to the worker (QforgetWorker's, not public API).
let send;

/** A qforget instance running in a worker. Obtain one with createQforgetWorker(). */
export class QforgetWorker {
  #channel;
  #pending = new Map();  // call id -> {resolve, reject, onProgress, failure, streams, detach}
  #nextId = 1;
  #closed = null;  // why later calls fail, once terminated or crashed

  static {
    send = (client, op, args, hooks) => client.#call(op, args, hooks);
  }

  // `simd` (which build runs in the worker) and `version` (the engine's) are set by
  // createQforgetWorker once the worker has loaded the engine.
  constructor(channel) {
    this.#channel = channel;
    channel.listen((message) => this.#receive(message), (why) => this.#fail(`the worker failed: ${why}`));
    channel.hold(false);
  }

  // One call. `hooks.onProgress` receives the worker's progress reports; `hooks.signal`
  // aborting sends {abort: id}; `hooks.streams` (a CallStreams) serves the worker's stream
  // requests. Resolves to the worker's result.
  #call(op, args, hooks = {}) {
    if (this.#closed) return Promise.reject(new QforgetError('FAILED_PRECONDITION', this.#closed));
    const id = this.#nextId++;
    const message = { id, op, args };
    const streams = hooks.streams?.size ? hooks.streams : null;
    // A throwing onProgress aborts the call too, so either hook makes the call abortable.
    if (hooks.onProgress || hooks.signal || streams) {
      message.hooks = { progress: !!hooks.onProgress, abortable: !!(hooks.onProgress || hooks.signal), streams: streams?.size ?? 0 };
    }
    return new Promise((resolve, reject) => {
      try {
        this.#channel.send(message);
      } catch (error) {
        reject(invalid(`${op}: an argument cannot be sent to the worker (${error?.message ?? error})`));
        return;
      }
      const call = { resolve, reject, onProgress: hooks.onProgress, failure: null, streams, detach: () => {} };
      if (hooks.signal) {
        const abort = () => this.#abort(id);
        hooks.signal.addEventListener('abort', abort, { once: true });
        call.detach = () => hooks.signal.removeEventListener('abort', abort);
      }
      this.#pending.set(id, call);
      if (this.#pending.size === 1) this.#channel.hold(true);
    });
  }

  #abort(id) {
    if (this.#pending.has(id) && !this.#closed) this.#channel.send({ abort: id });
  }

  #settle(id) {
    const call = this.#pending.get(id);
    this.#pending.delete(id);
    call.detach();
    call.streams?.closeAll();
    if (this.#pending.size === 0 && !this.#closed) this.#channel.hold(false);
    return call;
  }

  #receive({ id, result, error, progress, stream }) {
    const call = this.#pending.get(id);
    if (stream !== undefined) {
      this.#answer(id, call, stream);
      return;
    }
    if (!call) return;  // settled already (terminated)
    if (progress !== undefined) {
      if (call.failure) return;
      try {
        call.onProgress?.(progress);
      } catch (thrown) {
        // As on the main thread, the callback's error ends the call: stop the worker's
        // work and reject with it once the worker has stopped.
        call.failure = { thrown };
        this.#abort(id);
      }
      return;
    }
    this.#settle(id);
    // What the caller's own code threw (onProgress, a stream's iterator) comes back as it is.
    const failure = call.failure ?? (error && call.streams?.thrownFor(error));
    if (failure) call.reject(failure.thrown);
    else if (error) call.reject(new QforgetError(error.code, error.message));
    else call.resolve(result);
  }

  // Answers the worker's request about a stream of call `id` (see CallStreams).
  async #answer(id, call, { request, ...asked }) {
    let reply;
    let transfer = [];
    try {
      if (!call?.streams) throw new QforgetError('FAILED_PRECONDITION', 'the call reading this stream has ended');
      const served = await call.streams.serve(asked);
      reply = { answer: request, result: served.result };
      transfer = served.transfer ?? [];
    } catch (thrown) {
      call?.streams?.remember(thrown);
      // code null: not a QforgetError (the worker's side makes a plain Error of it).
      reply = { answer: request, error: { code: thrown instanceof QforgetError ? thrown.code : null, message: messageOf(thrown) } };
    }
    if (this.#closed || (call && this.#pending.get(id) !== call)) return;  // the call has settled meanwhile
    try {
      this.#channel.send(reply, transfer);
    } catch (error) {
      // The batch could not be cloned after all (a value unsendable() does not know).
      this.#channel.send({ answer: request, error: { code: 'INVALID_ARGUMENT', message: `a batch of the stream cannot be sent to the worker (${messageOf(error)})` } });
    }
  }

  // Ends every pending call and refuses later ones.
  #close(code, reason, why) {
    if (this.#closed) return false;
    this.#closed = why;
    for (const id of [...this.#pending.keys()]) this.#settle(id).reject(new QforgetError(code, reason));
    return true;
  }

  #fail(why) {
    if (this.#close('INTERNAL', why, `${terminatedMessage} (${why})`)) this.#channel.terminate();
  }

  /** Number of wasm objects the worker's wrappers own (a debugging aid for leak checks). */
  liveHandles() {
    return send(this, 'liveHandles', []);
  }

  /**
   * A new model in the worker, initialized from `options.seed` (see Qforget.createModel).
   * @returns {Promise<RemoteModel>}
   */
  async createModel(options) {
    return new RemoteModel(this, await send(this, 'createModel', [checkSendable('options', options)]));
  }

  /**
   * A model from the bytes save() produced (copied to the worker; the caller keeps them).
   * @param {Uint8Array} bytes
   * @returns {Promise<RemoteModel>}
   */
  async loadModel(bytes) {
    return new RemoteModel(this, await send(this, 'loadModel', [checkSendable('bytes', bytes)]));
  }

  /**
   * A model from an ONNX file (see Qforget.importOnnx; the bytes are copied to the worker,
   * the caller keeps them).
   * @param {Uint8Array} bytes
   * @param {object} [options] as Qforget.importOnnx takes them
   * @returns {Promise<RemoteModel>}
   */
  async importOnnx(bytes, options = {}) {
    return new RemoteModel(this, await send(this, 'importOnnx', [checkSendable('bytes', bytes), checkSendable('options', options)]));
  }

  /**
   * Parses IDX bytes (MNIST's format), gzip-compressed or plain.
   * @returns {Promise<{dims: number[], data: Uint8Array}>}
   */
  async parseIdx(bytes) {
    return send(this, 'parseIdx', [checkSendable('bytes', bytes)]);
  }

  /**
   * The worker engine's memory accounting (see Qforget.memoryStats).
   * @returns {Promise<{inUse: number, footprint: number, reserved: number, peakReserved: number, limit: number}>}
   */
  async memoryStats() {
    return send(this, 'memoryStats', []);
  }

  /** Lowers the memory limit of the worker's engine (see Qforget.setMemoryLimit). */
  async setMemoryLimit(bytes) {
    return send(this, 'setMemoryLimit', [checkSendable('bytes', bytes)]);
  }

  /**
   * Which training samples a forget scenario names (see Qforget.resolveScenario).
   * @returns {Promise<{forgetIds: Uint32Array, retainIds: Uint32Array, excludedClass: number|null}>}
   */
  async resolveScenario(labels, scenario, options) {
    return send(this, 'resolveScenario', [checkSendable('labels', labels), checkSendable('scenario', scenario), checkSendable('options', options)]);
  }

  /**
   * The standard unlearning metrics of `model` (see Qforget.unlearningMetrics).
   * @param {RemoteModel} model a model of this worker
   * @param {{forget, retain, test, reference?: RemoteModel, miaFeature?: string, seed?: number,
   *   requantize?: boolean, onProgress?: function, signal?: AbortSignal}} sets
   */
  async unlearningMetrics(model, sets) {
    const modelId = modelIdOf(this, model, 'model');
    if (sets === null || typeof sets !== 'object') return send(this, 'unlearningMetrics', [modelId, sets]);  // refused there
    const { reference, ...rest } = sets;
    const referenceId = reference === undefined ? undefined : modelIdOf(this, reference, 'reference');
    const { sent, hooks } = splitHooks(rest);
    if (hooks?.signal?.aborted) throw new QforgetError('ABORTED', 'the metrics were aborted before they started');
    return send(this, 'unlearningMetrics', [modelId, checkSendable('sets', sent), referenceId], hooks);
  }

  /**
   * Re-runs the forget a receipt records, in the worker (see Qforget.replayReceipt).
   * `model`, the model before, is a RemoteModel of this worker (unchanged) or its bytes.
   * @param {object} receipt
   * @param {{model: RemoteModel | Uint8Array, forget, retain?, holdout?, onProgress?: function, signal?: AbortSignal}} sets
   */
  async replayReceipt(receipt, sets) {
    if (sets === null || typeof sets !== 'object') return send(this, 'replayReceipt', [checkSendable('receipt', receipt), sets]);  // refused there
    const { model, ...rest } = sets;
    const modelId = model instanceof RemoteModel ? modelIdOf(this, model, 'model') : undefined;
    const { sent, hooks } = splitHooks(modelId === undefined ? sets : rest);
    if (hooks?.signal?.aborted) throw new QforgetError('ABORTED', 'the replay was aborted before it started');
    return send(this, 'replayReceipt', [checkSendable('receipt', receipt), checkSendable('sets', sent), modelId], hooks);
  }

  /**
   * Stops the worker and frees all its memory. Pending calls reject with ABORTED; later
   * calls with FAILED_PRECONDITION. Safe to call twice.
   */
  async terminate() {
    if (this.#close('ABORTED', terminatedMessage, terminatedMessage)) await this.#channel.terminate();
  }
}

// modelIdOf(client, model, name): the worker-side id of a live model of `client`;
// throws INVALID_ARGUMENT naming the argument otherwise (RemoteModel's, not public API).
let modelIdOf;

/**
 * A model living in a worker. Obtain one from QforgetWorker.createModel or loadModel.
 * Every method returns a promise; the methods mirror Model's.
 */
export class RemoteModel {
  #client;
  #id;
  #disposing = null;

  static {
    modelIdOf = (client, model, name) => {
      if (!(model instanceof RemoteModel) || model.#client !== client) throw invalid(`${name} must be a RemoteModel of this worker`);
      return model.#live();
    };
  }

  constructor(client, { id, inputShape, inputType, inputLayout, numClasses, imported = null }) {
    this.#client = client;
    this.#id = id;
    /** The input shape of one sample, e.g. [28, 28, 1]. */
    this.inputShape = inputShape;
    /** 'uint8' (pixels, a Uint8Array) or 'float32' (features, a Float32Array). */
    this.inputType = inputType;
    /** 'nhwc' (channels last) or 'nchw' (channels first, [C, H, W]). */
    this.inputLayout = inputLayout;
    /** The number of classes. */
    this.numClasses = numClasses;
    /** The engine's import report for a model from importOnnx (see Model.imported), else null. */
    Object.defineProperty(this, 'imported', { value: imported, enumerable: true });
  }

  #live() {
    if (this.#disposing) throw new QforgetError('FAILED_PRECONDITION', 'the model was disposed');
    return this.#id;
  }

  /** The architecture as a JSON-able object (what createModel accepts back). */
  async describe() {
    return send(this.#client, 'describe', [this.#live()]);
  }

  /**
   * Logits of the deployed integer model.
   * @param {Uint8Array | Float32Array} x samples of the model's inputType (copied; the caller keeps it)
   * @returns {Promise<Float32Array>} n × numClasses, n = x.length / (the size of one sample)
   */
  async predict(x, ...extra) {
    // Extra arguments go along so the engine's side refuses them as the main thread does.
    return send(this.#client, 'predict', [this.#live(), checkSendable('x', x), ...extra.map((v, i) => checkSendable(`argument ${i + 2}`, v))]);
  }

  /**
   * Post-training quantization into a new model in the worker (see Model.quantize; the
   * calibration samples are copied there).
   * @returns {Promise<RemoteModel>}
   */
  async quantize(options) {
    return new RemoteModel(this.#client, await send(this.#client, 'quantize', [this.#live(), checkSendable('options', options)]));
  }

  /** @returns {Promise<{accuracy: number, loss: number}>} */
  async evaluate(ds) {
    return send(this.#client, 'evaluate', [this.#live(), checkSendable('dataset', ds)]);
  }

  /**
   * Trains on a dataset (see Model.fit): onProgress gets each epoch's stats; `signal`
   * aborting rejects with ABORTED (the model keeps the batches trained so far).
   */
  async fit(ds, options = {}) {
    const id = this.#live();
    const { sent, hooks = {} } = splitHooks(options);
    if (hooks.signal?.aborted) throw new QforgetError('ABORTED', 'fit was aborted before it started');
    // A stream stays here; the worker reads it batch by batch (see CallStreams).
    const streams = new CallStreams();
    const dataset = streams.sendable('dataset', ds);
    return send(this.#client, 'fit', [id, dataset, checkSendable('options', sent)], { ...hooks, streams });
  }

  /**
   * Makes the model forget `forgetSet` (see Model.forget; atomic: an error or an abort
   * leaves it unchanged). Resolves to what Model.forget resolves to.
   */
  async forget(forgetSet, options = {}) {
    const id = this.#live();
    const { sent, hooks = {} } = splitHooks(options);
    if (hooks.signal?.aborted) throw new QforgetError('ABORTED', 'forget was aborted before it started; the model is unchanged');
    // A streamed options.retain stays here; the worker reads it batch by batch.
    const streams = new CallStreams();
    const streamed = sent !== null && typeof sent === 'object' && !Array.isArray(sent) && isBatchStream(sent.retain);
    const wired = streamed ? { ...sent, retain: streams.sendable('options.retain', sent.retain) } : sent;
    return send(this.#client, 'forget', [id, checkSendable('forgetSet', forgetSet), checkSendable('options', wired)], { ...hooks, streams });
  }

  /**
   * The model file's bytes (see Model.save).
   * @returns {Promise<Uint8Array>}
   */
  async save(options = {}) {
    return send(this.#client, 'save', [this.#live(), checkSendable('options', options)]);
  }

  /**
   * The model as an ONNX file (see Model.toOnnx).
   * @param {{format?: 'qdq' | 'float'}} [options]
   * @returns {Promise<Uint8Array>}
   */
  async toOnnx(options = {}) {
    return send(this.#client, 'toOnnx', [this.#live(), checkSendable('options', options)]);
  }

  /**
   * Marks the weights now as a point forget({method: 'rewind'}) can go back to (see
   * Model.checkpoint).
   * @returns {Promise<{index: number, modelSha256: string, createdAt: string}>}
   */
  async checkpoint() {
    return send(this.#client, 'checkpoint', [this.#live()]);
  }

  /**
   * The model's ledger since its first checkpoint (see Model.history).
   * @returns {Promise<{format: string, events: object[]}>}
   */
  async history() {
    return send(this.#client, 'history', [this.#live()]);
  }

  /** Gives the model a ledger history() returned, or none (see Model.restoreHistory). */
  async restoreHistory(history) {
    return send(this.#client, 'restoreHistory', [this.#live(), checkSendable('history', history)]);
  }

  /**
   * Frees the model's memory in the worker. Safe to call twice (and after the worker is
   * terminated); any later use rejects with FAILED_PRECONDITION.
   * @returns {Promise<void>}
   */
  dispose() {
    // The worker's dispose cannot fail; the call can only if the worker is gone, and then
    // its memory is gone with it.
    this.#disposing ??= send(this.#client, 'dispose', [this.#id]).catch(() => {});
    return this.#disposing;
  }
}

// `using` / `await using` support where the runtime has the symbols (Node 20+, recent browsers).
if (typeof Symbol.dispose === 'symbol') {
  RemoteModel.prototype[Symbol.dispose] = function dispose() {
    this.dispose();
  };
  QforgetWorker.prototype[Symbol.dispose] = function terminate() {
    this.terminate();
  };
}
if (typeof Symbol.asyncDispose === 'symbol') {
  RemoteModel.prototype[Symbol.asyncDispose] = RemoteModel.prototype.dispose;
  QforgetWorker.prototype[Symbol.asyncDispose] = QforgetWorker.prototype.terminate;
}
