// A TypeScript consumer of the package, type-checked (never run) by tests/js/types.test.mjs
// with `tsc -p tests/types`: it imports 'qforget' as a user would (resolved through the
// package's own "exports", i.e. web/index.d.ts) and walks the whole typed API. The
// `@ts-expect-error` lines are misuse the types must refuse; if the types ever accept
// one, tsc reports the directive as unused and the check fails.
import {
  createQforget,
  liveHandles,
  simdSupported,
  Model,
  Qforget,
  QforgetError,
  type Arch,
  type Checkpoint,
  type CreateOptions,
  type Dataset,
  type DatasetStream,
  type EpochStats,
  type FitOptions,
  type ImportReport,
  type ForgetEpoch,
  type QmulEpoch,
  type ForgetOptions,
  type ForgetReceipt,
  type ReceiptCheck,
  RECEIPT_FORMAT,
  verifyReceipts,
  keyFingerprint,
  exportAudit,
  REQUEST_LIMITS,
  type ReplayResult,
  type Kernels,
  type MemoryStats,
  type Method,
  type ModelOptions,
  type PackedMatrixS8,
  type MetricsProgress,
  type Proportion,
  type TrainingHistory,
  type UnlearningMetrics,
  type WeightBits,
} from 'qforget';

// Exact-type assertions: Equal<A, B> is true only when A and B are the same type.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

// --- loading ------------------------------------------------------------------------
const options: CreateOptions = { simd: 'auto', locateFile: (file) => new URL(`./dist/${file}`, import.meta.url) };
const qf: Qforget = await createQforget(options);
await createQforget({ simd: true });
await createQforget({ simd: false, locateFile: (file) => `/static/${file}` });
await createQforget();
// @ts-expect-error simd is 'auto' or a boolean
await createQforget({ simd: 'yes' });
// @ts-expect-error locateFile returns a string or URL
await createQforget({ locateFile: (file: string) => file.length });
const canSimd: boolean = simdSupported();
const handles: number = liveHandles();
const version: string = qf.version;
const heapBytes: number = qf.memoryBytes();
const memory: MemoryStats = qf.memoryStats();
const headroom: number = memory.limit - memory.inUse - memory.reserved;
qf.setMemoryLimit(512 * 2 ** 20);
qf.setMemoryLimit(null);
// @ts-expect-error the limit is a number of bytes
qf.setMemoryLimit('512MB');
const isSimd: boolean = qf.simd;
// @ts-expect-error the engine is loaded with createQforget(), not constructed
new Qforget();

// --- models ---------------------------------------------------------------------------
const arch: Arch = 'lenet';
const bits: WeightBits = 4;
const spec: ModelOptions = {
  arch: 'mlp',
  inputShape: [12, 12, 1],
  numClasses: 9,
  weightBits: bits,
  edgeBits: 8,
  perChannel: true,
  seed: 3,
};
const model: Model = qf.createModel(spec);
qf.createModel({ arch, inputShape: [28, 28, 1], numClasses: 10, weightBits: 8 });
qf.createModel({ arch: 'custom', inputShape: [4], numClasses: 2, weightBits: 32, layers: [{ type: 'dense', units: 2 }] });
// @ts-expect-error not an architecture
qf.createModel({ arch: 'vgg', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4 });
// @ts-expect-error 5-bit weights do not exist
qf.createModel({ ...spec, weightBits: 5 });
// @ts-expect-error numClasses is required
qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], weightBits: 4 });
// @ts-expect-error weightBits is required (the engine has no default)
qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9 });
// @ts-expect-error models come from createModel or loadModel
new Model();

const inputShape: number[] = model.inputShape;
const numClasses: number = model.numClasses;
// @ts-expect-error read-only
model.numClasses = 3;
const description = model.describe();
const describedArch: Arch = description.arch;
const describedLayers: object[] = description.layers;

