// Types of the qforget package (ESM). Hand-written; kept in step with web/*.js.

/// <reference lib="esnext.disposable" />

/** Every failure qforget reports. `code` is stable, `message` names the argument. */
export class QforgetError extends Error {
  readonly name: 'QforgetError';
  readonly code:
    | 'INVALID_ARGUMENT'
    | 'FAILED_PRECONDITION'
    | 'OUT_OF_RANGE'
    | 'NOT_FOUND'
    | 'DATA_LOSS'
    | 'UNIMPLEMENTED'
    | 'RESOURCE_EXHAUSTED'
    | 'ABORTED'
    | 'INTERNAL';
  constructor(code: QforgetError['code'], message: string);
}

export interface CreateOptions {
  /** 'auto' (default) probes WebAssembly SIMD; true/false force a build. */
  simd?: 'auto' | boolean;
  /**
   * 'auto' (default: the cores, at most 8), or 1 to 16. More than one runs the threaded
   * build where it can (Node 20.16+, or a cross-origin isolated page); elsewhere one thread
   * runs and `threadsReason` says why. Results are the same at any thread count.
   */
  threads?: 'auto' | number;
  /** Where the .js/.wasm files of a build live (default: next to this module, in dist/). */
  locateFile?: (file: string) => string | URL;
}

/** Which wasm build runs. */
export type Build = 'threads' | 'simd' | 'nosimd';

/**
 * n samples and their labels. `x`: pixels (Uint8Array) or float features (Float32Array,
 * finite), matching the model's inputType; `y`: class indices below numClasses.
 */
export interface Dataset {
  x: Uint8Array | Float32Array;
  y: Uint8Array | Uint16Array | Int32Array;
  /** [n, ...one sample's shape], e.g. [n, 28, 28, 1] or [n, features]. */
  shape: number[];
}

/**
 * A dataset larger than memory: an iterable (async or not) of batches, each a Dataset. It
 * is read once to count and check it, then once per epoch from its start, so it must start
 * over each time it is iterated (not a generator object) and give the same samples every
 * time. Only a window of `shuffleWindow` samples, plus a batch, is held at once.
 */
export type DatasetStream = AsyncIterable<Dataset> | Iterable<Dataset>;

/** What a model's samples are: pixels or float features. */
export type InputType = 'uint8' | 'float32';
/** How a sample's values are laid out: channels last or channels first. */
export type InputLayout = 'nhwc' | 'nchw';

export type Arch = 'mlp' | 'lenet' | 'resnet8' | 'mobilenetv2' | 'custom';
export type WeightBits = 2 | 3 | 4 | 8 | 32;
/**
 * A weight grid: 'uniform' (LSQ steps), 'asymmetric' (a learned offset, LSQ+), 'pow2'
 * (powers of two below a learned largest level; 2 to 4 bits), 'apot' (additive powers of
 * two) or 'codebook' (2^bits learned levels, k-means initialized).
 */
export type WeightScheme = 'uniform' | 'asymmetric' | 'pow2' | 'apot' | 'codebook';

export interface ModelOptions {
  arch: Arch;
  /** One sample's shape, e.g. [28, 28, 1] or [features]. */
  inputShape: number[];
  /** 'uint8' (default): pixels; 'float32': any real features. */
  inputType?: InputType;
  /**
   * How a [3-D] sample is laid out: 'nhwc' (default, inputShape [H, W, C]) or 'nchw'
   * (inputShape [C, H, W], as ONNX and PyTorch models take images). The network runs on
   * [H, W, C] either way; flip and crop augmentation needs 'nhwc'.
   */
  inputLayout?: InputLayout;
  /**
   * Whether every preprocessed input value is >= 0 (features after a ReLU, probabilities):
   * a quantized first layer then quantizes from 0, at twice the resolution, and clips
   * negative values. Default: true for pixels without a positive mean, false for features.
   */
  inputNonNegative?: boolean;
  /**
   * Applied to every value x of channel c (the last dimension of inputShape, the first
   * with 'nchw') before the
   * first layer: (x * scale - mean[c]) / std[c]. scale defaults to 1/255 for pixels and 1
   * for features; mean and std to none (one value applies to every channel).
   */
  preprocess?: { scale?: number; mean?: number[]; std?: number[] };
  /** 2 to 65,535. */
  numClasses: number;
  /** Bits of the hidden layers' weights (required); 32 trains a float model. */
  weightBits: WeightBits;
  /**
   * The grid of the layers at weightBits (default 'uniform'); the first and last layers
   * stay uniform. A custom layer may set its own with `scheme`.
   */
  weightScheme?: WeightScheme;
  /**
   * Bits of the input activations of the layers at weightBits: 8 (default) or 4 (with
   * quantized weights); the first and last layers read 8.
   */
  activationBits?: 8 | 4;
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
  /**
   * Epochs read the data through a window shuffle of this many samples (default: the
   * whole set in memory, 1,024 samples of a stream). The same samples with the same
   * window train the same model, streamed or in memory.
   */
  shuffleWindow?: number;
  onProgress?: (epoch: EpochStats) => void;
  signal?: AbortSignal;
}

