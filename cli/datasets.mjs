// Datasets from files, as the qforget API takes them ({x, y, shape}): IDX files (parsed by
// the engine's own reader, qf.parseIdx, gzip or not), a folder of PNG/JPEG images with a
// labels.csv, x.npy + y.npy, or an .npz. Decoding is the bundled packages' (web/dist/
// decoders.js); here only finding the files and checking that they agree, each refusal an
// InputError naming the file, row or field. No training, no metrics.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { decodeJpeg, parseNpy, PNG, unzipSync } from '../web/dist/decoders.js';
import { InputError } from './input_error.mjs';

/** The most classes a model can have (ModelOptions.numClasses). */
const MAX_CLASSES = 65_535;

const IDX_IMAGES = /^(.*)-images-idx3-ubyte(\.gz)?$/;

/**
 * The dataset at `where`: {x, y, shape, inputType, numClasses, format, source}.
 * numClasses is the largest label + 1. `limit` > 0 keeps the first `limit` samples.
 * @param {import('../web/index.js').Qforget} qf
 */
export function loadDataset(qf, where, { limit = 0 } = {}) {
  if (!existsSync(where)) throw new InputError(`--data: ${where} does not exist`);
  const ds = readAny(qf, where, limit);
  return { ...ds, inputType: ds.x instanceof Float32Array ? 'float32' : 'uint8', numClasses: classCount(ds.y, ds.labelsFile), source: where };
}

function readAny(qf, where, limit) {
  if (statSync(where).isFile()) {
    if (where.endsWith('.npz')) return readNpz(where, limit);
    const idx = IDX_IMAGES.exec(path.basename(where));
    if (idx) return readIdx(qf, where, limit);
    throw new InputError(`--data: ${where} is neither an .npz nor an IDX images file (*-images-idx3-ubyte[.gz]); a folder works too`);
  }
  const names = readdirSync(where);
  if (names.includes('labels.csv')) return readImageFolder(where, limit);
  if (names.includes('x.npy') || names.includes('y.npy')) return readNpyPair(where, limit);
  const images = names.filter((n) => IDX_IMAGES.test(n)).sort();
  if (images.length > 0) {
    // Fashion-MNIST's folder holds train and t10k: the training files are the dataset.
    const chosen = images.length === 1 ? images[0] : images.find((n) => n.startsWith('train'));
    if (!chosen) throw new InputError(`--data: ${where} holds several IDX image files (${images.join(', ')}); name one of them`);
    return readIdx(qf, path.join(where, chosen), limit);
  }
  throw new InputError(`--data: ${where} holds no labels.csv, no x.npy + y.npy and no *-images-idx3-ubyte[.gz] file`);
}

/**
 * qf.importOnnx's options for a model fed these samples at `bits`: uint8 pixels go in as
 * pixel / 255 in the data's own layout (NHWC; a PyTorch model's NCHW input is moved), as a
 * model trained on images in [0, 1] expects; float features as they are.
 */
export function onnxImportOptions(inputType, bits) {
  if (inputType !== 'uint8') return { weightBits: bits, inputType: 'float32' };
  return { weightBits: bits, inputType: 'uint8', preprocess: { scale: 1 / 255 }, inputLayout: 'nhwc' };
}

// --- IDX ---------------------------------------------------------------------------------

/** The IDX images file `imagesFile` and its labels file (same prefix) as a dataset of [n, rows, cols, 1]. */
export function readIdx(qf, imagesFile, limit = 0) {
  const [, prefix, gz = ''] = IDX_IMAGES.exec(path.basename(imagesFile));
  const labelsFile = path.join(path.dirname(imagesFile), `${prefix}-labels-idx1-ubyte${gz}`);
  if (!existsSync(labelsFile)) throw new InputError(`${imagesFile} has no labels file next to it (${path.basename(labelsFile)})`);
  const images = parsedIdx(qf, imagesFile, 3);
  const labels = parsedIdx(qf, labelsFile, 1);
  const [count, rows, cols] = images.dims;
  if (labels.dims[0] !== count) throw new InputError(`${labelsFile} has ${labels.dims[0]} labels but ${imagesFile} has ${count} images`);
  const n = limit > 0 ? Math.min(limit, count) : count;
  return {
    x: images.data.subarray(0, n * rows * cols),
    y: labels.data.subarray(0, n),
    shape: [n, rows, cols, 1],
    format: 'idx',
    labelsFile,
  };
}

