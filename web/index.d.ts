// Types of the qforget package (ESM). Hand-written; kept in step with web/*.js.

/** Every failure qforget reports. `code` is stable, `message` names the argument. */
export class QforgetError extends Error {
  readonly name: 'QforgetError';
  readonly code:
    | 'INVALID_ARGUMENT'
    | 'FAILED_PRECONDITION'
    | 'OUT_OF_RANGE'
    | 'DATA_LOSS'
    | 'UNIMPLEMENTED'
    | 'RESOURCE_EXHAUSTED'
    | 'ABORTED'
    | 'INTERNAL';
}

export interface CreateOptions {
  /** 'auto' (default) probes WebAssembly SIMD; true/false force a build. */
  simd?: 'auto' | boolean;
  /** Where the .js/.wasm files of a build live (default: next to this module, in dist/). */
  locateFile?: (file: string) => string | URL;
}

/** Labelled uint8 images: x holds n × H × W × C pixels (NHWC), y n labels. */
export interface Dataset {
  x: Uint8Array;
  y: Uint8Array;
  shape: number[];
}

export type Arch = 'mlp' | 'lenet' | 'resnet8' | 'mobilenetv2' | 'custom';
export type WeightBits = 2 | 3 | 4 | 8 | 32;

export interface ModelOptions {
  arch: Arch;
  /** One sample's shape, e.g. [28, 28, 1]. */
  inputShape: number[];
  numClasses: number;
  /** Bits of the hidden layers' weights; 32 trains a float model. */
  weightBits?: WeightBits;
  /** Bits of the first and last layers (default 8). */
  edgeBits?: WeightBits;
  /** Per-output-channel step sizes (default true). */
  perChannel?: boolean;
  seed?: number;
  /** With arch 'custom': the layer list, e.g. [{ type: 'dense', units: 10 }]. */
  layers?: object[];
}

export interface EpochStats {
  epoch: number;
  loss: number;
  /** Training accuracy over the epoch, a fraction in [0, 1]. */
  accuracy: number;
  lr: number;
  seconds: number;
}

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: 'sgd' | 'adam';
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  schedule?: 'constant' | 'step' | 'cosine' | { name: 'constant' | 'step' | 'cosine'; stepEpochs?: number; gamma?: number };
  clipNorm?: number;
  augment?: { cropPadding?: number; flip?: boolean };
  seed?: number;
  onProgress?: (epoch: EpochStats) => void;
  signal?: AbortSignal;
}

export type Method = 'ft' | 'ga' | 'rl' | 'qmul' | 'retrain' | 'l1sparse' | 'salun' | 'bs' | 'oeu';

export interface ForgetOptions {
  /** The training data that stays (or a sample of it). */
  retain: Dataset;
  method?: Method;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: 'sgd' | 'adam';
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  schedule?: FitOptions['schedule'];
  seed?: number;
  qmulMode?: 'mixed' | 'sequential';
  qmulRetainScanBatches?: number;
  /** l1sparse: the L1 weight at the first epoch, decaying linearly to 0 (default 5e-4). */
  l1Alpha?: number;
  /** salun: the fraction of weights, by saliency, that may change (default 0.5). */
  salunRatio?: number;
  /** bs: the FGSM step as a fraction of the input range (default 0.1). */
  bsEpsilon?: number;
  onProgress?: (epoch: ForgetEpoch) => void;
  signal?: AbortSignal;
}

export interface ForgetEpoch {
  epoch: number;
  lr: number;
  seconds: number;
  losses: Record<string, number>;
  /** Accuracy on the forget set after the epoch, a fraction in [0, 1]. */
  forgetAccuracy: number;
  qmul?: { gForget: number; gRetain: number; wForget: number; wRetain: number; similarLabels: number[][] };
}

export interface ForgetResult {
  method: Method;
  forgotten: number;
  epochs: ForgetEpoch[];
  seconds: number;
}

export interface UnlearningMetrics {
  FA: number;
  UA: number;
  RA: number;
  TA: number;
  MIA: number;
  miaAttackAccuracy: number;
  AG?: number;
  JS?: number;
}

export class Model {
  readonly inputShape: number[];
  readonly numClasses: number;
  describe(): ModelOptions & { layers: object[] };
  /** Logits of the deployed integer model, n × numClasses. */
  predict(x: Uint8Array, n: number): Float32Array;
  evaluate(ds: Dataset): { accuracy: number; loss: number };
  fit(ds: Dataset, options?: FitOptions): Promise<EpochStats[]>;
  /** Makes the model forget a set of samples; atomic (see README). */
  forget(forgetSet: Dataset, options: ForgetOptions): Promise<ForgetResult>;
  /** The model file's bytes; `shadow: false` keeps only the deployed integer model. */
  save(options?: { shadow?: boolean }): Uint8Array;
  dispose(): void;
  [Symbol.dispose](): void;
}

export class PackedMatrixS8 {
  readonly k: number;
  readonly n: number;
  matmul(a: Uint8Array, m: number): Int32Array;
  dispose(): void;
  [Symbol.dispose](): void;
}

export interface Kernels {
  /** 'wasmsimd' or 'scalar'. */
  readonly isa: string;
  /** C = A · B for row-major A (m×k uint8) and B (k×n int8). */
  matmulU8S8(a: Uint8Array, b: Int8Array, m: number, k: number, n: number): Int32Array;
  packMatrixS8(b: Int8Array, k: number, n: number): PackedMatrixS8;
}

export class Qforget {
  readonly version: string;
  readonly simd: boolean;
  readonly kernels: Kernels;
  createModel(options: ModelOptions): Model;
  unlearningMetrics(
    model: Model,
    sets: { forget: Dataset; retain: Dataset; test: Dataset; reference?: Model; miaFeature?: 'confidence' | 'entropy' | 'modifiedEntropy'; seed?: number },
  ): UnlearningMetrics;
  resolveScenario(
    labels: Uint8Array,
    scenario: string,
    options: { numClasses: number; seed?: number },
  ): { forgetIds: Uint32Array; retainIds: Uint32Array; excludedClass: number | null };
  /** Restores a model from model.save() bytes. */
  loadModel(bytes: Uint8Array): Model;
  /** Parses IDX bytes (MNIST's format), gzip-compressed or plain. */
  parseIdx(bytes: Uint8Array): { dims: number[]; data: Uint8Array };
}

export function createQforget(options?: CreateOptions): Promise<Qforget>;
export function simdSupported(): boolean;
/** Wasm objects currently owned by JS wrappers (a debugging aid for leak checks). */
export function liveHandles(): number;
