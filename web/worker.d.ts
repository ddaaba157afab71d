// Types of qforget/worker (ESM): the qforget API, promise-based, running in a Web Worker
// or a Node worker thread. Hand-written; kept in step with web/worker.js. The shared
// types (datasets, options, results) are those of './index.js'.

/// <reference lib="esnext.disposable" />

import type {
  Dataset,
  EpochStats,
  FitOptions,
  ForgetOptions,
  ForgetReceipt,
  InputLayout,
  InputType,
  MemoryStats,
  Model,
  ModelOptions,
  QuantizeOptions,
  Qforget,
  ReplayResult,
  TrainingHistory,
  UnlearningMetrics,
} from './index.js';

export { QforgetError } from './index.js';

export interface WorkerOptions {
  /** 'auto' (default) probes WebAssembly SIMD in the worker; true/false force a build. */
  simd?: 'auto' | boolean;
  /** As createQforget's; the engine's threads run inside the worker. */
  threads?: 'auto' | number;
  /**
   * The folder (an absolute URL, or one relative to the page) holding the
   * qforget-{simd,nosimd}.{js,wasm} files; default: dist/ next to this module. It takes
   * the place of createQforget's `locateFile`, which cannot be sent to a worker.
   */
  wasmBaseUrl?: string | URL;
  /** Where worker_thread.js is served (default: next to this module); given to the Worker constructor unchanged. */
  workerUrl?: string | URL;
}

/**
 * A dataset as a stream of batches (fit's data, forget's `retain`): an iterable, async or
 * not, that starts over each time it is iterated (not a generator object). It stays on
 * the caller's thread; the worker reads it batch by batch (each batch's arrays are copied,
 * the caller keeps them), once to count it and once per epoch.
 */
export type RemoteBatchStream = AsyncIterable<Dataset> | Iterable<Dataset>;

/** forget's options through a worker: `retain` may be a stream too. */
export type RemoteForgetOptions = Omit<ForgetOptions, 'retain'> & { retain?: ForgetOptions['retain'] | RemoteBatchStream };

/**
 * A model living in a worker; every method mirrors Model's and returns a promise. Every
 * rejection is a QforgetError (or the error an onProgress callback or a stream's iterator threw).
 */
export class RemoteModel {
  /** Models come from worker.createModel() or worker.loadModel(). */
  private constructor();
  readonly inputShape: number[];
  readonly inputType: InputType;
  readonly inputLayout: InputLayout;
  readonly numClasses: number;
  /** The engine's import report for a model from importOnnx; null otherwise. */
  readonly imported: Model['imported'];
  describe(): Promise<ReturnType<Model['describe']>>;
  toOnnx(options?: Parameters<Model['toOnnx']>[0]): Promise<Uint8Array>;
  /** Logits of the deployed integer model, n × numClasses, for n = x.length / (the size of one sample) samples. `x` is copied, never moved. */
  predict(x: Uint8Array | Float32Array): Promise<Float32Array>;
  /** Post-training quantization into a new model in the worker (see Model.quantize). */
  quantize(options: QuantizeOptions): Promise<RemoteModel>;
  evaluate(ds: Dataset): Promise<ReturnType<Model['evaluate']>>;
  /** `signal` aborting rejects with code ABORTED; onProgress runs on the caller's thread. */
  /** Trains on `ds`. Atomic: when it rejects (ABORTED, a divergence, any error) the model is as it was before the call; a cancelled fit keeps none of its epochs. */
  fit(ds: Dataset | RemoteBatchStream, options?: FitOptions): Promise<EpochStats[]>;
  /**
   * Resolves to what Model.forget resolves to; an abort or an error leaves the model
   * unchanged. A streamed `retain` that throws rejects the call with its error.
   */
  forget(forgetSet: Dataset, options: RemoteForgetOptions): ReturnType<Model['forget']>;
  save(options?: { shadow?: boolean }): Promise<Uint8Array>;
  checkpoint(): ReturnType<Model['checkpoint']>;
  history(): Promise<TrainingHistory>;
  restoreHistory(history: TrainingHistory | null): Promise<void>;
  /** Frees the model in the worker. Safe twice, and after terminate(); later use rejects. */
  dispose(): Promise<void>;
  /** Starts dispose() without waiting (later calls still reach the worker after it). */
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export type RemoteMetricsSets = Omit<Parameters<Qforget['unlearningMetrics']>[1], 'reference'> & {
  /** The model retrained without the forget set: a model of the same worker. */
  reference?: RemoteModel;
};

/** qforget running in a worker. Obtain one with createQforgetWorker(); terminate() it when done. */
export class QforgetWorker {
  private constructor();
  /** Whether the build in the worker has SIMD. */
  readonly simd: boolean;
  /** Which build runs in the worker, with how many threads, and why fewer than asked. */
  readonly build: 'threads' | 'simd' | 'nosimd';
  readonly threads: number;
  readonly threadsReason: string | null;
  readonly version: string;
  createModel(options: ModelOptions): Promise<RemoteModel>;
  /** Restores a model from save() bytes (copied, never moved). */
  loadModel(bytes: Uint8Array): Promise<RemoteModel>;
  /** A model from the bytes of an ONNX file (copied, never moved); see Qforget.importOnnx. */
  importOnnx(bytes: Uint8Array, options?: Parameters<Qforget['importOnnx']>[1]): Promise<RemoteModel>;
  parseIdx(bytes: Uint8Array): Promise<ReturnType<Qforget['parseIdx']>>;
  resolveScenario(
    labels: Uint8Array,
    scenario: string,
    options: Parameters<Qforget['resolveScenario']>[2],
  ): Promise<ReturnType<Qforget['resolveScenario']>>;
  unlearningMetrics(model: RemoteModel, sets: RemoteMetricsSets): Promise<UnlearningMetrics>;
  /** Re-runs the forget a receipt records, in the worker; `model` is the model before (a RemoteModel of this worker, unchanged, or its bytes). */
  replayReceipt(
    receipt: ForgetReceipt,
    sets: Omit<Parameters<Qforget['replayReceipt']>[1], 'model'> & { model: RemoteModel | Uint8Array },
  ): Promise<ReplayResult>;
  memoryStats(): Promise<MemoryStats>;
  setMemoryLimit(bytes: number | null): Promise<void>;
  /** Wasm objects the worker's wrappers own (a debugging aid for leak checks). */
  liveHandles(): Promise<number>;
  /**
   * Stops the worker and frees all its memory: pending calls reject with ABORTED, later
   * ones with FAILED_PRECONDITION. Safe twice.
   */
  terminate(): Promise<void>;
  /** Starts terminate() without waiting. */
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a worker and loads qforget in it. */
export function createQforgetWorker(options?: WorkerOptions): Promise<QforgetWorker>;
