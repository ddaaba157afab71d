// The qforget package entry: loads the SIMD or the no-SIMD wasm build and wraps it in
// the JS API. No math here; the engine does the work, this file moves bytes and
// turns engine errors into QforgetError.
import { QforgetError, checkArray, checkDim, unwrap } from './errors.js';

export { QforgetError } from './errors.js';

// (func (result v128) i8x16.splat(0) i32x4.dot_i16x8_s i8x16.splat(0)): validates only
// where the engine's SIMD instructions exist.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01,
  0x7b, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x0f, 0x01, 0x0d, 0x00, 0x41, 0x00, 0xfd, 0x0f,
  0x41, 0x00, 0xfd, 0x0f, 0xfd, 0xba, 0x01, 0x0b,
]);

/** True when this runtime can run the SIMD build. */
export function simdSupported() {
  return WebAssembly.validate(SIMD_PROBE);
}

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';
const instances = new Map();  // 'simd' | 'nosimd' -> Promise<Qforget>

/**
 * Loads qforget once per build and returns the cached instance.
 * @param {{simd?: 'auto'|boolean, locateFile?: (file: string) => string|URL}} [options]
 */
export function createQforget(options = {}) {
  const { simd = 'auto', locateFile } = options;
  if (simd !== 'auto' && simd !== true && simd !== false) {
    throw new QforgetError('INVALID_ARGUMENT', `options.simd must be 'auto', true or false, got ${String(simd)}`);
  }
  if (locateFile !== undefined && typeof locateFile !== 'function') {
    throw new QforgetError('INVALID_ARGUMENT', 'options.locateFile must be a function');
  }
  const useSimd = simd === 'auto' ? simdSupported() : simd;
  if (useSimd && !simdSupported()) {
    return Promise.reject(new QforgetError('UNIMPLEMENTED', 'options.simd is true but this runtime has no WebAssembly SIMD'));
  }
  const build = useSimd ? 'simd' : 'nosimd';
  if (!instances.has(build)) {
    const loading = load(build, locateFile).catch((error) => {
      instances.delete(build);  // a failed load may be retried
      throw error;
    });
    instances.set(build, loading);
  }
  return instances.get(build);
}

async function load(build, locateFile) {
  const base = `qforget-${build}`;
  const where = (file) => String(locateFile ? locateFile(file) : new URL(`./dist/${file}`, import.meta.url));
  const { default: factory } = await import(where(`${base}.js`));
  const moduleOptions = { locateFile: (file) => where(file) };
  if (isNode) {
    // Emscripten 3.1.6 hands Node's fetch a file path; give it the bytes instead.
    const { readFile } = await import('node:fs/promises');
    const url = where(`${base}.wasm`);
    moduleOptions.wasmBinary = await readFile(url.startsWith('file:') ? new URL(url) : url);
  }
  const module = await factory(moduleOptions);
  return new Qforget(module, build === 'simd');
}

/** One loaded engine. Obtain it with createQforget(). */
export class Qforget {
  #module;

  constructor(module, simd) {
    this.#module = module;
    /** Which build is running: true for the SIMD one. */
    this.simd = simd;
    /** The engine's version. */
    this.version = module.version();
    /** Low-level kernels, for benchmarks and cross-checks. */
    this.kernels = new Kernels(module);
  }
}

/** Copies typed arrays into the wasm heap for the length of one call. */
class HeapScope {
  #module;
  #pointers = [];

  constructor(module) {
    this.#module = module;
  }

  copyIn(array) {
    const ptr = this.alloc(array.byteLength);
    this.#module.HEAPU8.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), ptr);
    return ptr;
  }

  alloc(bytes) {
    const ptr = this.#module._malloc(Math.max(bytes, 1));
    if (ptr === 0) throw new QforgetError('RESOURCE_EXHAUSTED', `could not allocate ${bytes} bytes of wasm memory`);
    this.#pointers.push(ptr);
    return ptr;
  }

  /** A copy (never a view: the heap may move) of `length` elements of type Ctor. */
  copyOut(ptr, Ctor, length) {
    return new Ctor(this.#module.HEAPU8.buffer.slice(ptr, ptr + length * Ctor.BYTES_PER_ELEMENT));
  }

  free() {
    for (const ptr of this.#pointers) this.#module._free(ptr);
    this.#pointers = [];
  }
}

function withHeap(module, body) {
  const scope = new HeapScope(module);
  try {
    return body(scope);
  } finally {
    scope.free();
  }
}

class Kernels {
  #module;

  constructor(module) {
    this.#module = module;
    /** The kernel ISA this build dispatches to: 'wasmsimd' or 'scalar'. */
    this.isa = module.kernelIsa();
  }

  /**
   * C = A · B with A row-major m×k uint8 and B row-major k×n int8 (zero points 0).
   * @returns {Int32Array} m×n, row-major
   */
  matmulU8S8(a, b, m, k, n) {
    checkDim('m', m);
    checkDim('k', k);
    checkDim('n', n);
    checkArray('a', a, Uint8Array, m * k);
    checkArray('b', b, Int8Array, k * n);
    return withHeap(this.#module, (heap) => {
      const c = heap.alloc(m * n * 4);
      unwrap(this.#module.matmulU8S8(heap.copyIn(a), heap.copyIn(b), m, k, n, c));
      return heap.copyOut(c, Int32Array, m * n);
    });
  }

  /**
   * Packs B (row-major k×n int8) once for repeated products, as a deployed layer does.
   * @returns {PackedMatrixS8} call dispose() when done
   */
  packMatrixS8(b, k, n) {
    checkDim('k', k);
    checkDim('n', n);
    checkArray('b', b, Int8Array, k * n);
    const handle = withHeap(this.#module, (heap) => unwrap(this.#module.packMatrixS8(heap.copyIn(b), k, n)));
    return new PackedMatrixS8(this.#module, handle);
  }
}

/** A packed int8 weight matrix living in wasm memory. */
export class PackedMatrixS8 {
  #module;
  #handle;

  constructor(module, handle) {
    this.#module = module;
    this.#handle = handle;
    this.k = handle.k;
    this.n = handle.n;
  }

  /** C (m×n int32) = A (m×k uint8) · this. */
  matmul(a, m) {
    if (!this.#handle) throw new QforgetError('FAILED_PRECONDITION', 'PackedMatrixS8 was disposed');
    checkDim('m', m);
    checkArray('a', a, Uint8Array, m * this.k);
    return withHeap(this.#module, (heap) => {
      const c = heap.alloc(m * this.n * 4);
      unwrap(this.#handle.matmul(heap.copyIn(a), m, c));
      return heap.copyOut(c, Int32Array, m * this.n);
    });
  }

  /** Frees the wasm memory. Safe to call twice. */
  dispose() {
    this.#handle?.delete();
    this.#handle = null;
  }

  [Symbol.dispose]() {
    this.dispose();
  }
}