export type Method = 'ft' | 'ga' | 'rl' | 'qmul' | 'retrain' | 'l1sparse' | 'salun' | 'bs' | 'oeu';

/** What fit and forget share: the optimizer, its schedule and the seed. */
type TrainingOptions = Pick<FitOptions, 'epochs' | 'batchSize' | 'lr' | 'optimizer' | 'momentum' | 'nesterov' | 'weightDecay' | 'schedule' | 'seed' | 'shuffleWindow'>;

export interface ForgetOptions extends TrainingOptions {
  /** The training data that stays (or a sample of it). Required by every method but `ga` and `bs`, which never look at it (the engine refuses the others without it). */
  retain?: Dataset | DatasetStream;
  /** A held-out set: the receipt then carries the unlearning metrics. Checked up front. */
  test?: Dataset;
  /**
   * With `test`: retain samples the method does not train on (e.g. the rest of the data
   * beyond the `retain` sample). RA and the membership attack's members are then measured
   * on them rather than on `retain`, which the method fits to; `metrics.retainSet` says which.
   */
  heldOutRetain?: Dataset;
  /** The last receipt of this model's log: the new receipt chains to it. */
  previousReceipt?: ForgetReceipt | null;
  /** The deletion request, sealed into the receipt (fields checked against REQUEST_LIMITS). */
  request?: ForgetRequest;
  /**
   * Signs the receipt: an ECDSA P-256 key pair (the private key may be non-extractable) or
   * an extractable private key alone. The receipt then carries `signer` and `signature`.
   */
  signingKey?: CryptoKey | CryptoKeyPair;
  /** A class request: the class every forget sample is of; the test metrics leave it out. */
  forgetClass?: number;
  /**
   * `rewind` forgets exactly: back to the newest checkpoint before every sample of the set,
   * then the fits recorded since replayed without them (see Model.checkpoint). `auto`
   * rewinds when that costs at most `budget` times Q-MUL, and otherwise runs Q-MUL.
   */
  method?: Method | 'rewind' | 'auto';
  /** rewind, auto: the training data the recorded fits are replayed on (samples matched by SHA-256; it may hold more). */
  data?: Dataset;
  /** auto: the most a rewind may cost as a fraction of Q-MUL's planned samples (default 1). */
  budget?: number;
  qmulMode?: 'mixed' | 'sequential';
  qmulRetainScanBatches?: number;
  /**
   * qmul: the mode of the gradient-norm scans that weigh the forget and retain sides:
   * 'train' (training-mode forwards: BatchNorm normalizes each scanned batch with its own
   * statistics and moves its running ones) or 'eval' (the deployed model's gradient,
   * BatchNorm statistics untouched). The same on models without BatchNorm. Default 'train'.
   */
  qmulScanMode?: 'train' | 'eval';
  /**
   * qmul: how each forget sample's similar label is chosen (ties to the lowest class):
   * 'prediction' (SPEC §4: the class whose probability is closest to the true class's;
   * the default), 'confusion' (the class the retain set confuses most with the true class,
   * in either direction), 'embedding' (the nearest retain class centroid in the model's
   * penultimate features), or a numClasses × numClasses similarity matrix given as
   * numClasses arrays of numClasses numbers (row y: argmax over j ≠ y; finite, and every
   * row needs a value > 0 off the diagonal). README "Q-MUL's similar labels" has the details.
   */
  qmulSimilarity?: 'prediction' | 'confusion' | 'embedding' | number[][];
  /** l1sparse: the L1 weight at the first epoch, decaying linearly to 0 (default 5e-4). */
  l1Alpha?: number;
  /** salun: the fraction of weights, by saliency, that may change (default 0.5). */
  salunRatio?: number;
  /** bs: the FGSM step as a fraction of the input range (default 0.1). */
  bsEpsilon?: number;
  /**
   * Stop before `epochs` once the samples look forgotten (checked after every epoch):
   * 'unseen' (sample requests, with `holdout`) until neither a two-sample Kolmogorov-Smirnov
   * test on true-class confidences nor a z-test on accuracy tells the forget set from the
   * held-out set at the 5 % level; `{ forgetAccuracy }` (class requests) until the forget
   * set's accuracy is at most that. Not with 'rewind' or 'auto'.
   */
  until?: 'unseen' | { forgetAccuracy: number };
  /** until 'unseen': at least 20 samples of the forget set's kind that the model never trained on. */
  holdout?: Dataset;
  onProgress?: (epoch: ForgetEpoch) => void;
  signal?: AbortSignal;
}

