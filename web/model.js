// The Model class: a trained or trainable network living in wasm memory. Moves data
// in and out and drives long work (fit) in steps so progress can be reported and the
// work cancelled; every decision and all math are the engine's.
import { QforgetError, checkArray, checkOptions, engineCrashed, guardMethods, invalid, unwrap } from './errors.js';
import { withHeap } from './heap.js';
import { abandon, adopt, release } from './handles.js';
import { datasetSha256, previousHash, sealReceipt, sha256 } from './receipts.js';

/** Batches trained per step of fit() between chances to report and cancel. */
const BATCHES_PER_STEP = 4;

// Lets timers, abort events and rendering run between steps of long work.
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Checks a dataset {x: Uint8Array, y: Uint8Array, shape: [n, ...]}; returns it. */
export function checkDataset(name, ds) {
  if (ds === null || typeof ds !== 'object') throw invalid(`${name} must be an object {x, y, shape}`);
  checkArray(`${name}.x`, ds.x, Uint8Array);
  checkArray(`${name}.y`, ds.y, Uint8Array);
  if (!Array.isArray(ds.shape) || !ds.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(`${name}.shape must be an array of integers [n, ...sample dims]`);
  }
  return ds;
}

/** A dataset of no samples of `inputShape` (what a forget without retain data passes). */
function emptyDataset(inputShape) {
  return { x: new Uint8Array(0), y: new Uint8Array(0), shape: [0, ...inputShape] };
}

/** Copies a dataset into the heap scope; returns what the engine's bindings take. */
export function heapDataset(heap, ds) {
  return { x: heap.copyIn(ds.x), xLen: ds.x.length, y: heap.copyIn(ds.y), yLen: ds.y.length, shape: JSON.stringify(ds.shape) };
}

/** The engine handle of a live model (for qf.unlearningMetrics); not public API. */
export let handleOf;
/** Whether a model is not disposed. Not public API. */
export let isLive;
/** Marks a live, idle model busy being measured; returns the function that frees it. Not public API. */
export let occupy;

/** Evaluation batches or SMO chunks of the metrics per step between chances to report and cancel. */
const METRIC_UNITS_PER_STEP = 4;

/**
 * Runs an engine metrics job (from `start()`, in `module`) to its end a few units per task: reports
 * each step's progress, stops with ABORTED when `signal` fires or `check()` throws.
 * @returns {Promise<object>} the metrics (MetricsJob::Result)
 */
export async function runMetrics(module, start, { onProgress, signal, check }) {
  const job = adopt(start());
  try {
    for (;;) {
      const progress = JSON.parse(unwrap(job.step(METRIC_UNITS_PER_STEP)));
      onProgress?.(progress);
      if (progress.done) return JSON.parse(unwrap(job.result()));
      await nextTask();
      if (signal?.aborted) throw new QforgetError('ABORTED', 'the metrics were aborted');
      check();
    }
  } finally {
    (module.qforgetLost ? abandon : release)(job);
  }
}

function splitCallbacks(options) {
  checkOptions('options', options);
  const { onProgress, signal, ...engineOptions } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid('options.onProgress must be a function');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('options.signal must be an AbortSignal');
  return { onProgress, signal, engineOptions };
}

export class Model {
  #module;
  #handle;
  #busy = null;  // what the model is busy with: 'training' (fit, forget), 'being measured'

