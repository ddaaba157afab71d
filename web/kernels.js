// qf.kernels: the low-level int8 GEMM, for benchmarks and cross-checks.
import { QforgetError, checkArray, checkDim, guardMethods, unwrap } from './errors.js';
import { withHeap } from './heap.js';
import { abandon, adopt, release } from './handles.js';

export class Kernels {
  #module;

  static {
    guardMethods(Kernels, ['matmulU8S8', 'packMatrixS8'], (kernels) => kernels.#module);
  }

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
    const handle = adopt(withHeap(this.#module, (heap) => unwrap(this.#module.packMatrixS8(heap.copyIn(b), k, n))));
    return new PackedMatrixS8(this.#module, handle);
  }
}

/** A packed int8 weight matrix living in wasm memory. */
export class PackedMatrixS8 {
  #module;
  #handle;

  static {
    guardMethods(PackedMatrixS8, ['matmul'], (packed) => packed.#module);
  }

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
    if (this.#handle) (this.#module.qforgetLost ? abandon : release)(this.#handle);
    this.#handle = null;
  }
}

// `using` support where the runtime has Symbol.dispose (Node 20+, recent browsers).
if (typeof Symbol.dispose === 'symbol') PackedMatrixS8.prototype[Symbol.dispose] = PackedMatrixS8.prototype.dispose;
