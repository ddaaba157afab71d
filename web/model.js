// The Model class: a trained or trainable network living in wasm memory. Moves data
// in and out and drives long work (fit) in steps so progress can be reported and the
// work cancelled; every decision and all math are the engine's.
import { sampleType } from './dtypes.js';
import { checkDataset, emptyDataset, heapDataset, withoutClass } from './datasets.js';
import { QforgetError, checkOptions, engineCrashed, guardMethods, invalid, unwrap } from './errors.js';
import { withHeap } from './heap.js';
import { abandon, adopt, release } from './handles.js';
import { Ledger, gatherByHash, sampleHashes } from './ledger.js';
import { checkRequest, checkSigningKey, datasetSha256, previousHash, sealReceipt, sha256 } from './receipts.js';
import { countStream, feedStream, isBatchStream } from './stream.js';

/** Batches trained per step of fit() between chances to report and cancel. */
const BATCHES_PER_STEP = 4;

// Lets timers, abort events and rendering run between steps of long work.
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

/** The engine handle of a live model (for qf.unlearningMetrics); not public API. */
export let handleOf;
/** Whether a model is not disposed. Not public API. */
export let isLive;
/** Marks a live, idle model busy being measured; returns the function that frees it. Not public API. */
export let occupy;

/** Gives a model qf.importOnnx made the engine's import report (its `imported`); returns the model. Not public API. */
export let withImportReport;

// A deep-frozen copy of a JSON-able value.
const frozen = (value) => {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) frozen(v);
    Object.freeze(value);
  }
  return value;
};

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