// --- data, fit ---------------------------------------------------------------------------
const n = 32;
const train: Dataset = { x: new Uint8Array(n * 144), y: new Uint8Array(n), shape: [n, 12, 12, 1] };
// Float features and wide labels: a Float32Array of samples, Uint16Array or Int32Array labels.
const features: Dataset = { x: new Float32Array(n * 20), y: new Uint16Array(n), shape: [n, 20] };
// @ts-expect-error samples are pixels (Uint8Array) or features (Float32Array), not doubles
const badX: Dataset = { x: new Float64Array(n * 144), y: new Uint8Array(n), shape: [n, 12, 12, 1] };
// @ts-expect-error labels are integers
const badY: Dataset = { x: new Uint8Array(n * 144), y: new Float32Array(n), shape: [n, 12, 12, 1] };
const tabular = qf.createModel({ arch: 'mlp', inputShape: [20], inputType: 'float32', numClasses: 1000, weightBits: 4, preprocess: { mean: [0.5], std: [2] } });
const kind: 'uint8' | 'float32' = tabular.inputType;
await tabular.fit(features, { epochs: 1 });
// @ts-expect-error an input type the engine does not take
qf.createModel({ arch: 'mlp', inputShape: [20], inputType: 'int8', numClasses: 3, weightBits: 4 });
// @ts-expect-error a dataset needs its shape
const noShape: Dataset = { x: new Uint8Array(n * 144), y: new Uint8Array(n) };

const controller = new AbortController();
const fitOptions: FitOptions = {
  epochs: 2,
  batchSize: 16,
  lr: 0.05,
  optimizer: 'adam',
  momentum: 0.9,
  nesterov: true,
  weightDecay: 5e-4,
  schedule: { name: 'step', stepEpochs: 1, gamma: 0.5 },
  clipNorm: 1,
  augment: { cropPadding: 2, flip: true },
  seed: 7,
  onProgress: (e: EpochStats) => console.log(e.epoch, e.loss, e.accuracy, e.lr, e.seconds),
  signal: controller.signal,
};
const history: EpochStats[] = await model.fit(train, fitOptions);
await model.fit(train, { schedule: 'cosine' });
await model.fit(train);
const lastLoss: number = history[history.length - 1]!.loss;
// @ts-expect-error not an optimizer
await model.fit(train, { optimizer: 'rmsprop' });
// @ts-expect-error not a schedule
await model.fit(train, { schedule: 'linear' });
// Streams of batches: async or not, for fit's data and forget's retain.
const batches: DatasetStream = { async *[Symbol.asyncIterator]() { yield train; } };
await model.fit(batches, { shuffleWindow: 256 });
await model.fit([train, train]);
await model.forget(train, { retain: batches, shuffleWindow: 64 });
// @ts-expect-error a stream yields datasets
await model.fit([train.x]);
// @ts-expect-error shuffleWindow is a number of samples
await model.fit(batches, { shuffleWindow: 'all' });

// --- predict, evaluate --------------------------------------------------------------------
const logits: Float32Array = model.predict(train.x);
model.predict(new Float32Array(144));  // the model refuses it at run time (its inputType is uint8)
// @ts-expect-error samples are a Uint8Array or a Float32Array
model.predict(new Int16Array(144));
// @ts-expect-error predict takes the samples only (the count comes from x.length)
model.predict(train.x, 4);
const evaluation: { accuracy: number; loss: number } = model.evaluate(train);

// --- schemes, post-training quantization -------------------------------------------------
qf.createModel({ arch, inputShape: [28, 28, 1], numClasses: 10, weightBits: 4, weightScheme: 'apot', activationBits: 4 });
// @ts-expect-error an unknown scheme
qf.createModel({ arch, inputShape: [28, 28, 1], numClasses: 10, weightBits: 4, weightScheme: 'log2' });
const quantized: Model = model.quantize({ calibration: train, bits: 4, scheme: 'codebook', method: 'percentile', percentile: 99.9 });
model.quantize({ calibration: train.x });
// @ts-expect-error calibration is required
model.quantize({ bits: 8 });
// @ts-expect-error methods are minmax, percentile and mse
model.quantize({ calibration: train.x, method: 'kl' });
assertType<Equal<ReturnType<Model['evaluate']>, { accuracy: number; loss: number }>>();