  static {
    handleOf = (model) => model.#live();
    isLive = (model) => model.#handle !== null;
    occupy = (model, what) => {
      model.#live();
      model.#idle(what);
      model.#busy = 'being measured';
      return () => { model.#busy = null; };
    };
    guardMethods(Model, ['describe', 'predict', 'evaluate', 'fit', 'forget', 'save'], (model) => model.#module);
  }

  constructor(module, handle) {
    this.#module = module;
    this.#handle = adopt(handle);
    const description = JSON.parse(handle.describe());
    /** The input shape of one sample, e.g. [28, 28, 1]. */
    this.inputShape = description.inputShape;
    /** The number of classes. */
    this.numClasses = description.numClasses;
  }

  #live() {
    if (!this.#handle) throw new QforgetError('FAILED_PRECONDITION', 'the model was disposed');
    return this.#handle;
  }

  // Between steps of fit or forget: dispose() stops the work (the memory is gone).
  #ensureNotDisposed(what) {
    if (!this.#handle) throw new QforgetError('ABORTED', `${what} stopped: the model was disposed`);
  }

  #idle(what) {
    if (this.#busy) throw new QforgetError('FAILED_PRECONDITION', `cannot ${what} while the model is ${this.#busy}`);
  }

  /** The architecture as a JSON-able object (what createModel accepts back). */
  describe() {
    return JSON.parse(this.#live().describe());
  }

  /**
   * Logits of the deployed integer model.
   * @param {Uint8Array} x samples of pixels, NHWC: a whole number of samples of inputShape
   * @returns {Float32Array} n × numClasses, n = x.length / (the size of one sample)
   */
  predict(x, ...extra) {
    const handle = this.#live();
    if (extra.length) throw invalid('predict(x) takes the samples only: their count comes from x.length and the input shape');
    checkArray('x', x, Uint8Array);
    return withHeap(this.#module, (heap) => unwrap(handle.predict(heap.copyIn(x), x.length)));
  }

  /** @returns {{accuracy: number, loss: number}} accuracy as a fraction in [0, 1] */
  evaluate(ds) {
    const handle = this.#live();
    checkDataset('dataset', ds);
    return withHeap(this.#module, (heap) =>
      JSON.parse(unwrap(handle.evaluate(heapDataset(heap, ds)))),
    );
  }

  /**
   * Trains on a dataset. Resolves to the per-epoch history. Atomic, as forget is: when it
   * rejects (ABORTED when `signal` fires or the model is disposed, FAILED_PRECONDITION when
   * training diverges, any other error) the model is exactly as it was before the call.
   * @param {{x: Uint8Array, y: Uint8Array, shape: number[]}} ds
   * @param {object} [options] epochs, batchSize, lr, optimizer, momentum, nesterov,
   *   weightDecay, schedule, clipNorm, augment, seed, onProgress(epochStats), signal
   */
  async fit(ds, options = {}) {
    const handle = this.#live();
    this.#idle('fit');
    checkDataset('dataset', ds);
    const { onProgress, signal, engineOptions } = splitCallbacks(options);
    if (signal?.aborted) throw new QforgetError('ABORTED', 'fit was aborted before it started');
    const module = this.#module;
    const before = unwrap(handle.save(true));  // what an abort or a crash of the engine restores
    let session = null;
    let restore = false;
    this.#busy = 'training';
    const history = [];
    try {
      session = adopt(withHeap(module, (heap) =>
        unwrap(handle.startFit(heapDataset(heap, ds), JSON.stringify(engineOptions))),
      ));
      for (;;) {
        const { done, epoch } = JSON.parse(unwrap(session.step(BATCHES_PER_STEP)));
        if (epoch) {
          history.push(epoch);
          onProgress?.(epoch);
        }
        if (done) return history;
        await nextTask();
        if (signal?.aborted) throw new QforgetError('ABORTED', `fit was aborted after ${history.length} epoch(s); the model is unchanged`);
        this.#ensureNotDisposed('fit');
      }
    } catch (error) {
      // The engine restores a diverged model itself; the rest is put back below, once the
      // session (which trains this model in place) is gone.
      restore = session !== null && !(error instanceof QforgetError && error.code === 'FAILED_PRECONDITION');
      throw await this.#survive(module, error, before, 'fit');
    } finally {
      if (session) (module.qforgetLost ? abandon : release)(session);
      if (restore && this.#handle && !this.#module.qforgetLost && this.#module === module) this.#reload(before);
      this.#busy = null;
    }
  }

  // Replaces this model's engine object by one loaded from `bytes` (model.save(true)) into
  // `module`: this model's own instance, or a fresh one when the old one crashed.
  #reload(bytes, module = this.#module) {
    const handle = withHeap(module, (heap) => unwrap(module.loadModel(heap.copyIn(bytes), bytes.length)));
    (this.#module.qforgetLost ? abandon : release)(this.#handle);
    this.#handle = adopt(handle);
    this.#module = module;
  }

  /**
   * Makes the model forget `forgetSet` (the samples to erase, with their true labels).
   * Atomic: the method works on a copy and the model changes only when it finishes; an
   * error or an abort leaves it exactly as it was. At the end the float shadow weights
   * are set to the integer weights' values, so nothing forgotten survives below the grid.
   * @param {{x: Uint8Array, y: Uint8Array, shape: number[]}} forgetSet
   * @param {object} options retain (the training data that stays, or a sample of it; every
   *   method but ga and bs requires it),
   *   test (optional: a held-out set; the receipt then carries the metrics),
   *   heldOutRetain (optional, with test: retain samples the method does not train on;
   *   RA and the attack's members are measured on them, `metrics.retainSet` says which),
   *   previousReceipt (optional: the last receipt of this model's log, to chain to),
   *   method ('qmul' | 'ft' | 'ga' | 'rl' | ...), epochs, batchSize, lr, optimizer,
   *   momentum, nesterov, weightDecay, schedule, seed, qmulMode, qmulRetainScanBatches,
   *   l1Alpha, salunRatio, bsEpsilon, onProgress(epochReport), signal
   * @returns {Promise<object>} the receipt (see receipts.js and SPEC §5)
   */
  async forget(forgetSet, options = {}) {
    const handle = this.#live();
    this.#idle('forget');
    checkDataset('forgetSet', forgetSet);
    const { onProgress, signal, engineOptions } = splitCallbacks(options);
    const { retain: givenRetain, test, heldOutRetain, previousReceipt, ...rest } = engineOptions;
    // Methods that never look at D_r (ga, bs) run without it; the engine refuses the others.
    const retain = givenRetain === undefined ? emptyDataset(this.inputShape) : checkDataset('options.retain', givenRetain);
    if (heldOutRetain !== undefined && test === undefined) throw invalid('options.heldOutRetain is for the metrics: give options.test too');
    if (test !== undefined && givenRetain === undefined && heldOutRetain === undefined) {
      throw invalid('options.test needs options.retain or options.heldOutRetain: RA and the membership attack are measured on retain data');
    }
    for (const [name, ds] of [['options.test', test], ['options.heldOutRetain', heldOutRetain]]) {
      if (ds === undefined) continue;
      checkDataset(name, ds);
      withHeap(this.#module, (heap) => unwrap(handle.checkDataset(heapDataset(heap, ds), name)));
    }
    // RA and the attack's members: on retain samples the method did not fit to, if given.
    const metricsRetain = heldOutRetain ?? retain;
    const previousSha256 = previousHash(previousReceipt);
    if (signal?.aborted) throw new QforgetError('ABORTED', 'forget was aborted before it started; the model is unchanged');
    const aborted = (epochs) => new QforgetError('ABORTED', `forget was aborted after ${epochs} epoch(s); the model is unchanged`);

    const module = this.#module;
    const before = unwrap(handle.save(true));
    this.#busy = 'training';
    let session = null;
    try {
      const [forgetSetSha256, retainSetSha256, modelBeforeSha256] = await Promise.all([
        datasetSha256(forgetSet), datasetSha256(retain), sha256(before),
      ]);
      if (signal?.aborted) throw aborted(0);
      this.#ensureNotDisposed('forget');
      const started = performance.now();
      session = adopt(withHeap(this.#module, (heap) =>
        unwrap(handle.startForget(heapDataset(heap, forgetSet), heapDataset(heap, retain), JSON.stringify(rest))),
      ));
      const epochs = [];
      for (;;) {
        const step = JSON.parse(unwrap(session.step(BATCHES_PER_STEP)));
        for (const epoch of step.epochs) {
          epochs.push(epoch);
          onProgress?.(epoch);
        }
        if (step.done) break;
        await nextTask();
        if (signal?.aborted) throw aborted(epochs.length);
        this.#ensureNotDisposed('forget');
      }
      unwrap(handle.commitForget(session));
      const seconds = (performance.now() - started) / 1000;
      try {
        // The metrics of the result, stepped like the forget: the same signal stops them
        // (and so the forget, which is then put back below).
        const start = () => withHeap(module, (heap) =>
          unwrap(handle.startMetrics(heapDataset(heap, forgetSet), heapDataset(heap, metricsRetain), heapDataset(heap, test), '{}')));
        const check = () => this.#ensureNotDisposed('forget');
        const metrics = test === undefined ? null : {
          ...(await runMetrics(module, start, { signal, check })),
          retainSet: heldOutRetain === undefined ? 'trainedOn' : 'heldOut',
        };
        return await sealReceipt({
          engine: { version: this.#module.version(), isa: this.#module.kernelIsa() },
          createdAt: new Date().toISOString(),
          method: session.method,
          options: rest,
          forgotten: session.forgotten,
          retained: retain.shape[0],
          forgetSetSha256,
          retainSetSha256,
          modelBeforeSha256,
          modelAfterSha256: await sha256(unwrap(handle.save(true))),
          metrics,
          epochs,
          seconds,
          previousSha256,
        });
      } catch (error) {
        // A failure after the commit (metrics, the receipt) puts the model as it was
        // back, unless it was disposed meanwhile.
        if (this.#handle && !module.qforgetLost) unwrap(handle.revertForget(session));
        throw error;
      }
    } catch (error) {
      throw await this.#survive(module, error, before, 'forget');
    } finally {
      if (session) (module.qforgetLost ? abandon : release)(session);
      this.#busy = null;
    }
  }

  // What a fit or forget that failed throws. If the engine itself crashed (an allocation
  // no reservation covered, or a bug), its instance is lost; this model is then moved,
  // as `before` (its bytes before the call) says it was, into a fresh instance, so the
  // failed call leaves it unchanged and usable. Other models of the lost instance are gone.
  async #survive(module, error, before, what) {
    const reported = engineCrashed(module, error);
    if (!(error instanceof WebAssembly.RuntimeError) || !this.#handle || !module.qforgetRelaunch) return reported;
    try {
      this.#reload(before, await module.qforgetRelaunch());
    } catch {
      return reported;
    }
    return new QforgetError('INTERNAL', `${what} stopped: the engine crashed (${error.message}). This model is as it was before the call, moved into a new qforget instance (createQforget() now returns that one); the other models of the old instance are lost`);
  }

  /**
   * The model file's bytes (SPEC §6): integer weights packed at their bit width, step
   * sizes, and (unless `{ shadow: false }`) the float shadow weights needed to train or
   * forget later. qf.loadModel(bytes) restores it.
   * @returns {Uint8Array}
   */
  save(options = {}) {
    const handle = this.#live();
    const { shadow = true, ...rest } = checkOptions('options', options);
    if (Object.keys(rest).length) throw invalid(`options.${Object.keys(rest)[0]}: unknown option (known: shadow)`);
    if (typeof shadow !== 'boolean') throw invalid('options.shadow must be a boolean');
    return unwrap(handle.save(shadow));
  }

  /**
   * Frees the wasm memory. Safe to call twice; any later use throws. A fit or forget in
   * progress stops at its next step and rejects with ABORTED (a forget commits nothing).
   */
  dispose() {
    // In a crashed instance there is nothing left to free (and no engine to call).
    if (this.#handle) (this.#module.qforgetLost ? abandon : release)(this.#handle);
    this.#handle = null;
  }
}

// `using` support where the runtime has Symbol.dispose (Node 20+, recent browsers).
if (typeof Symbol.dispose === 'symbol') Model.prototype[Symbol.dispose] = Model.prototype.dispose;
