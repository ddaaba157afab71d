// Prepares what the demo page serves, from Debian's Fashion-MNIST (never committed):
// a training subset (the model's training data, and the retain pool forget draws on),
// a gallery of held-out images a visitor can claim as "their data", a test subset, and
// a 4-bit model trained once on the training subset through the wasm build.
//
//   node demo/prepare.mjs [--force]      writes demo/data/; skips when up to date
//
// Up to date means: the same prepare script, recipe and engine build made the files.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { CLASS_NAMES, loadFashionMnist, subset } from '../bench/fashion_mnist.mjs';
import { createQforget } from '../web/index.js';

export const RECIPE = {
  seed: 1,
  trainCount: 6000,
  galleryCount: 48,
  testCount: 1000,
  model: { arch: 'lenet', inputShape: [28, 28, 1], numClasses: 10, weightBits: 4, seed: 1 },
  fit: { epochs: 4, batchSize: 64, lr: 0.05, schedule: 'cosine', weightDecay: 5e-4, seed: 1 },
};

const DATA = new URL('./data/', import.meta.url);
const { values: args } = parseArgs({ options: { force: { type: 'boolean', default: false } } });

async function stamp() {
  const h = createHash('sha256');
  h.update(await readFile(new URL(import.meta.url)));
  h.update(await readFile(new URL('../web/dist/qforget-simd.wasm', import.meta.url)));
  return h.digest('hex');
}

// A seeded permutation of 0..n-1 (xorshift32 Fisher-Yates): the same subsets every time.
function permutation(n, seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

const want = await stamp();
const have = await readFile(new URL('.stamp', DATA), 'utf8').catch(() => '');
if (have === want && !args.force) {
  console.log('demo data: up to date (demo/data/)');
} else {
  await rm(DATA, { recursive: true, force: true });
  await mkdir(DATA, { recursive: true });
  const qf = await createQforget();
  const fullTrain = await loadFashionMnist(qf, 'train');
  const fullTest = await loadFashionMnist(qf, 'test');
  const order = permutation(fullTrain.shape[0], RECIPE.seed);
  const sets = {
    train: subset(fullTrain, order.slice(0, RECIPE.trainCount)),
    gallery: subset(fullTrain, order.slice(RECIPE.trainCount, RECIPE.trainCount + RECIPE.galleryCount)),
    test: subset(fullTest, permutation(fullTest.shape[0], RECIPE.seed + 1).slice(0, RECIPE.testCount)),
  };
  for (const [name, ds] of Object.entries(sets)) {
    await writeFile(new URL(`${name}-x.bin`, DATA), ds.x);
    await writeFile(new URL(`${name}-y.bin`, DATA), ds.y);
  }

  const started = performance.now();
  const model = qf.createModel(RECIPE.model);
  const history = await model.fit(sets.train, {
    ...RECIPE.fit,
    onProgress: (e) => console.log(`demo model: epoch ${e.epoch}/${RECIPE.fit.epochs}, loss ${e.loss.toFixed(3)}`),
  });
  const seconds = (performance.now() - started) / 1000;
  const testAccuracy = model.evaluate(sets.test).accuracy;
  await writeFile(new URL('model.qfm', DATA), model.save());
  model.dispose();

  const manifest = {
    classNames: CLASS_NAMES,
    sampleShape: [28, 28, 1],
    sets: Object.fromEntries(Object.entries(sets).map(([name, ds]) => [name, ds.shape[0]])),
    model: { ...RECIPE.model, fit: RECIPE.fit, trainAccuracy: history.at(-1).accuracy, testAccuracy, seconds },
    engine: qf.version,
    source: 'Fashion-MNIST from Debian\'s dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)',
  };
  await writeFile(new URL('manifest.json', DATA), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(new URL('.stamp', DATA), want);
  console.log(`demo data: ${RECIPE.model.arch} ${RECIPE.model.weightBits}-bit, test accuracy ` +
              `${(100 * testAccuracy).toFixed(1)} % after ${seconds.toFixed(0)} s of training (demo/data/)`);
}
