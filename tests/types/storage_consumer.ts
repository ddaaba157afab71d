// A TypeScript consumer of qforget/storage, type-checked (never run) by
// tests/js/types.test.mjs. `@ts-expect-error` lines are misuse the types must refuse.
import { createQforget, type Dataset, type ForgetReceipt } from 'qforget';
import { openStorage, type ModelStore } from 'qforget/storage';
import { createQforgetWorker } from 'qforget/worker';

const qf = await createQforget();
const store: ModelStore = await openStorage('my-app');
const data: Dataset = { x: new Uint8Array(144), y: new Uint8Array(1), shape: [1, 12, 12, 1] };
const model = qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4 });
await store.saveModel('me', model);
const receipt: ForgetReceipt = await store.forget('me', model, data, { retain: data, test: data, method: 'qmul' });
// @ts-expect-error the store chains receipts itself
await store.forget('me', model, data, { retain: data, previousReceipt: receipt });
const check = await store.verify('me');
const matches: boolean | null = check.modelMatchesLastReceipt;
const log: ForgetReceipt[] = await store.receipts('me');
const loaded = await store.loadModel(qf, 'me');
const remote = await store.loadModel(await createQforgetWorker(), 'me');
store.close();

export const used = [matches, log, loaded, remote];
