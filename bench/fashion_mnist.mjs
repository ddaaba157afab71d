// Fashion-MNIST for node scripts: reads Debian's dataset-fashion-mnist files with the poc
// command's IDX loader (cli/datasets.mjs), which parses them with the engine's own IDX
// reader (qf.parseIdx), so the bytes a model sees here are the bytes it sees in the browser.
import path from 'node:path';

import { readIdx } from '../cli/datasets.mjs';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
  'Sneaker', 'Bag', 'Ankle boot'];

/**
 * The class each class resembles most by what the garment is, known without a model: a
 * similarity matrix for Q-MUL (`qmulSimilarity`) as a domain expert would write one. Tops
 * go to the top of the nearest cut (T-shirt and shirt, pullover and coat, the dress to
 * the T-shirt), shoes to the nearest shoe (sandal and sneaker are both low, the ankle boot
 * goes to the sneaker), and the two classes with no kin to the nearest silhouette: the
 * trouser to the dress (long and narrow), the bag to the T-shirt (wide and boxy).
 */
export const GARMENT_NEAREST = [6, 3, 4, 0, 2, 7, 0, 5, 0, 7];
export const GARMENT_SIMILARITY = GARMENT_NEAREST.map((j, y) => CLASS_NAMES.map((_, k) => (k === j && k !== y ? 1 : 0)));

/**
 * Loads one split as a qforget dataset {x, y, shape: [n, 28, 28, 1]}.
 * @param {import('../web/index.js').Qforget} qf
 * @param {'train'|'test'} split
 * @param {number} [limit] keep the first `limit` samples (0: all)
 */
export async function loadFashionMnist(qf, split, limit = 0, dir = FASHION_MNIST_DIR) {
  const prefix = split === 'train' ? 'train' : 't10k';
  const { x, y, shape } = readIdx(qf, path.join(dir, `${prefix}-images-idx3-ubyte.gz`), limit);
  return { x, y, shape };
}

/** The samples of `ds` at `ids`, in that order; a seeded fraction of `ds`. */
export { sampleOf, subset } from '../cli/datasets.mjs';

/** The samples of `ds` whose label is not `excluded` (what a class request's receipt measures TA on). */
export { withoutClass } from '../web/datasets.js';

/** The samples of `sets` one after another, as one dataset (the sets share a sample shape). */
export function concat(...sets) {
  const n = sets.reduce((sum, ds) => sum + ds.shape[0], 0);
  const d = sets[0].shape.slice(1).reduce((a, b) => a * b, 1);
  const x = new Uint8Array(n * d);
  const y = new Uint8Array(n);
  let at = 0;
  for (const ds of sets) {
    x.set(ds.x, at * d);
    y.set(ds.y, at);
    at += ds.shape[0];
  }
  return { x, y, shape: [n, ...sets[0].shape.slice(1)] };
}
