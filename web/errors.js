// QforgetError and the one funnel that turns an engine result ({value} or {error}) into
// a return value or a thrown QforgetError. Also the argument checks every API entry
// point shares, so messages read the same everywhere.

/** Every failure qforget reports. `code` is stable; `message` names the argument. */
export class QforgetError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'QforgetError';
    this.code = code;
  }
}

/** Returns result.value, or throws the engine's error as a QforgetError. */
export function unwrap(result) {
  if (result.error) throw new QforgetError(result.error.code, result.error.message);
  return result.value;
}

export function invalid(message) {
  return new QforgetError('INVALID_ARGUMENT', message);
}

function typeName(value) {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ?? 'object';
}

/** An options object (not null, not an array); returns it. */
export function checkOptions(name, value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`${name} must be an object, got ${Array.isArray(value) ? 'an array' : typeName(value)}`);
  }
  return value;
}

/** A positive integer no larger than `max`. */
export function checkDim(name, value, max = 2 ** 31 - 1) {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalid(`${name} must be an integer in [1, ${max}], got ${String(value)}`);
  }
  return value;
}

/** A typed array of exactly class `Ctor` and, when given, `length` elements. */
export function checkArray(name, value, Ctor, length) {
  if (!(value instanceof Ctor)) {
    throw invalid(`${name} must be a ${Ctor.name}, got ${typeName(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw invalid(`${name} must have ${length} elements, got ${value.length}`);
  }
  return value;
}