export interface ForgetEpoch {
  /** rewind: which recorded fit is replayed (1-based), of how many, and the epochs it has. */
  fit?: number;
  fits?: number;
  fitEpochs?: number;
  epoch: number;
  lr: number;
  seconds: number;
  losses: Record<string, number>;
  /** Accuracy on the forget set after the epoch, a fraction in [0, 1]. */
  forgetAccuracy: number;
  qmul?: QmulEpoch;
  /**
   * With options.until: the rule's reading after the epoch (`met`: the forget stops here).
   * 'unseen': the KS statistic and its p-value between the forget and held-out sets'
   * true-class confidences, the held-out set's accuracy and the z-test's p-value for its
   * difference from `forgetAccuracy`, and each set's mean confidence.
   */
  until?: { criterion: 'unseen' | 'forgetAccuracy'; met: boolean; ks?: number; ksPValue?: number; holdoutAccuracy?: number; accuracyPValue?: number; forgetConfidence?: number; holdoutConfidence?: number };
}

/** A Q-MUL epoch's reweighting and its indicators (README "Q-MUL's indicators"). */
export interface QmulEpoch {
  /** The similar-label rule: options.qmulSimilarity ('matrix' for a given matrix). */
  similarity: 'prediction' | 'confusion' | 'embedding' | 'matrix';
  /** similarLabels[k][j]: forget samples of class k relabelled j in this epoch. */
  similarLabels: number[][];
  /** Forget samples whose similar label fell back to 'prediction' (confusion, embedding: no evidence for their class). */
  similarFallbacks: number;
  /** G_f and G_r: mean over the scanned batches of the summed per-tensor gradient norms. */
  gForget: number;
  gRetain: number;
  /** The adaptive weights, w_f = G_r / (G_f + G_r), w_r = 1 − w_f. */
  wForget: number;
  wRetain: number;
  /** G_f and G_r layer by layer (`layer`: the prefix of its tensors' names); each side sums to gForget, gRetain. */
  gByLayer: { layer: string; type: string; gForget: number; gRetain: number }[];
  /** Cosine between the summed forget-scan and retain-scan gradients, in [−1, 1]; null when one is zero. */
  gradientCosine: number | null;
  /** After the epoch: the fraction of forget samples the model predicts as their similar label. */
  movedToSimilar: number;
  /** The fraction of retain samples the weighted pass's forwards got right (the batches seen). */
  retainAccuracy: number;
  /** w_f near 0 or 1, retain accuracy fallen more than 5 points since epoch 1. */
  warnings: { kind: 'wForgetLow' | 'wForgetHigh' | 'retainAccuracyDrop'; message: string }[];
}

/**
 * A deletion request as a receipt keeps it. Text is well-formed (no lone surrogates), has
 * no control characters but tab, LF and CR, and fits REQUEST_LIMITS (bytes of UTF-8).
 */
