// The script a qforget worker runs (started by createQforgetWorker in ./worker.js): it
// loads the real API with createQforget and serves the client's calls, keeping the
// models in a table by id. The protocol is described in ./worker.js. No math here, and
// no argument checks of its own: the real API's errors go back as they are.
import { QforgetError, createQforget, liveHandles } from './index.js';
// ONNX import/export is loaded lazily on the main thread (a dynamic import in index.js and
// model.js); here it is part of the worker's own module graph, so that the dynamic import
// resolves to a module already loaded and a bundler makes no separate chunk of it: Vite
// builds workers as one classic script (iife), which cannot have code-split chunks.
import './onnx.js';
import { nodeBuiltin } from './platform.js';

let qf = null;  // the engine, once 'init' has run
let engineOptions = null;  // what 'init' loaded it with
const models = new Map();  // model id -> Model
let nextModelId = 1;
const aborts = new Map();  // call id -> AbortController of a running fit or forget
const questions = new Map();  // request id -> {resolve, reject} of a stream request to the client
let nextRequest = 1;

function modelOf(id) {
  const model = models.get(id);
  if (!model) throw new QforgetError('FAILED_PRECONDITION', 'the model was disposed');
  return model;
}

function adoptModel(model) {
  const id = nextModelId++;
  models.set(id, model);
  return { id, inputShape: model.inputShape, inputType: model.inputType, inputLayout: model.inputLayout, numClasses: model.numClasses, imported: model.imported };
}

// fit/forget options with the client's callbacks put back: progress reports become
// messages, and the client's {abort} message fires the signal the real API watches.
function withHooks(options, { id, hooks, post }) {
  if (!hooks || options === null || typeof options !== 'object') return options;
  const wired = { ...options };
  if (hooks.progress) wired.onProgress = (progress) => post({ id, progress });
  if (hooks.abortable && wired.signal === undefined) {  // else the real API refuses that signal
    const controller = new AbortController();
    aborts.set(id, controller);
    wired.signal = controller.signal;
  }
  return wired;
}

// One stream request to the client (open, next or close; see ./worker.js): resolves to
// its answer, rejects with what the caller's iterable threw.
function ask({ id, post }, query) {
  const request = nextRequest++;
  return new Promise((resolve, reject) => {
    questions.set(request, { resolve, reject });
    post({ id, stream: { request, ...query } });
  });
}

function answered({ answer: request, result, error }) {
  const question = questions.get(request);
  if (!question) return;
  questions.delete(request);
  if (!error) question.resolve(result);
  else question.reject(error.code === null ? new Error(error.message) : new QforgetError(error.code, error.message));
}

// `value` itself, or when it is the placeholder {qforgetStream: n} of a stream the call
// sent, that stream: an async iterable whose every iteration is a new iteration of the
// caller's iterable on the client's thread, read a batch per request.
function callerStream(value, call) {
  const n = value?.qforgetStream;
  if (!Number.isInteger(n) || n < 0 || n >= (call.hooks?.streams ?? 0)) return value;
  return {
    [Symbol.asyncIterator]() {
      const opened = ask(call, { open: n });
      const iteration = opened.catch(() => null);  // null: it failed to open (next() says why)
      return {
        next: async () => ask(call, { next: await opened }),
        async return() {
          const k = await iteration;
          if (k !== null) await ask(call, { close: k });
          return { done: true, value: undefined };
        },
      };
    },
  };
}

// forget's options with a streamed retain put back.
function withRetainStream(options, call) {
  if (options === null || typeof options !== 'object') return options;
  const retain = callerStream(options.retain, call);
  return retain === options.retain ? options : { ...options, retain };
}

