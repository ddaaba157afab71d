// The app every bundler test builds (tests/js/bundlers.test.mjs): a new user's code, with
// no qforget-specific configuration. It uses all three entry points — a tiny fit and
// predict on the page and in a worker, a model saved to and loaded from storage — and
// leaves its report in `window.qforgetReport` (a promise). Not a test of the API itself.
import { createQforget } from 'qforget';
import { openStorage } from 'qforget/storage';
import { createQforgetWorker } from 'qforget/worker';

// 32 samples of 6×6, two classes: a bright or a dark left half.
function dataset() {
  const n = 32;
  const x = new Uint8Array(n * 36);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let p = 0; p < 36; p++) x[i * 36 + p] = (p % 6 < 3) === (y[i] === 1) ? 200 + ((i * 7 + p) % 50) : (i * 13 + p * 5) % 60;
  }
  return { x, y, shape: [n, 6, 6, 1] };
}

const spec = { arch: 'mlp', inputShape: [6, 6, 1], numClasses: 2, weightBits: 8, seed: 1 };

async function run() {
  const ds = dataset();
  const report = {};

  const qf = await createQforget();
  const model = qf.createModel(spec);
  await model.fit(ds, { epochs: 2, batchSize: 8, lr: 0.05 });
  report.page = { build: qf.build, threads: qf.threads, logits: Array.from(model.predict(ds.x.subarray(0, 36))) };

  const worker = await createQforgetWorker();
  try {
    const remote = await worker.createModel(spec);
    await remote.fit(ds, { epochs: 2, batchSize: 8, lr: 0.05 });
    report.worker = { build: worker.build, threads: worker.threads, logits: Array.from(await remote.predict(ds.x.subarray(0, 36))) };

    const store = await openStorage('bundler-app');
    await store.saveModel('model', remote);
    const again = await store.loadModel(worker, 'model');
    report.storage = { keys: (await store.list()).map((m) => m.key), logits: Array.from(await again.predict(ds.x.subarray(0, 36))) };
    store.close();
  } finally {
    await worker.terminate();
  }
  model.dispose();
  return report;
}

window.qforgetReport = run().catch((error) => ({ error: `${error?.code ?? error?.name}: ${error?.message ?? error}` }));