export interface ForgetRequest {
  /** The request's own identifier (a ticket number). */
  id?: string;
  /** On whose behalf: the data subject. */
  subject?: string;
  /** Who asked. */
  requestedBy?: string;
  reason?: string;
  /** The forget set's sample ids, one per sample, in its order (never their content). */
  ids?: Array<string | number> | Uint32Array;
}

/** Fractions before and after a forget, as the engine measured them. */
export interface BeforeAfter {
  before: number | null;
  after: number | null;
}

/**
 * What one forget did, sealed: `sha256` is the SHA-256 of the canonical JSON (keys
 * sorted) of every other field but `signature`, and `previousSha256` names the receipt
 * before it. Signed receipts carry `signature`: ECDSA P-256 / SHA-256 over the UTF-8 of
 * `sha256`, r || s in base64.
 */
export interface ForgetReceipt {
  format: 'qforget-receipt/3';
  /** The deletion request (ids as a plain array); null when none was given. */
  request: (Omit<ForgetRequest, 'ids'> & { ids?: Array<string | number> }) | null;
  /**
   * The forget set's accuracy before and after; with options.test also MIA-efficacy and
   * test accuracy (the test set without `testExcludesClass` for a class request).
   */
  evidence: { forgetAccuracy: BeforeAfter; mia: BeforeAfter | null; testAccuracy: BeforeAfter | null; testExcludesClass: number | null };
  /** The key that signed the receipt (SHA-256 hex of its public key's SPKI); null when unsigned. */
  signer: { algorithm: 'ECDSA-P256-SHA256'; keySha256: string } | null;
  signature?: string;
  engine: { version: string; isa: string };
  /** ISO 8601 time the receipt was sealed. */
  createdAt: string;
  method: Method | 'rewind';
  /** True for a rewind: the model is the one the recorded fits give without the samples. */
  exact: boolean;
  /** rewind: the checkpoint gone back to and each fit replayed (samples kept, removed, epochs). */
  rewind?: {
    checkpointSha256: string;
    checkpointCreatedAt: string;
    fits: { samples: number; removed: number; epochs: number }[];
  };
  /** method 'auto': what it chose and why; costs in samples put through the model. */
  auto?: { chose: 'rewind' | 'qmul'; reason: string; budget: number; rewindSamples?: number; qmulSamples?: number };
  /**
   * options.until: whether the last epoch met the rule (false: every epoch ran without
   * getting there), how many epochs ran, and the held-out set compared with ('unseen').
   */
  until?: { criterion: 'unseen' | 'forgetAccuracy'; reached: boolean; epochs: number; holdoutSamples?: number; holdoutSha256?: string };
  /** The options given, without the datasets and callbacks. */
  options: Record<string, unknown>;
  forgotten: number;
  retained: number;
  /** SHA-256 (hex) of the forget set: its shape as JSON, a NUL byte, pixels, labels. */
  forgetSetSha256: string;
  retainSetSha256: string;
  /** SHA-256 of model.save() before and after. */
  modelBeforeSha256: string;
  modelAfterSha256: string;
  /** With options.test: the metrics of the unlearned model; otherwise null. */
  metrics: (UnlearningMetrics & { retainSet: 'heldOut' | 'trainedOn' }) | null;
  epochs: ForgetEpoch[];
  /** Wall time of the unlearning itself (not the hashing). */
  seconds: number;
  previousSha256: string | null;
  sha256: string;
}

/** How verifyReceipts and exportAudit check signatures. */
export interface ReceiptCheckOptions {
  /** The sha256 of the receipt before the log (the first names it), or null. */
  previous?: string | null;
  /** ECDSA P-256 public keys (CryptoKey, or SPKI bytes) every receipt must be signed by one of. */
  publicKeys?: Array<CryptoKey | Uint8Array | ArrayBuffer>;
  /** Default: true when publicKeys are given; false accepts unsigned receipts among signed ones. */
  requireSignatures?: boolean;
}

/** What qf.replayReceipt found. */
export interface ReplayResult {
  /** Whether the replay ended at the receipt's modelAfterSha256. */
  match: boolean;
  expected: string;
  replayed: string;
  /** The engine that replayed it. */
  engine: { version: string; isa: string };
  seconds: number;
}

