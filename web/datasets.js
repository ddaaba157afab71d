// Datasets as the JS API takes them, {x, y, shape}: their checks (types and shape; the
// engine checks the rest) and their copy into the wasm heap for one call. No math here.
import { labelType, sampleType } from './dtypes.js';
import { invalid } from './errors.js';

/**
 * Checks a dataset {x: Uint8Array | Float32Array, y: Uint8Array | Uint16Array | Int32Array,
 * shape: [n, ...]}; returns it.
 */
export function checkDataset(name, ds) {
  if (ds === null || typeof ds !== 'object') throw invalid(`${name} must be an object {x, y, shape}`);
  sampleType(`${name}.x`, ds.x);
  labelType(`${name}.y`, ds.y);
  if (!Array.isArray(ds.shape) || !ds.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(`${name}.shape must be an array of integers [n, ...sample dims]`);
  }
  return ds;
}

/** A dataset of no samples for `model` (what a forget without retain data passes). */
export function emptyDataset(model) {
  const Samples = model.inputType === 'float32' ? Float32Array : Uint8Array;
  return { x: new Samples(0), y: new Uint8Array(0), shape: [0, ...model.inputShape] };
}

/** Copies a dataset (checked) into the heap scope; returns what the engine's bindings take. */
export function heapDataset(heap, ds) {
  return {
    x: heap.copyIn(ds.x), xLen: ds.x.length, xType: sampleType('x', ds.x),
    y: heap.copyIn(ds.y), yLen: ds.y.length, yType: labelType('y', ds.y),
    shape: JSON.stringify(ds.shape),
  };
}

/**
 * The samples of `ds` whose label is not `excluded`, as a new dataset (a class request's
 * test set: its metrics leave the forgotten class out).
 */
export function withoutClass(ds, excluded) {
  const n = ds.shape[0];
  const size = n === 0 ? 0 : ds.x.length / n;
  const kept = [...ds.y.keys()].filter((i) => ds.y[i] !== excluded);
  const x = new ds.x.constructor(kept.length * size);
  kept.forEach((j, i) => x.set(ds.x.subarray(j * size, (j + 1) * size), i * size));
  return { x, y: ds.y.constructor.from(kept, (j) => ds.y[j]), shape: [kept.length, ...ds.shape.slice(1)] };
}