// --- forget --------------------------------------------------------------------------------
const forgetSet: Dataset = { x: train.x.subarray(0, 4 * 144), y: train.y.subarray(0, 4), shape: [4, 12, 12, 1] };
const methods: Method[] = ['ft', 'ga', 'rl', 'qmul', 'retrain', 'l1sparse', 'salun', 'bs', 'oeu'];
const forgetOptions: ForgetOptions = {
  retain: train,
  method: methods[0],
  epochs: 1,
  batchSize: 16,
  lr: 0.01,
  optimizer: 'sgd',
  momentum: 0.9,
  nesterov: false,
  weightDecay: 0,
  schedule: 'constant',
  seed: 1,
  qmulMode: 'sequential',
  qmulRetainScanBatches: 0,
  qmulScanMode: 'eval',
  qmulSimilarity: 'embedding',
  l1Alpha: 5e-4,
  salunRatio: 0.5,
  bsEpsilon: 0.1,
  onProgress: (e: ForgetEpoch) => {
    const accuracy: number = e.forgetAccuracy;
    const loss: number | undefined = e.losses['total'];
    if (e.qmul) console.log(e.epoch, e.lr, e.seconds, accuracy, loss, e.qmul.similarLabels[0]?.[0], e.qmul.wForget);
    if (e.qmul) {
      const q: QmulEpoch = e.qmul;
      const rule: 'prediction' | 'confusion' | 'embedding' | 'matrix' = q.similarity;
      const cosine: number | null = q.gradientCosine;
      const top: string | undefined = q.gByLayer[0]?.layer;
      const kinds: string[] = q.warnings.map((w) => `${w.kind}: ${w.message}`);
      console.log(rule, cosine, top, q.gByLayer[0]?.gForget, q.movedToSimilar, q.retainAccuracy, q.similarFallbacks, kinds);
    }
  },
  signal: controller.signal,
};
const result: ForgetReceipt = await model.forget(forgetSet, forgetOptions);
const forgotten: number = result.forgotten;
const method: Method | 'rewind' = result.method;
const exact: boolean = result.exact;
const perEpoch: ForgetEpoch[] = result.epochs;
const sealed: string = result.sha256;
const chained: string | null = result.previousSha256;
const receiptMetrics: UnlearningMetrics | null = result.metrics;
const next = await model.forget(forgetSet, { retain: train, test: train, method: 'ft', epochs: 1, previousReceipt: result });
const check: ReceiptCheck = await verifyReceipts([result, next]);
if (!check.ok) console.log(check.brokenAt, check.reason);
const format: 'qforget-receipt/3' = RECEIPT_FORMAT;
const deviceKeys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
const signedReceipt = await model.forget(forgetSet, {
  retain: train, method: 'ft', epochs: 1, signingKey: deviceKeys, forgetClass: 0,
  request: { id: 'DSR-1', subject: 'user 1', requestedBy: 'privacy office', reason: 'erasure', ids: new Uint32Array([1]) },
});
const signerKey: string | undefined = signedReceipt.signer?.keySha256;
const forgetBefore: number | null = signedReceipt.evidence.forgetAccuracy.before;
const signedCheck: ReceiptCheck = await verifyReceipts([signedReceipt], { publicKeys: [deviceKeys.publicKey], requireSignatures: true });
const fingerprint: string = await keyFingerprint(deviceKeys.publicKey);
const auditPage: string = await exportAudit([signedReceipt], { format: 'html', publicKeys: [deviceKeys.publicKey] });
const replay: ReplayResult = await qf.replayReceipt(signedReceipt, { model: model.save(), forget: forgetSet, retain: train });
console.log(signerKey, forgetBefore, signedCheck, fingerprint, auditPage.length, replay.match, REQUEST_LIMITS.reason);
// @ts-expect-error the export format is 'jsonl' or 'html'
await exportAudit([signedReceipt], { format: 'csv' });
// @ts-expect-error a request's ids are strings or numbers
await model.forget(forgetSet, { retain: train, request: { ids: [true] } });
const retainSet: 'heldOut' | 'trainedOn' | undefined = next.metrics?.retainSet;
await model.forget(forgetSet, { retain: train, test: train, heldOutRetain: train });
// @ts-expect-error a receipt log is an array of receipts
await verifyReceipts(result);
// @ts-expect-error previousReceipt takes a receipt, not its hash
await model.forget(forgetSet, { retain: train, previousReceipt: result.sha256 });
// @ts-expect-error not an unlearning method
await model.forget(forgetSet, { retain: train, method: 'sorcery' });
// ga and bs run without retain data (the engine refuses the other methods without it).
await model.forget(forgetSet, { method: 'ga', epochs: 1 });
// @ts-expect-error the options (with retain) are required
await model.forget(forgetSet);
// @ts-expect-error not a qmul mode
await model.forget(forgetSet, { retain: train, qmulMode: 'parallel' });
// @ts-expect-error not a qmul scan mode
await model.forget(forgetSet, { retain: train, qmulScanMode: 'inference' });
await model.forget(forgetSet, { retain: train, qmulSimilarity: 'confusion' });
await model.forget(forgetSet, { retain: train, qmulSimilarity: [[0, 1], [1, 0]] });
// @ts-expect-error not a similar-label rule (a matrix is given as the matrix itself)
await model.forget(forgetSet, { retain: train, qmulSimilarity: 'matrix' });
// Exact forgetting: a checkpoint, the ledger, a rewind, auto.
const mark: Checkpoint = await model.checkpoint();
const ledger: TrainingHistory = model.history();
await model.restoreHistory(ledger);
await model.restoreHistory(null);
const rewound = await model.forget(forgetSet, { method: 'rewind', data: train });
console.log(mark.index, mark.modelSha256, rewound.rewind?.checkpointSha256, rewound.rewind?.fits[0]?.removed);
const chosen = await model.forget(forgetSet, { method: 'auto', data: train, retain: train, budget: 0.5 });
if (chosen.auto) console.log(chosen.auto.chose, chosen.auto.reason);
// @ts-expect-error a history is what history() returned
await model.restoreHistory({ events: [] });