export type ReceiptCheck =
  | { ok: true; count: number }
  | { ok: false; count: number; brokenAt: number; reason: string };

/** How far unlearningMetrics got: the stage, its evaluation batches, the attack's SMO steps so far. */
export interface MetricsProgress {
  done: boolean;
  stage: 'model' | 'reference' | 'requantize';
  batches: [number, number];
  svmSteps: number;
}

/** A fraction measured on `n` samples, with its 95 % Wilson score interval [low, high]. */
export interface Proportion {
  value: number;
  n: number;
  low: number;
  high: number;
}

export interface UnlearningMetrics {
  /** Accuracy on the forget set. */
  FA: Proportion;
  /** 1 − FA. */
  UA: Proportion;
  /** Accuracy on the retain set. */
  RA: Proportion;
  /** Accuracy on the test set. */
  TA: Proportion;
  /**
   * MIA-efficacy: the forget samples the membership attack calls non-members. null when
   * the retain or the test set has fewer than 100 samples (miaAttack.note says so).
   */
  MIA: Proportion | null;
  /** The attack itself, trained on equal numbers of retain (members) and test samples. */
  miaAttack: {
    /** On its own training set; null when it could not be trained. */
    accuracy: Proportion | null;
    /** False when its accuracy is too close to chance for MIA to say much (below 0.55, or its interval reaching 0.5). */
    informative: boolean;
    members: number;
    nonMembers: number;
    /** Why MIA is null or uninformative; null otherwise. */
    note: string | null;
  };
  /** With `reference`: the mean of |FA−FA'|, |RA−RA'|, |TA−TA'| and |MIA−MIA'| (MIA only when both have it), a fraction. */
  AG?: number;
  /** With `reference`: the mean Jensen–Shannon divergence (nats) of the two models' predictions on the forget set. */
  JS?: number;
  /** With `requantize: true`: FA after re-quantizing the float shadow weights from scratch with least-squared-error steps, BatchNorm statistics re-estimated on up to 4,096 retain samples (the deployment check). */
  FARequantized?: Proportion;
}

/** Options of qf.importOnnx; all optional. */
export interface ImportOnnxOptions {
  /** Bits of the hidden layers' weights; default 32 (the float model as the graph computes it), or the grid a QDQ graph carries. */
  weightBits?: WeightBits;
  /** Bits of the first and last weighted layers when weightBits < 32 (default 8). */
  edgeBits?: WeightBits;
  /** Per-output-channel step sizes (default true). */
  perChannel?: boolean;
  /** What predict and fit take: 'float32' (default, the values the graph's input takes) or 'uint8' pixels. */
  inputType?: InputType;
  /** Applied to each input value before the graph, as ModelOptions.preprocess (default none). */
  preprocess?: { scale?: number; mean?: number[]; std?: number[] };
  /** The samples' layout: default the graph's (NCHW when its 4-D input feeds a convolution, NHWC when a Transpose [0,3,1,2] comes first). */
  inputLayout?: 'nchw' | 'nhwc';
  /** As ModelOptions.inputNonNegative; default: true when a QDQ graph quantizes its input from zero point 0. */
  inputNonNegative?: boolean;
  /** The name of the graph output that holds the logits (default: the only output). */
  output?: string;
  seed?: number;
}

/** What the engine made of an imported ONNX graph (Model.imported). */
export interface ImportReport {
  /** producer_name and producer_version of the file. */
  producer?: string;
  /** The ai.onnx opset the graph was written for. */
  opset?: number;
  /** Nodes the engine left out (a trailing Softmax, Identity, Dropout, ...), with why. */
  dropped?: object[];
  [key: string]: unknown;
}

