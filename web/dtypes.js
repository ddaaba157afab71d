// The typed arrays datasets are made of, and the engine's names of their element types:
// samples are uint8 pixels or float32 features, labels uint8, uint16 or int32.
import { invalid, typeName } from './errors.js';

const SAMPLES = new Map([[Uint8Array, 'uint8'], [Float32Array, 'float32']]);
const LABELS = new Map([[Uint8Array, 'uint8'], [Uint16Array, 'uint16'], [Int32Array, 'int32']]);

function typeOf(name, array, types) {
  const type = types.get(array?.constructor);
  if (type === undefined || !ArrayBuffer.isView(array)) {
    const names = [...types.keys()].map((Ctor) => `${/^[AEIO]/.test(Ctor.name) ? 'an' : 'a'} ${Ctor.name}`);
    throw invalid(`${name} must be ${names.slice(0, -1).join(', ')} or ${names.at(-1)}, got ${typeName(array)}`);
  }
  return type;
}

/** 'uint8' or 'float32' for a dataset's samples (or predict's x); INVALID_ARGUMENT otherwise. */
export const sampleType = (name, x) => typeOf(name, x, SAMPLES);
/** 'uint8', 'uint16' or 'int32' for a dataset's labels; INVALID_ARGUMENT otherwise. */
export const labelType = (name, y) => typeOf(name, y, LABELS);