// --- metrics, scenarios ------------------------------------------------------------------
const metrics: UnlearningMetrics = await qf.unlearningMetrics(model, { forget: forgetSet, retain: train, test: train });
const withReference = await qf.unlearningMetrics(model, {
  onProgress: (p: MetricsProgress) => console.log(p.stage, p.batches[0], p.batches[1], p.svmSteps),
  signal: new AbortController().signal,
  forget: forgetSet,
  retain: train,
  test: train,
  reference: model,
  miaFeature: 'modifiedEntropy',
  seed: 2,
});
const gap: number | undefined = withReference.AG;
const js: number | undefined = withReference.JS;
const rates: Proportion[] = [metrics.FA, metrics.UA, metrics.RA, metrics.TA];
const fractions: number[] = rates.map((p) => p.value + p.low + p.high + p.n);
const mia: Proportion | null = metrics.MIA;
const attack: Proportion | null = metrics.miaAttack.accuracy;
const why: string | null = metrics.miaAttack.note;
const balanced: boolean = metrics.miaAttack.members === metrics.miaAttack.nonMembers && metrics.miaAttack.informative;
// @ts-expect-error MIA may be null (too few samples): not a plain number
const notChecked: number = metrics.MIA.value;
// @ts-expect-error the test set is required
qf.unlearningMetrics(model, { forget: forgetSet, retain: train });
// @ts-expect-error not an MIA feature
qf.unlearningMetrics(model, { forget: forgetSet, retain: train, test: train, miaFeature: 'loss' });