export interface QuantizeOptions {
  /** Samples as predict takes them, or a dataset (its x is used). */
  calibration: Uint8Array | Float32Array | { x: Uint8Array | Float32Array };
  /** Bits of the inner weighted layers (default 8). */
  bits?: 2 | 3 | 4 | 8;
  /** Their grid (default 'uniform'). */
  scheme?: WeightScheme;
  /** Their inputs' bits (default 8). */
  activationBits?: 8 | 4;
  /** Bits of the first and last weighted layers (default 8; uniform, 8-bit inputs). */
  edgeBits?: WeightBits;
  perChannel?: boolean;
  /**
   * How each input step is set from the values it sees: the widest ('minmax'), the same
   * between percentiles ('percentile'), or the least squared error ('mse', the default).
   * Weights: 'mse' fits least-squared-error grids, the others grids that clip nothing.
   */
  method?: 'minmax' | 'percentile' | 'mse';
  /** With 'percentile': in (50, 100] (default 99.99). */
  percentile?: number;
  /** The first samples of calibration used (default 1024). */
  maxSamples?: number;
}

export class Model {
  /** Models come from qf.createModel(), qf.loadModel() or qf.importOnnx(). */
  private constructor();
  readonly inputShape: number[];
  readonly inputType: InputType;
  readonly inputLayout: InputLayout;
  readonly numClasses: number;
  /** The engine's import report for a model qf.importOnnx made (frozen); null otherwise. */
  readonly imported: Readonly<ImportReport> | null;
  /** The model as an ONNX file (opset 13): 'qdq' (default for quantized models) or 'float' initializers. */
  toOnnx(options?: { format?: 'qdq' | 'float' }): Promise<Uint8Array>;
  describe(): ModelOptions & { layers: object[] };
  /** Logits of the deployed integer model, n × numClasses, for n = x.length / (the size of one sample) samples. */
  predict(x: Uint8Array | Float32Array): Float32Array;
  /**
   * Post-training quantization: a new quantized model from this float one, its inputs
   * calibrated on `options.calibration`. This model is unchanged.
   */
  quantize(options: QuantizeOptions): Model;
  evaluate(ds: Dataset): { accuracy: number; loss: number };
  /** Trains on `ds`. Atomic: when it rejects (ABORTED, a divergence, any error) the model is as it was before the call; a cancelled fit keeps none of its epochs. */
  fit(ds: Dataset | DatasetStream, options?: FitOptions): Promise<EpochStats[]>;
  /** Makes the model forget a set of samples; atomic (see README). */
  forget(forgetSet: Dataset, options: ForgetOptions): Promise<ForgetReceipt>;
  /** The model file's bytes; `shadow: false` keeps only the deployed integer model. */
  save(options?: { shadow?: boolean }): Uint8Array;
  /** Marks the weights now as a point forget({method: 'rewind'}) can go back to; from the first checkpoint on, fits and forgets are recorded in the model's ledger. */
  checkpoint(): Promise<Checkpoint>;
  /** The ledger since the first checkpoint (sample SHA-256s, never their content). */
  history(): TrainingHistory;
  /** Gives the model a ledger history() returned (it must end at this model), or none. */
  restoreHistory(history: TrainingHistory | null): Promise<void>;
  dispose(): void;
  [Symbol.dispose](): void;
}

export interface Checkpoint {
  index: number;
  modelSha256: string;
  createdAt: string;
}

/** A model's ledger: what model.history() returns and restoreHistory() takes back. */
export interface TrainingHistory {
  format: 'qforget-history/1';
  events: (
    | { type: 'checkpoint'; createdAt: string; modelSha256: string; bytes: Uint8Array }
    | { type: 'fit'; createdAt: string; samples: string[]; options: Omit<FitOptions, 'onProgress' | 'signal'>; epochs: number; modelAfterSha256: string }
    | { type: 'forget'; createdAt: string; method: string; exact: boolean; forgotten: string[]; modelAfterSha256: string }
  )[];
}

