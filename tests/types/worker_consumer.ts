// A TypeScript consumer of qforget/worker, type-checked (never run) with consumer.ts by
// tests/js/types.test.mjs. `@ts-expect-error` lines are misuse the types must refuse.
import type { Dataset, ForgetReceipt } from 'qforget';
import { createQforgetWorker, QforgetError, type QforgetWorker, type RemoteModel } from 'qforget/worker';

const qf: QforgetWorker = await createQforgetWorker({ simd: 'auto', wasmBaseUrl: '/web/dist/' });
// @ts-expect-error a function cannot be sent to a worker: locateFile is not an option
await createQforgetWorker({ locateFile: (file: string) => file });
const train: Dataset = { x: new Uint8Array(144), y: new Uint8Array(1), shape: [1, 12, 12, 1] };
const model: RemoteModel = await qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4 });
const history = await model.fit(train, { epochs: 1, onProgress: (e) => console.log(e.loss) });
const logits: Float32Array = await model.predict(train.x);
const remoteQuantized: RemoteModel = await model.quantize({ calibration: train.x, bits: 4 });
const receipt: ForgetReceipt = await model.forget(train, { retain: train, method: 'qmul', signal: new AbortController().signal });
// @ts-expect-error predict is asynchronous in a worker
const sync: Float32Array = model.predict(train.x);
const metrics = await qf.unlearningMetrics(model, { forget: train, retain: train, test: train, reference: model });
const replay: boolean = (await qf.replayReceipt(receipt, { model, forget: train, retain: train, onProgress: (e) => console.log(e.epoch) })).match;
await qf.replayReceipt(receipt, { model: new Uint8Array(8), forget: train });
// @ts-expect-error a main-thread Model is not this worker's model
await qf.replayReceipt(receipt, { model: {} as import('qforget').Model, forget: train });
const bytes: Uint8Array = await model.save({ shadow: false });
const copy: RemoteModel = await qf.loadModel(bytes);
const imported: RemoteModel = await qf.importOnnx(new Uint8Array(16), { weightBits: 8 });
const onnxBytes: Uint8Array = await imported.toOnnx({ format: 'float' });
const producer: string | undefined = imported.imported?.producer;
await copy.checkpoint();
await copy.restoreHistory(await copy.history());
// @ts-expect-error history is asynchronous in a worker
const events = copy.history().events;
await using scoped = await qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 2 });
const live: number = await qf.liveHandles();
const memoryLimit: number = (await qf.memoryStats()).limit;
await qf.setMemoryLimit(null);
try {
  await copy.evaluate(train);
} catch (e) {
  if (e instanceof QforgetError) console.log(e.code);
}
await copy.dispose();
await qf.terminate();

export const used = [history, logits, receipt, sync, metrics, replay, scoped, live];