/** Each op takes the call's args (an array) and the call itself ({id, hooks, post}). */
const ops = {
  async init([{ simd, threads, wasmBaseUrl }]) {
    const locateFile = wasmBaseUrl === undefined ? undefined : (file) => new URL(file, wasmBaseUrl);
    engineOptions = { simd, threads, locateFile };
    qf = await createQforget(engineOptions);
    return { simd: qf.simd, build: qf.build, threads: qf.threads, threadsReason: qf.threadsReason, version: qf.version };
  },
  liveHandles: () => liveHandles(),
  createModel: ([options]) => adoptModel(qf.createModel(options)),
  loadModel: ([bytes]) => adoptModel(qf.loadModel(bytes)),
  importOnnx: async ([bytes, options]) => adoptModel(await qf.importOnnx(bytes, options)),
  parseIdx: ([bytes]) => qf.parseIdx(bytes),
  memoryStats: () => qf.memoryStats(),
  setMemoryLimit: ([bytes]) => qf.setMemoryLimit(bytes),
  resolveScenario: ([labels, scenario, options]) => qf.resolveScenario(labels, scenario, options),
  unlearningMetrics([modelId, sets, referenceId], call) {
    const model = modelOf(modelId);
    const wired = withHooks(sets, call);
    if (referenceId === undefined) return qf.unlearningMetrics(model, wired);
    return qf.unlearningMetrics(model, { ...wired, reference: modelOf(referenceId) });
  },
  replayReceipt([receipt, sets, modelId], call) {
    const wired = withHooks(sets, call);
    return qf.replayReceipt(receipt, modelId === undefined ? wired : { ...wired, model: modelOf(modelId) });
  },
  describe: ([id]) => modelOf(id).describe(),
  predict: ([id, ...args]) => modelOf(id).predict(...args),
  quantize: ([id, options]) => adoptModel(modelOf(id).quantize(options)),
  evaluate: ([id, ds]) => modelOf(id).evaluate(ds),
  fit: ([id, ds, options], call) => modelOf(id).fit(callerStream(ds, call), withHooks(options, call)),
  forget: ([id, forgetSet, options], call) => modelOf(id).forget(forgetSet, withHooks(withRetainStream(options, call), call)),
  save: ([id, options]) => modelOf(id).save(options),
  toOnnx: ([id, options]) => modelOf(id).toOnnx(options),
  checkpoint: ([id]) => modelOf(id).checkpoint(),
  history: ([id]) => modelOf(id).history(),
  restoreHistory: ([id, history]) => modelOf(id).restoreHistory(history),
  dispose([id]) {
    models.get(id)?.dispose();
    models.delete(id);
  },
};

// The ArrayBuffers of the typed arrays in a result (itself, or its properties) that are
// whole buffers of their own: the API returns fresh copies, so they can be moved.
function freshBuffers(result) {
  const values = result !== null && typeof result === 'object' && !ArrayBuffer.isView(result) ? Object.values(result) : [result];
  return values
    .filter((v) => ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength)
    .map((v) => v.buffer);
}

async function serve({ id, op, args, hooks }, post) {
  try {
    if (!Object.hasOwn(ops, op)) throw new QforgetError('INTERNAL', `unknown worker operation ${String(op)}`);
    if (op !== 'init') {
      if (!qf) throw new QforgetError('FAILED_PRECONDITION', 'the engine is not loaded yet');
      // The same instance, or a fresh one if it crashed: its models stay refused, but the
      // worker itself goes on (as createQforget does on the main thread).
      qf = await createQforget(engineOptions);
    }
    const result = await ops[op](args, { id, hooks, post });
    post({ id, result }, freshBuffers(result));
  } catch (error) {
    const code = error instanceof QforgetError ? error.code : 'INTERNAL';
    post({ id, error: { code, message: error?.message ?? String(error) } });
  } finally {
    aborts.delete(id);
  }
}

function receive(message, post) {
  if (message.abort !== undefined) aborts.get(message.abort)?.abort();
  else if (message.answer !== undefined) answered(message);
  else serve(message, post);
}

// The one place the two environments differ: a browser worker's global scope, or Node's
// parentPort. A browser worker listens before its first turn ends, so no message event
// is missed; Node's port queues messages until a listener is attached. No top-level
// await: bundlers' classic (iife) worker bundles cannot have one.
function connect() {
  if (typeof WorkerGlobalScope === 'function' && globalThis instanceof WorkerGlobalScope) {
    globalThis.addEventListener('message', (event) => receive(event.data, (message, transfer = []) => globalThis.postMessage(message, transfer)));
    return;
  }
  nodeBuiltin('worker_threads').then(({ parentPort }) => {
    if (!parentPort) throw new Error('qforget: worker_thread.js runs inside a worker; start it with createQforgetWorker()');
    parentPort.on('message', (message) => receive(message, (reply, transfer = []) => parentPort.postMessage(reply, transfer)));
  });
}

connect();