/** From qf.kernels.packMatrixS8() (a type only: the class is not exported). */
export interface PackedMatrixS8 {
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
  /** Obtain one with createQforget(). */
  private constructor();
  readonly version: string;
  /** Which build runs: 'threads' (SIMD and threads), 'simd' or 'nosimd'. */
  readonly build: Build;
  /** Whether the running build has SIMD. */
  readonly simd: boolean;
  /** How many threads the engine runs, the caller's included. */
  readonly threads: number;
  /** Why fewer threads run than were asked for; null when as asked. */
  readonly threadsReason: string | null;
  readonly kernels: Kernels;
  createModel(options: ModelOptions): Model;
  /** The unlearning metrics (see README, "Metrics"); the models are busy until it settles. */
  unlearningMetrics(
    model: Model,
    sets: {
      forget: Dataset;
      retain: Dataset;
      test: Dataset;
      reference?: Model;
      miaFeature?: 'confidence' | 'entropy' | 'modifiedEntropy';
      seed?: number;
      requantize?: boolean;
      onProgress?: (progress: MetricsProgress) => void;
      signal?: AbortSignal;
    },
  ): Promise<UnlearningMetrics>;
  resolveScenario(
    labels: Uint8Array | Uint16Array | Int32Array,
    scenario: string,
    options: { numClasses: number; seed?: number },
  ): { forgetIds: Uint32Array; retainIds: Uint32Array; excludedClass: number | null };
  /**
   * Re-runs the forget a receipt records on a copy of the model before it (a Model or its
   * bytes; not changed) and says whether it ends at the receipt's modelAfterSha256.
   */
  replayReceipt(
    receipt: ForgetReceipt,
    sets: { model: Model | Uint8Array; forget: Dataset; retain?: Dataset; holdout?: Dataset; onProgress?: (epoch: ForgetEpoch) => void; signal?: AbortSignal },
  ): Promise<ReplayResult>;
  /** Restores a model from model.save() bytes. */
  loadModel(bytes: Uint8Array): Model;
  /** A model from the bytes of an ONNX file (a ModelProto): a float or QDQ network of the layers qforget has. */
  importOnnx(bytes: Uint8Array, options?: ImportOnnxOptions): Promise<Model>;
  /** Bytes of wasm memory held now: the high-water mark (it grows on demand, never shrinks). */
  memoryBytes(): number;
  /**
   * The engine's memory accounting in bytes. Work that would take inUse + reserved past
   * the limit is refused up front with RESOURCE_EXHAUSTED, before anything changes.
   */
  memoryStats(): MemoryStats;
  /** Lowers the limit work is checked against (at least 1 MiB, at most 4 GiB less 64 KiB); null restores that maximum. */
  setMemoryLimit(bytes: number | null): void;
  /** Parses IDX bytes (MNIST's format), gzip-compressed or plain. */
  parseIdx(bytes: Uint8Array): { dims: number[]; data: Uint8Array };
}

export interface MemoryStats {
  /** Allocated now. */
  inUse: number;
  /** The most wasm memory the allocator has used so far. */
  footprint: number;
  /** Held by fits and forgets in progress. */
  reserved: number;
  /** The most reserved at once so far. */
  peakReserved: number;
  /** The limit reservations are checked against. */
  limit: number;
}

export function createQforget(options?: CreateOptions): Promise<Qforget>;
export const RECEIPT_FORMAT: 'qforget-receipt/3';
/** The most bytes of UTF-8 each request field may hold (`sampleId`: one id of `ids`; `ids`: how many). */
export const REQUEST_LIMITS: Readonly<{ id: number; subject: number; requestedBy: number; reason: number; sampleId: number; ids: number }>;
/**
 * Checks a receipt log, oldest first: each seal matches its contents, each receipt names
 * the one before it (the first names none, or `options.previous`) and, with
 * `options.publicKeys`, each is signed by one of them.
 */
export function verifyReceipts(receipts: ForgetReceipt[], options?: ReceiptCheckOptions): Promise<ReceiptCheck>;
/** A public key's fingerprint, as receipts name it: the SHA-256 (hex) of its SPKI encoding. */
export function keyFingerprint(publicKey: CryptoKey): Promise<string>;
/**
 * A receipt log as JSON Lines, or as a self-contained HTML page (no script) with each
 * receipt's request, evidence, chain and signature status; user text is escaped.
 */
export function exportAudit(log: ForgetReceipt[], options: ReceiptCheckOptions & { format: 'jsonl' | 'html'; title?: string }): Promise<string>;
export function simdSupported(): boolean;
/** The thread count threads: 'auto' asks for: the cores, at most 8. */
export function autoThreads(): number;
/** Why this runtime cannot run the threaded build, or null when it can. */
export function threadsUnavailable(): string | null;
/** Wasm objects currently owned by JS wrappers (a debugging aid for leak checks). */
export function liveHandles(): number;