function parsedIdx(qf, file, rank) {
  let idx;
  try {
    idx = qf.parseIdx(new Uint8Array(readFileSync(file)));
  } catch (error) {
    throw new InputError(`${file} is not a readable IDX file (${error.message})`);
  }
  if (idx.dims.length !== rank) throw new InputError(`${file} has ${idx.dims.length} dimensions; an IDX ${rank === 3 ? 'images' : 'labels'} file has ${rank}`);
  return idx;
}

// --- A folder of images with labels.csv --------------------------------------------------

/**
 * A folder of PNG or JPEG images listed in its labels.csv (header `file,label`, then one
 * row per image, the file relative to the folder). All images must have the same size;
 * they become one channel when every pixel of every image is grey, else three (RGB).
 * Alpha is dropped.
 */
export function readImageFolder(folder, limit = 0) {
  const labelsFile = path.join(folder, 'labels.csv');
  const rows = csvRows(labelsFile);
  const kept = limit > 0 ? rows.slice(0, limit) : rows;
  if (kept.length === 0) throw new InputError(`${labelsFile} lists no images`);
  const images = kept.map((row) => decodedImage(folder, labelsFile, row));
  const first = images[0];
  for (const image of images) {
    if (image.width !== first.width || image.height !== first.height) {
      throw new InputError(`${image.file} is ${image.width}×${image.height} but ${first.file} is ${first.width}×${first.height}; every image must have the same size`);
    }
  }
  const channels = images.every(isGrey) ? 1 : 3;
  const size = first.width * first.height;
  const x = new Uint8Array(images.length * size * channels);
  images.forEach((image, i) => {
    for (let p = 0; p < size; p++) {
      for (let c = 0; c < channels; c++) x[(i * size + p) * channels + c] = image.rgba[p * 4 + c];
    }
  });
  const y = labelArray(kept.map((row) => row.label), (i) => `${labelsFile} row ${kept[i].line} (${kept[i].file})`);
  return { x, y, shape: [images.length, first.height, first.width, channels], format: 'images', labelsFile };
}

/** labels.csv's rows after its header: {line, file, label (text)}. */
function csvRows(file) {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const cells = (line) => line.split(',').map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
  const header = cells(lines[0] ?? '');
  const fileColumn = header.indexOf('file');
  const labelColumn = header.indexOf('label');
  if (fileColumn < 0 || labelColumn < 0) throw new InputError(`${file}: the first row must name the columns file and label (got '${lines[0] ?? ''}')`);
  const rows = [];
  lines.forEach((line, i) => {
    if (i === 0 || line.trim() === '') return;
    const row = cells(line);
    if (row.length !== header.length) throw new InputError(`${file} row ${i + 1}: ${row.length} columns, the header has ${header.length}`);
    rows.push({ line: i + 1, file: row[fileColumn], label: row[labelColumn] });
  });
  return rows;
}

/** The image a labels.csv row names, decoded to RGBA: {file, width, height, rgba}. */
function decodedImage(folder, labelsFile, row) {
  const file = path.join(folder, row.file);
  if (!existsSync(file)) throw new InputError(`${labelsFile} row ${row.line} names ${row.file}, which does not exist in ${folder}`);
  const bytes = readFileSync(file);
  const kind = /\.png$/i.test(file) ? 'PNG' : /\.jpe?g$/i.test(file) ? 'JPEG' : null;
  if (!kind) throw new InputError(`${file}: not a .png, .jpg or .jpeg file`);
  try {
    const { width, height, data } = kind === 'PNG' ? PNG.sync.read(bytes) : decodeJpeg(bytes, { useTArray: true, formatAsRGBA: true });
    return { file, width, height, rgba: data };
  } catch (error) {
    throw new InputError(`${file} is not a readable ${kind} image (${error.message})`);
  }
}

function isGrey({ rgba }) {
  for (let p = 0; p < rgba.length; p += 4) {
    if (rgba[p] !== rgba[p + 1] || rgba[p] !== rgba[p + 2]) return false;
  }
  return true;
}

// --- .npy and .npz -----------------------------------------------------------------------

/** x.npy and y.npy in `folder`. */
export function readNpyPair(folder, limit = 0) {
  const read = (name) => {
    const file = path.join(folder, name);
    if (!existsSync(file)) throw new InputError(`${folder} has no ${name} (a .npy dataset is x.npy and y.npy)`);
    return { file, bytes: readFileSync(file) };
  };
  return npyDataset(read('x.npy'), read('y.npy'), limit, 'npy');
}