// A receipt's `until`: the rule, whether the last epoch met it (false: the forget ran all
// its epochs without getting there), how many ran, and which held-out set it compared with.
async function untilOutcome(epochs, holdout) {
  const last = epochs.at(-1)?.until;
  return {
    criterion: last?.criterion ?? null, reached: last?.met ?? false, epochs: epochs.length,
    ...(holdout === undefined ? {} : { holdoutSamples: holdout.shape[0], holdoutSha256: await datasetSha256(holdout) }),
  };
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
  #ledger = new Ledger();  // checkpoints and what was trained and forgotten since (ledger.js)
  #imported = null;  // the engine's report when qf.importOnnx made this model

  static {
    handleOf = (model) => model.#live();
    isLive = (model) => model.#handle !== null;
    occupy = (model, what) => {
      model.#live();
      model.#idle(what);
      model.#busy = 'being measured';
      return () => { model.#busy = null; };
    };
    withImportReport = (model, report) => {
      model.#imported = frozen(structuredClone(report ?? {}));
      return model;
    };
    guardMethods(Model, ['describe', 'predict', 'quantize', 'evaluate', 'fit', 'forget', 'save', 'toOnnx', 'checkpoint', 'history', 'restoreHistory'], (model) => model.#module);
  }

  constructor(module, handle) {
    this.#module = module;
    this.#handle = adopt(handle);
    const description = JSON.parse(handle.describe());
    /** The input shape of one sample, e.g. [28, 28, 1]. */
    this.inputShape = description.inputShape;
    /** What a sample's values are: 'uint8' (pixels, a Uint8Array) or 'float32' (features, a Float32Array). */
    this.inputType = description.inputType;
    /** How a sample's values are laid out: 'nhwc' (channels last) or 'nchw' (channels first, [C, H, W]). */
    this.inputLayout = description.inputLayout ?? 'nhwc';
    /** The number of classes. */
    this.numClasses = description.numClasses;
  }

  /**
   * What the engine made of the ONNX graph when qf.importOnnx created this model (frozen):
   * the producer, the opsets, the nodes it dropped (such as a trailing Softmax) and how
   * the graph became layers; null for a model not imported.
   */
  get imported() {
    return this.#imported;
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
   * @param {Uint8Array | Float32Array} x samples of the model's inputType and inputLayout
   *   (pixels NHWC or NCHW, or features): a whole number of samples of inputShape
   * @returns {Float32Array} n × numClasses, n = x.length / (the size of one sample)
   */
  predict(x, ...extra) {
    const handle = this.#live();
    if (extra.length) throw invalid('predict(x) takes the samples only: their count comes from x.length and the input shape');
    const type = sampleType('x', x);
    return withHeap(this.#module, (heap) => unwrap(handle.predict(heap.copyIn(x), x.length, type)));
  }

  /**
   * Post-training quantization: a new, quantized model from this float one (trained here or
   * imported), without training. Weights get their grids from the float weights (BatchNorm
   * is folded into the int8 kernels' epilogues when the model runs); each quantized layer's
   * input step is calibrated on `calibration`, in model order. This model is unchanged.
   * @param {object} options calibration (required: samples as predict takes them, or a
   *   dataset {x, ...}), bits (8: the inner weighted layers), scheme ('uniform'), activationBits
   *   (8 | 4), edgeBits (8: first and last layers), perChannel (true), method ('minmax' |
   *   'percentile' | 'mse'; default 'mse'), percentile (99.99), maxSamples (1024: the
   *   first samples used)
   * @returns {Model} the quantized model, which can also be fine-tuned with fit()
   */
  quantize(options) {
    const handle = this.#live();
    const { calibration, ...engineOptions } = checkOptions('options', options);
    if (calibration === undefined) throw invalid('options.calibration is required: samples (a Uint8Array or Float32Array) or a dataset {x, ...}');
    const x = ArrayBuffer.isView(calibration) || calibration?.x === undefined ? calibration : calibration.x;
    const type = sampleType('options.calibration', x);
    const quantized = withHeap(this.#module, (heap) =>
      unwrap(handle.quantize(heap.copyIn(x), x.length, type, JSON.stringify(engineOptions))),
    );
    return new Model(this.#module, quantized);
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
   * After a checkpoint(), the fit is recorded in the model's ledger (see history()).
   *
   * `ds` may also be a stream: an iterable (async or not) of batches {x, y, shape}, for data
   * larger than memory. It is read once to count and check it, then once per epoch, each
   * time from its start (so an iterable that starts over, not a generator object), and must
   * give the same samples every time. An epoch reads it through a window shuffle of
   * `shuffleWindow` samples (default 1024; in memory, the whole set): only that many, plus
   * a batch, are held at once. The same samples in memory with the same shuffleWindow
   * train the same model, byte for byte.
   * @param {{x: Uint8Array | Float32Array, y: Uint8Array | Uint16Array | Int32Array, shape: number[]} | AsyncIterable<object> | Iterable<object>} ds
   * @param {object} [options] epochs, batchSize, lr, optimizer, momentum, nesterov,
   *   weightDecay, schedule, clipNorm, augment, seed, shuffleWindow, onProgress(epochStats),
   *   signal
   */
  async fit(ds, options = {}) {
    const handle = this.#live();
    this.#idle('fit');
    const streamed = isBatchStream(ds);
    if (!streamed) checkDataset('dataset', ds);
    const { onProgress, signal, engineOptions } = splitCallbacks(options);
    if (signal?.aborted) throw new QforgetError('ABORTED', 'fit was aborted before it started');
    const module = this.#module;
    const before = unwrap(handle.save(true));  // what an abort or a crash of the engine restores
    let session = null;
    let restore = false;
    let counted = null;
    let pass = null;  // the stream's pass being read
    this.#busy = 'training';
    try {
      const notStarted = () => {
        if (signal?.aborted) throw new QforgetError('ABORTED', 'fit was aborted before it started');
        this.#ensureNotDisposed('fit');
      };
      if (streamed) counted = await countStream(module, handle, ds, 'dataset', { keepHashes: this.#ledger.recording, check: notStarted });
      const samples = counted ? counted.hashes : this.#ledger.recording ? await sampleHashes(ds) : null;
      notStarted();
      session = counted
        ? adopt(unwrap(handle.startFitStreamed(counted.stream, JSON.stringify(engineOptions))))
        : this.#startFit(handle, ds, engineOptions);
      const feed = counted && (async () => { pass = await feedStream(module, counted.stream, ds, 'dataset', pass); });
      const history = await this.#runFit(session, 'fit', onProgress, signal, feed);
      if (samples) {
        this.#ledger.addFit({ samples, options: engineOptions, epochs: history.length, modelAfterSha256: await sha256(unwrap(handle.save(true))) });
      }
      return history;
    } catch (error) {
      // The engine restores a diverged model itself; the rest is put back below, once the
      // session (which trains this model in place) is gone.
      restore = session !== null && !(error instanceof QforgetError && error.code === 'FAILED_PRECONDITION');
      throw await this.#survive(module, error, before, 'fit');
    } finally {
      for (const h of [session, counted?.stream]) if (h) (module.qforgetLost ? abandon : release)(h);
      await pass?.close();
      if (restore && this.#handle && !this.#module.qforgetLost && this.#module === module) this.#reload(before);
      this.#busy = null;
    }
  }

  // A session that trains `handle` (this model's, or a rewind's working copy) in place.
  #startFit(handle, ds, engineOptions) {
    return adopt(withHeap(this.#module, (heap) =>
      unwrap(handle.startFit(heapDataset(heap, ds), JSON.stringify(engineOptions)))));
  }

  // Runs a fit session to its end a few batches per task, reporting each epoch's stats;
  // ABORTED when `signal` fires or this model is disposed. `feed` (a streamed dataset's)
  // runs between steps. Resolves to the epochs' stats.
  async #runFit(session, what, onEpoch, signal, feed) {
    const history = [];
    for (;;) {
      const { done, epoch } = JSON.parse(unwrap(session.step(BATCHES_PER_STEP)));
      if (epoch) {
        history.push(epoch);
        onEpoch?.(epoch);
      }
      if (done) return history;
      await feed?.();
      await nextTask();
      if (signal?.aborted) throw new QforgetError('ABORTED', `${what} was aborted after ${history.length} epoch(s); the model is unchanged`);
      this.#ensureNotDisposed(what);
    }
  }

  /**
   * Marks the model's weights now as a point a rewind can go back to: keeps its bytes (in
   * memory; qforget/storage keeps them with the model) and, from now on, records every fit
   * and forget in the model's ledger. Take it before the fits whose samples may have to be
   * forgotten (on a base model, before personalizing it): forget({method: 'rewind'}) then
   * forgets them exactly. Samples the model saw before its first checkpoint are not in
   * the ledger and cannot be rewound.
   * @returns {Promise<{index: number, modelSha256: string, createdAt: string}>}
   */
  async checkpoint() {
    const handle = this.#live();
    this.#idle('checkpoint');
    this.#busy = 'checkpointing';
    try {
      const bytes = unwrap(handle.save(true));
      return this.#ledger.addCheckpoint(bytes, await sha256(bytes));
    } finally {
      this.#busy = null;
    }
  }

  /**
   * The model's ledger since its first checkpoint, oldest first (ledger.js): checkpoints
   * (with their bytes), fits (their samples' SHA-256s in order, options, epochs) and
   * forgets (the samples' SHA-256s). Never sample content. restoreHistory takes it back.
   * @returns {{format: string, events: object[]}}
   */
  history() {
    this.#live();
    return this.#ledger.export();
  }

  /**
   * Gives the model a ledger history() returned (as qforget/storage does when it loads a
   * model), or none (`null`). Refused when the history does not end at this model
   * (FAILED_PRECONDITION), is malformed (INVALID_ARGUMENT) or damaged (DATA_LOSS).
   */
  async restoreHistory(history) {
    const handle = this.#live();
    this.#idle('restore a history');
    this.#busy = 'restoring its history';
    try {
      this.#ledger = history === null ? new Ledger() : await Ledger.restore(history, await sha256(unwrap(handle.save(true))));
    } finally {
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
   *
   * Method 'rewind' forgets exactly: it loads the newest checkpoint that predates every
   * sample of the set and replays the fits recorded since, with their own options, without
   * those samples (nor any a later forget removed); `data` must hold every other sample
   * they trained on (it may hold more; samples are matched by SHA-256). It refuses with
   * NOT_FOUND when a sample is in no recorded fit and FAILED_PRECONDITION when `data`
   * lacks one. Method 'auto' rewinds when that costs at most `budget` (default 1) times
   * what Q-MUL would (both counted as samples put through the model) and otherwise runs
   * Q-MUL with the other options; the receipt's `auto` says which and why.
   * @param {{x: Uint8Array | Float32Array, y: Uint8Array | Uint16Array | Int32Array, shape: number[]}} forgetSet
   * @param {object} options retain (the training data that stays, or a sample of it; every
   *   method but ga, bs and rewind requires it; a dataset, or a stream of batches read as
   *   fit reads one, through a window of `shuffleWindow` samples),
   *   data (rewind and auto: the training data to replay),
   *   budget (auto: the rewind's cost as a fraction of Q-MUL's, at most),
   *   test (optional: a held-out set; the receipt then carries the metrics),
   *   heldOutRetain (optional, with test: retain samples the method does not train on;
   *   RA and the attack's members are measured on them, `metrics.retainSet` says which),
   *   previousReceipt (optional: the last receipt of this model's log, to chain to),
   *   request (optional: the deletion request, sealed into the receipt: {id, subject,
   *   requestedBy, reason, ids}, free text within REQUEST_LIMITS (receipts.js), and `ids`
   *   the forget set's sample ids, one per sample; never sample content),
   *   forgetClass (optional: the class a class request forgets, every sample of the forget
   *   set being of it; the test metrics then leave it out, as the benchmark does),
   *   signingKey (optional: an ECDSA P-256 private CryptoKey, extractable, or a key pair
   *   {privateKey, publicKey}; the receipt then carries its fingerprint and a signature),
   *   until (optional: stop before `epochs` once the samples look forgotten; 'unseen' for
   *   sample requests: until neither a two-sample Kolmogorov-Smirnov test on true-class
   *   confidences nor a z-test on accuracy tells the forget set from `holdout` at 5 %; or
   *   { forgetAccuracy } for class requests: until the forget set's accuracy is at most
   *   that; each epoch report's `until` has the reading, the receipt's `until` the outcome),
   *   holdout (until 'unseen': at least 20 samples of the forget set's kind that the model
   *   never trained on, a dataset in memory),
   *   method ('qmul' | 'ft' | 'ga' | 'rl' | ... | 'rewind' | 'auto'), epochs, batchSize,
   *   lr, optimizer, momentum, nesterov, weightDecay, schedule, seed, shuffleWindow, qmulMode,
   *   qmulRetainScanBatches, qmulScanMode, qmulSimilarity ('prediction' | 'confusion' |
   *   'embedding' | a numClasses × numClasses matrix as numClasses arrays of numbers),
   *   l1Alpha, salunRatio, bsEpsilon,
   *   onProgress(epochReport), signal
   * @returns {Promise<object>} the receipt (see receipts.js and SPEC §5)
   */
  async forget(forgetSet, options = {}) {
    const handle = this.#live();
    this.#idle('forget');
    checkDataset('forgetSet', forgetSet);
    const { onProgress, signal, engineOptions } = splitCallbacks(options);
    const { retain: givenRetain, heldOutRetain, previousReceipt, data, budget: givenBudget, holdout, request: givenRequest, signingKey, forgetClass, test: givenTest, ...rest } = engineOptions;
    const { method } = rest;
    const rewind = method === 'rewind' || method === 'auto';
    if (!rewind && data !== undefined) throw invalid("options.data is the training data a rewind replays: it goes with method 'rewind' or 'auto'");
    if (method !== 'auto' && givenBudget !== undefined) throw invalid("options.budget goes with method 'auto'");
    if (rewind && (rest.until !== undefined || holdout !== undefined)) {
      throw invalid(`options.${rest.until !== undefined ? 'until' : 'holdout'} does not apply to method '${method}': a rewind replays the recorded fits to their end`);
    }
    if (method === 'rewind') {
      if (data === undefined) throw invalid("method 'rewind' replays the recorded fits: give their training data as options.data");
      const [extra] = Object.keys(rest).filter((k) => k !== 'method');
      if (givenRetain !== undefined || extra !== undefined) {
        throw invalid(`options.${givenRetain !== undefined ? 'retain' : extra} does not apply to method 'rewind': it replays the recorded fits with their own options (the data to replay is options.data)`);
      }
    }
    if (forgetClass !== undefined) {
      if (!Number.isSafeInteger(forgetClass) || forgetClass < 0 || forgetClass >= this.numClasses) {
        throw invalid(`options.forgetClass must be an integer class in [0, ${this.numClasses - 1}], got ${String(forgetClass)}`);
      }
      const other = forgetSet.y.findIndex((label) => label !== forgetClass);
      if (other >= 0) throw invalid(`options.forgetClass is ${forgetClass}, but sample ${other} of the forget set has label ${forgetSet.y[other]}: a class request forgets samples of that class only`);
    }
    const budget = givenBudget ?? 1;
    if (typeof budget !== 'number' || !Number.isFinite(budget) || budget < 0) throw invalid(`options.budget must be a finite number >= 0, got ${String(givenBudget)}`);
    // Methods that never look at D_r (ga, bs) run without it; the engine refuses the others.
    const streamed = isBatchStream(givenRetain);
    const retain = givenRetain === undefined ? emptyDataset(this) : streamed ? givenRetain : checkDataset('options.retain', givenRetain);
    if (heldOutRetain !== undefined && givenTest === undefined) throw invalid('options.heldOutRetain is for the metrics: give options.test too');
    if (streamed && givenTest !== undefined && heldOutRetain === undefined) {
      throw invalid('options.test with a streamed options.retain needs options.heldOutRetain: RA and the membership attack are measured on retain samples in memory');
    }
    if (givenTest !== undefined && givenRetain === undefined && heldOutRetain === undefined && data === undefined) {
      throw invalid('options.test needs options.retain or options.heldOutRetain: RA and the membership attack are measured on retain data');
    }
    for (const [name, ds] of [['options.test', givenTest], ['options.heldOutRetain', heldOutRetain], ['options.data', data], ['options.holdout', holdout]]) {
      if (isBatchStream(ds)) throw invalid(`${name} must be a dataset {x, y, shape} in memory; only options.retain (and fit's data) may be streamed`);
      if (ds !== undefined) withHeap(this.#module, (heap) => unwrap(handle.checkDataset(heapDataset(heap, checkDataset(name, ds)), name)));
    }
    const previousSha256 = previousHash(previousReceipt);
    const deletionRequest = checkRequest(givenRequest, forgetSet.shape[0]);
    const test = forgetClass === undefined || givenTest === undefined ? givenTest : withoutClass(givenTest, forgetClass);
    if (signal?.aborted) throw new QforgetError('ABORTED', 'forget was aborted before it started; the model is unchanged');

    const module = this.#module;
    const before = unwrap(handle.save(true));
    let counted = null;  // a streamed retain set
    this.#busy = 'training';
    try {
      const signer = await checkSigningKey(signingKey);
      const [forgetSetSha256, modelBeforeSha256, forgotten] = await Promise.all([
        datasetSha256(forgetSet), sha256(before), rewind || this.#ledger.recording ? sampleHashes(forgetSet) : null,
      ]);
      this.#checkGoing(signal, 0);
      if (streamed) counted = await countStream(module, handle, givenRetain, 'options.retain', { check: () => this.#checkGoing(signal, 0) });
      const request = { forgetSet, test, heldOutRetain, holdout, signal, onProgress, forgotten, counted, forgetClass };
      const common = { request: deletionRequest, forgetSetSha256, modelBeforeSha256, previousSha256, signer };
      // What runs when no rewind does: the method asked for, or auto's Q-MUL.
      const approximate = method === 'auto' ? { ...rest, method: 'qmul' } : rest;
      let replay = null;
      let auto;
      if (rewind) {
        const choice = await this.#chooseRewind(request, data, counted?.size ?? retain.shape[0], method === 'auto' ? approximate : null, budget);
        this.#checkGoing(signal, 0);
        ({ replay, auto } = choice);
      }
      if (replay) return await this.#rewind(handle, request, replay, { ...common, auto, retainSetSha256: await datasetSha256(data) });
      return await this.#approximate(handle, request, retain, approximate, { ...common, auto, retainSetSha256: counted?.sha256 ?? await datasetSha256(retain) });
    } catch (error) {
      throw await this.#survive(module, error, before, 'forget');
    } finally {
      if (counted) (module.qforgetLost ? abandon : release)(counted.stream);
      this.#busy = null;
    }
  }

  // Between steps of a forget: ABORTED when `signal` fired or the model was disposed.
  #checkGoing(signal, epochs) {
    if (signal?.aborted) throw new QforgetError('ABORTED', `forget was aborted after ${epochs} epoch(s); the model is unchanged`);
    this.#ensureNotDisposed('forget');
  }

  // Whether forget({method: 'rewind' | 'auto'}) rewinds. Rewind (approximate null): the
  // replay, or the ledger's refusal. Auto: the replay when it is possible and within the
  // budget, else null and why; in both cases `auto` for the receipt.
  async #chooseRewind({ forgotten, holdout }, data, retained, approximate, budget) {
    let replay;
    try {
      replay = await this.#planReplay(forgotten, data);
    } catch (error) {
      if (!approximate || !(error instanceof QforgetError)) throw error;
      return { replay: null, auto: { chose: 'qmul', reason: `no rewind: ${error.message}`, budget } };
    }
    if (!approximate) return { replay };
    const rewindSamples = replay.fits.reduce((sum, f) => sum + f.dataset.shape[0] * f.epochs, 0);
    const qmulSamples = unwrap(this.#module.plannedForgetSamples(JSON.stringify(approximate), forgotten.length, retained, holdout?.shape[0] ?? 0));
    const cheap = rewindSamples <= budget * qmulSamples;
    const auto = {
      chose: cheap ? 'rewind' : 'qmul', budget, rewindSamples, qmulSamples,
      reason: `a rewind replays ${rewindSamples} sample(s), Q-MUL would run ${qmulSamples}: ${cheap ? 'within' : 'over'} the budget of ${budget} × Q-MUL`,
    };
    return { replay: cheap ? replay : null, auto };
  }

  // The rewind that forgets the samples `forgotten` (hashes): the ledger's plan with each
  // fit's data gathered from `data`. FAILED_PRECONDITION when `data` lacks a sample.
  async #planReplay(forgotten, data) {
    if (data === undefined) throw new QforgetError('FAILED_PRECONDITION', 'options.data (the training data to replay) was not given');
    const plan = this.#ledger.plan(forgotten);
    const hashes = await sampleHashes(data);
    const fits = plan.fits.map((fit, i) => {
      const { dataset, missing } = gatherByHash(data, hashes, fit.samples);
      if (missing > 0) {
        throw new QforgetError('FAILED_PRECONDITION', `options.data lacks ${missing} of the ${fit.samples.length} sample(s) recorded fit ${i + 1} of ${plan.fits.length} since the checkpoint trained on (and must train on again)`);
      }
      return { ...fit, dataset };
    });
    return { ...plan, fits };
  }

  // forget by rewind: the checkpoint loaded into a working copy, the fits replayed on it,
  // measured, and swapped in at the end; until then this model is untouched.
  async #rewind(handle, { forgetSet, test, heldOutRetain, signal, onProgress, forgotten, forgetClass }, replay, common) {
    const module = this.#module;
    // Without held-out samples, RA is measured on the last fit replayed.
    const trainedOn = replay.fits.filter((f) => f.dataset.shape[0] > 0).at(-1)?.dataset ?? emptyDataset(this);
    const before = await this.#evidenceBefore(handle, forgetSet, heldOutRetain ?? trainedOn, test, heldOutRetain, signal);
    const started = performance.now();
    let working = adopt(withHeap(module, (heap) => unwrap(module.loadModel(heap.copyIn(replay.checkpoint.bytes), replay.checkpoint.bytes.length))));
    try {
      const epochs = [];
      const replayed = [];
      for (const [i, fit] of replay.fits.entries()) {
        if (fit.dataset.shape[0] === 0) continue;  // every sample of it forgotten
        const session = this.#startFit(working, fit.dataset, fit.options);
        try {
          const tag = (epoch) => ({ ...epoch, fit: i + 1, fits: replay.fits.length, fitEpochs: fit.epochs });
          const history = await this.#runFit(session, 'forget', (epoch) => {
            epochs.push(tag(epoch));
            onProgress?.(tag(epoch));
          }, signal);
          replayed.push({ samples: fit.samples, options: fit.options, epochs: history.length, modelAfterSha256: await sha256(unwrap(working.save(true))) });
        } finally {
          (module.qforgetLost ? abandon : release)(session);
        }
      }
      this.#checkGoing(signal, epochs.length);  // a signal fired during the last epoch
      const seconds = (performance.now() - started) / 1000;
      const metrics = await this.#measure(working, forgetSet, heldOutRetain ?? trainedOn, test, heldOutRetain, signal);
      const evidence = this.#evidence(working, forgetSet, before, metrics, forgetClass);
      const modelAfterSha256 = await sha256(unwrap(working.save(true)));
      const receipt = await this.#seal({
        ...common, method: 'rewind', options: { method: common.auto ? 'auto' : 'rewind' }, exact: true,
        forgotten: forgetSet.shape[0],
        retained: replay.fits.reduce((sum, f) => sum + f.dataset.shape[0], 0),
        modelAfterSha256, metrics, evidence, epochs, seconds,
        rewind: {
          checkpointSha256: replay.checkpoint.modelSha256,
          checkpointCreatedAt: replay.checkpoint.createdAt,
          fits: replay.fits.map((f) => ({ samples: f.dataset.shape[0], removed: f.removed, epochs: f.epochs })),
        },
      });
      this.#checkGoing(signal, epochs.length);
      // The swap: nothing below can fail.
      (module.qforgetLost ? abandon : release)(handle);
      this.#handle = working;
      working = null;
      this.#ledger.rewound(replay, replayed, { method: 'rewind', exact: true, forgotten, modelAfterSha256 });
      return receipt;
    } finally {
      if (working) (module.qforgetLost ? abandon : release)(working);
    }
  }

  // forget by an approximate method, on a copy the engine swaps in at the end.
  async #approximate(handle, { forgetSet, test, heldOutRetain, holdout, signal, onProgress, forgotten, counted, forgetClass }, retain, engineOptions, common) {
    const module = this.#module;
    let session = null;
    let pass = null;  // the retain stream's pass being read
    try {
      const started = performance.now();
      const options = JSON.stringify(engineOptions);
      session = adopt(withHeap(module, (heap) => {
        const held = heapDataset(heap, holdout ?? emptyDataset(this));
        return unwrap(counted
          ? handle.startForgetStreamed(heapDataset(heap, forgetSet), counted.stream, held, options)
          : handle.startForget(heapDataset(heap, forgetSet), heapDataset(heap, retain), held, options));
      }));
      // Measured once the engine has checked the sets (starting works on a copy: `handle`
      // is still the model before); not part of the forget's time.
      const measuring = performance.now();
      const before = await this.#evidenceBefore(handle, forgetSet, heldOutRetain ?? retain, test, heldOutRetain, signal);
      const measured = performance.now() - measuring;
      const epochs = [];
      for (;;) {
        const step = JSON.parse(unwrap(session.step(BATCHES_PER_STEP)));
        for (const epoch of step.epochs) {
          epochs.push(epoch);
          onProgress?.(epoch);
        }
        if (step.done) break;
        if (counted) pass = await feedStream(module, counted.stream, retain, 'options.retain', pass);
        await nextTask();
        this.#checkGoing(signal, epochs.length);
      }
      this.#checkGoing(signal, epochs.length);  // a signal fired during the last epoch
      unwrap(handle.commitForget(session));
      const seconds = (performance.now() - started - measured) / 1000;
      try {
        // The metrics of the result, stepped like the forget: the same signal stops them
        // (and so the forget, which is then put back below).
        const metrics = await this.#measure(handle, forgetSet, heldOutRetain ?? retain, test, heldOutRetain, signal);
        const evidence = this.#evidence(handle, forgetSet, before, metrics, forgetClass);
        const modelAfterSha256 = await sha256(unwrap(handle.save(true)));
        const receipt = await this.#seal({
          ...common, method: session.method, options: engineOptions, exact: false,
          forgotten: session.forgotten, retained: counted?.size ?? retain.shape[0],
          modelAfterSha256, metrics, evidence, epochs, seconds,
          ...(engineOptions.until === undefined ? {} : { until: await untilOutcome(epochs, holdout) }),
        });
        this.#ensureNotDisposed('forget');
        if (forgotten) this.#ledger.addForget({ method: session.method, exact: false, forgotten, modelAfterSha256 });
        return receipt;
      } catch (error) {
        // A failure after the commit (metrics, the receipt) puts the model as it was
        // back, unless it was disposed meanwhile.
        if (this.#handle && !module.qforgetLost) unwrap(handle.revertForget(session));
        throw error;
      }
    } finally {
      if (session) (module.qforgetLost ? abandon : release)(session);
      await pass?.close();
    }
  }

  // The metrics of a forget's result (null without a test set); RA and the attack's
  // members on `retain`, held-out retain samples when `heldOutRetain` was given.
  async #measure(handle, forgetSet, retain, test, heldOutRetain, signal) {
    if (test === undefined) return null;
    const start = () => withHeap(this.#module, (heap) =>
      unwrap(handle.startMetrics(heapDataset(heap, forgetSet), heapDataset(heap, retain), heapDataset(heap, test), '{}')));
    const check = () => this.#ensureNotDisposed('forget');
    return { ...(await runMetrics(this.#module, start, { signal, check })), retainSet: heldOutRetain === undefined ? 'trainedOn' : 'heldOut' };
  }

  // What a forget's receipt compares its result with, measured on the model before it:
  // with a test set the metrics (see #measure), else the forget set's accuracy.
  async #evidenceBefore(handle, forgetSet, retain, test, heldOutRetain, signal) {
    const metrics = await this.#measure(handle, forgetSet, retain, test, heldOutRetain, signal);
    this.#checkGoing(signal, 0);
    return { forgetAccuracy: this.#forgetAccuracy(handle, forgetSet, metrics), metrics };
  }

  // The engine's accuracy of `handle` on the forget set: the metrics' FA when measured,
  // else evaluate's (a fraction, in float32).
  #forgetAccuracy(handle, forgetSet, metrics) {
    if (metrics !== null) return metrics.FA.value;
    return withHeap(this.#module, (heap) => JSON.parse(unwrap(handle.evaluate(heapDataset(heap, forgetSet))))).accuracy;
  }

  // A receipt's evidence: the forget set's accuracy, MIA-efficacy and test accuracy before
  // and after (fractions, as the engine measured them; the last two null without a test
  // set, MIA null when the engine gave none), and the class a class request left out of
  // the test metrics.
  #evidence(handle, forgetSet, before, metrics, forgetClass) {
    const pair = (pick) => (metrics === null ? null : { before: pick(before.metrics), after: pick(metrics) });
    return {
      forgetAccuracy: { before: before.forgetAccuracy, after: this.#forgetAccuracy(handle, forgetSet, metrics) },
      mia: pair((m) => m.MIA?.value ?? null),
      testAccuracy: pair((m) => m.TA.value),
      testExcludesClass: forgetClass ?? null,
    };
  }

  // A forget's receipt, with what every receipt says about the engine and the time, signed
  // when `fields.signer` is not null.
  #seal(fields) {
    const { previousSha256, auto, signer, ...rest } = fields;
    return sealReceipt({
      engine: { version: this.#module.version(), isa: this.#module.kernelIsa() },
      createdAt: new Date().toISOString(),
      ...rest,
      ...(auto === undefined ? {} : { auto }),
      previousSha256,
    }, signer);
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
   * The model as an ONNX file (opset 13): 'qdq' (the default for quantized models) writes
   * the integer weights as int8 initializers behind DequantizeLinear (per-channel scales)
   * and the activations' grids as QuantizeLinear/DequantizeLinear pairs, the way
   * onnxruntime's quantizer does; 'float' writes the dequantized weights as float
   * initializers. onnxruntime (and any ONNX runtime) runs either.
   * @param {{format?: 'qdq' | 'float'}} [options]
   * @returns {Promise<Uint8Array>}
   */
  async toOnnx(options = {}) {
    this.#live();
    const { format, ...rest } = checkOptions('options', options);
    if (Object.keys(rest).length) throw invalid(`options.${Object.keys(rest)[0]}: unknown option (known: format)`);
    if (format !== undefined && format !== 'qdq' && format !== 'float') throw invalid(`options.format must be 'qdq' or 'float', got ${typeof format === 'string' ? `'${format}'` : String(format)}`);
    this.#idle('export to ONNX');
    const { encodeOnnx } = await import('./onnx.js');
    // Checked again: the model may have been disposed or put to work while the module loaded.
    const handle = this.#live();
    this.#idle('export to ONNX');
    const result = handle.exportOnnx(JSON.stringify(format === undefined ? {} : { format }));
    const { json, payload } = 'value' in result || 'error' in result ? unwrap(result) : result;
    // A copy at once: the payload may be a view of wasm memory, which moves when it grows.
    return encodeOnnx({ json, payload: payload.slice() });
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
