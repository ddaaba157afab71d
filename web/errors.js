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

/** What `value` is, for messages: 'null', 'number', 'Uint8Array', ... */
export function typeName(value) {
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

/**
 * Wraps the methods `names` of `Class` so that a crash inside the wasm instance (an
 * abort or a trap: memory exhausted by an allocation no reservation covered, or a bug)
 * reaches the caller as a QforgetError (INTERNAL), and every later call into that
 * instance is refused with FAILED_PRECONDITION instead of running on a dead engine.
 * `moduleOf(object)` is the emscripten module an object's calls go to; a crash calls
 * its `qforgetOnLost` hook (createQforget then loads a fresh instance).
 */
export function guardMethods(Class, names, moduleOf) {
  const alive = (module) => {
    if (module.qforgetLost) {
      throw new QforgetError('FAILED_PRECONDITION', `this qforget instance stopped earlier (${module.qforgetLost}); load the models again into a new one from createQforget()`);
    }
  };
  for (const name of names) {
    const method = Class.prototype[name];
    const isAsync = method.constructor.name === 'AsyncFunction';
    Class.prototype[name] = isAsync
      ? async function guarded(...args) {
        const module = moduleOf(this);
        alive(module);
        try {
          return await method.apply(this, args);
        } catch (error) {
          throw engineCrashed(module, error);
        }
      }
      : function guarded(...args) {
        const module = moduleOf(this);
        alive(module);
        try {
          return method.apply(this, args);
        } catch (error) {
          throw engineCrashed(module, error);
        }
      };
  }
}

/**
 * What to throw for `error`, raised by a call into `module`: the error itself, or, when
 * the wasm instance crashed, a QforgetError INTERNAL (and the instance is marked lost).
 */
export function engineCrashed(module, error) {
  if (!(error instanceof WebAssembly.RuntimeError)) return error;
  if (!module.qforgetLost) {
    module.qforgetLost = error.message;
    module.qforgetOnLost?.();
  }
  return new QforgetError('INTERNAL', `the engine stopped: ${error.message}. This qforget instance and the models in it can no longer be used; load them again into a new one from createQforget()`);
}