/** An .npz archive holding arrays x and y. */
export function readNpz(file, limit = 0) {
  let entries;
  try {
    entries = unzipSync(new Uint8Array(readFileSync(file)));
  } catch (error) {
    throw new InputError(`${file} is not a readable .npz (zip) file (${error.message})`);
  }
  const array = (name) => {
    if (!entries[`${name}.npy`]) throw new InputError(`${file} has no array '${name}' (it has ${Object.keys(entries).map((e) => e.replace(/\.npy$/, '')).join(', ') || 'none'}); name the samples x and the labels y`);
    return { file: `${file}:${name}`, bytes: entries[`${name}.npy`] };
  };
  return npyDataset(array('x'), array('y'), limit, 'npz');
}

/** Samples from the array `xs` ([n, ...]: uint8 pixels or floats) and labels from `ys` ([n]). */
function npyDataset(xs, ys, limit, format) {
  const xArray = parsedNpy(xs);
  const yArray = parsedNpy(ys);
  const [count, ...sample] = xArray.shape;
  if (count === undefined || sample.length === 0) throw new InputError(`${xs.file} has shape [${xArray.shape}]; samples need [n, ...one sample's shape]`);
  const labelCount = yArray.shape.reduce((a, b) => a * b, 1);
  if (yArray.shape[0] !== labelCount || labelCount !== count) {
    throw new InputError(`${ys.file} has ${labelCount} labels (shape [${yArray.shape}]) but ${xs.file} has ${count} samples; one label per sample`);
  }
  const n = limit > 0 ? Math.min(limit, count) : count;
  const d = sample.reduce((a, b) => a * b, 1);
  const x = sampleArray(xArray, xs.file).subarray(0, n * d);
  // [n, h, w] pixels are grey images: one channel, as the image folders and IDX give them.
  const shape = x instanceof Uint8Array && sample.length === 2 ? [n, ...sample, 1] : [n, ...sample];
  const y = labelArray(Array.from(yArray.data.subarray(0, n), Number), (i) => `${ys.file} entry ${i}`);
  return { x, y, shape, format, labelsFile: ys.file };
}

function parsedNpy({ file, bytes }) {
  let array;
  try {
    array = parseNpy(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  } catch (error) {
    throw new InputError(`${file} is not a readable .npy array (${error.message})`);
  }
  if (array.fortranOrder) throw new InputError(`${file} is in Fortran order; save it C-ordered (numpy.ascontiguousarray)`);
  return array;
}

/** uint8 stays pixels; float32 and float64 become float32 features (finite). */
function sampleArray({ data, dtype }, file) {
  if (data instanceof Uint8Array) return data;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) {
    throw new InputError(`${file} holds ${dtype}; qforget takes uint8 pixels or float32 features (convert with .astype)`);
  }
  const x = Float32Array.from(data);
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(`${file}: value ${bad} is ${data[bad]}; features must be finite`);
  return x;
}

// --- Labels ------------------------------------------------------------------------------

/**
 * Class indices from `values` (numbers or text) as the smallest typed array that holds
 * them; `where(i)` names value i in an error.
 */
function labelArray(values, where) {
  const labels = new Int32Array(values.length);
  values.forEach((value, i) => {
    const text = String(value).trim();
    const label = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(label < MAX_CLASSES)) throw new InputError(`${where(i)}: label '${text}' is not a class index (an integer from 0 to ${MAX_CLASSES - 1})`);
    labels[i] = label;
  });
  const largest = labels.reduce((a, b) => Math.max(a, b), 0);
  return largest < 256 ? Uint8Array.from(labels) : largest < 65_536 ? Uint16Array.from(labels) : labels;
}

/** The number of classes labels `y` imply: the largest + 1 (at least 2 are needed). */
function classCount(y, labelsFile) {
  const classes = y.reduce((a, b) => Math.max(a, b), 0) + 1;
  if (classes < 2) throw new InputError(`${labelsFile}: every label is 0; a classifier needs at least 2 classes`);
  return classes;
}

// --- Subsets -----------------------------------------------------------------------------

/** The samples of `ds` at `ids`, in that order (x and y keep their types). */
export function subset(ds, ids) {
  const d = ds.shape.slice(1).reduce((a, b) => a * b, 1);
  const x = new ds.x.constructor(ids.length * d);
  const y = new ds.y.constructor(ids.length);
  ids.forEach((id, i) => {
    x.set(ds.x.subarray(id * d, (id + 1) * d), i * d);
    y[i] = ds.y[id];
  });
  return { x, y, shape: [ids.length, ...ds.shape.slice(1)] };
}

/** A seeded `fraction` of `ds` (all of it when fraction >= 1), as the benchmarks draw it. */
export function sampleOf(qf, ds, fraction, seed, numClasses = 10) {
  if (fraction >= 1) return ds;
  return subset(ds, qf.resolveScenario(ds.y, `random:${fraction}`, { numClasses, seed }).forgetIds);
}