const split = qf.resolveScenario(train.y, 'random:0.1', { numClasses: 9, seed: 0 });
const forgetIds: Uint32Array = split.forgetIds;
const retainIds: Uint32Array = split.retainIds;
const excluded: number | null = split.excludedClass;
qf.resolveScenario(train.y, 'class:0', { numClasses: 9 });
// @ts-expect-error numClasses is required
qf.resolveScenario(train.y, 'class:0', {});

// --- files -------------------------------------------------------------------------------
const bytes: Uint8Array = model.save();
const small: Uint8Array = model.save({ shadow: false });
// @ts-expect-error not a save option
model.save({ compress: true });
const loaded: Model = qf.loadModel(bytes);
// @ts-expect-error model bytes are a Uint8Array
qf.loadModel([1, 2, 3]);
const idx: { dims: number[]; data: Uint8Array } = qf.parseIdx(new Uint8Array(16));
const fromOnnx: Model = await qf.importOnnx(new Uint8Array(16), { weightBits: 4, inputLayout: 'nchw', output: 'logits' });
const report: ImportReport | null = fromOnnx.imported;
const onnxBytes: Uint8Array = await loaded.toOnnx({ format: 'qdq' });
await loaded.toOnnx();
// @ts-expect-error format is 'qdq' or 'float'
await loaded.toOnnx({ format: 'int4' });
// @ts-expect-error not an import option
await qf.importOnnx(onnxBytes, { layout: 'nchw' });
// @ts-expect-error imported is read-only
fromOnnx.imported = null;

// --- kernels -----------------------------------------------------------------------------
const kernels: Kernels = qf.kernels;
const isa: string = kernels.isa;
const c: Int32Array = kernels.matmulU8S8(new Uint8Array(6), new Int8Array(6), 2, 3, 2);
// @ts-expect-error B is int8
kernels.matmulU8S8(new Uint8Array(6), new Uint8Array(6), 2, 3, 2);
const packed: PackedMatrixS8 = kernels.packMatrixS8(new Int8Array(6), 3, 2);
const product: Int32Array = packed.matmul(new Uint8Array(6), 2);
const packedShape: [number, number] = [packed.k, packed.n];
packed.dispose();
{
  using scopedPacked = kernels.packMatrixS8(new Int8Array(6), 3, 2);
  scopedPacked.matmul(new Uint8Array(3), 1);
}

// --- errors ------------------------------------------------------------------------------
try {
  model.predict(new Uint8Array(1));
} catch (e) {
  if (e instanceof QforgetError) {
    const code: QforgetError['code'] = e.code;
    const name: 'QforgetError' = e.name;
    switch (code) {
      case 'INVALID_ARGUMENT':
      case 'FAILED_PRECONDITION':
      case 'OUT_OF_RANGE':
      case 'NOT_FOUND':
      case 'DATA_LOSS':
      case 'UNIMPLEMENTED':
      case 'RESOURCE_EXHAUSTED':
      case 'ABORTED':
      case 'INTERNAL':
        break;
      default: {
        const never: never = code;
        throw never;
      }
    }
    // @ts-expect-error not a code qforget reports
    if (e.code === 'PERMISSION_DENIED') console.log(name);
    const isError: Error = e;
  }
}
const made = new QforgetError('ABORTED', 'stopped');
// @ts-expect-error not a code
new QforgetError('OOPS', 'message');
// @ts-expect-error a code and a message
new QforgetError('a message alone');

// --- disposal ----------------------------------------------------------------------------
loaded.dispose();
model[Symbol.dispose]();
{
  using scoped = qf.createModel(spec);
  scoped.predict(new Uint8Array(144));
}

export const used = [
  canSimd, handles, version, isSimd, inputShape, numClasses, describedArch, describedLayers, badX, noShape,
  lastLoss, logits, evaluation, forgotten, method, perEpoch, gap, js, fractions, mia, attack, why, balanced, notChecked, retainSet, forgetIds, retainIds, excluded,
  small, idx, isa, c, product, packedShape, made, sealed, chained, receiptMetrics, format, heapBytes,
];
