// Moving bytes between JS and the wasm heap: a scope that copies typed arrays in,
// allocates outputs, copies results out (never views: the heap may move), and frees
// everything when the call ends. No math here.
import { QforgetError } from './errors.js';

/**
 * The largest buffer a call may place in wasm memory: the builds' memory maximum
 * (-sMAXIMUM_MEMORY=4GB, which emscripten keeps one 64 KiB page short of 4 GiB so that
 * sizes fit in wasm32's size_t).
 */
export const MAX_ALLOCATION = 2 ** 32 - 2 ** 16;

/** Copies typed arrays into the wasm heap for the length of one call. */
export class HeapScope {
  #module;
  #pointers = [];

  constructor(module) {
    this.#module = module;
  }

  copyIn(array) {
    const ptr = this.alloc(array.byteLength);
    this.#bytes().set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), ptr);
    return ptr;
  }

  // The wasm memory as it is now. The threaded build's memory is shared: when another
  // thread grows it, module.HEAPU8 keeps the old length until the glue next looks (the
  // check emscripten's GROWABLE_HEAP_U8 makes); an address past it would be out of bounds.
  #bytes() {
    const buffer = this.#module.wasmMemory?.buffer;
    return buffer && buffer !== this.#module.HEAPU8.buffer ? new Uint8Array(buffer) : this.#module.HEAPU8;
  }

  alloc(bytes) {
    // wasm32 sizes are 32-bit: a larger request would wrap around to a small one.
    if (!(bytes <= MAX_ALLOCATION)) {
      throw new QforgetError('RESOURCE_EXHAUSTED', `${bytes} bytes of wasm memory requested; one buffer is limited to ${MAX_ALLOCATION} bytes (4 GiB less 64 KiB)`);
    }
    // A wasm i32 comes back signed: an address at or above 2 GiB would be negative.
    const ptr = this.#module._malloc(Math.max(bytes, 1)) >>> 0;
    if (ptr === 0) throw new QforgetError('RESOURCE_EXHAUSTED', `could not allocate ${bytes} bytes of wasm memory`);
    this.#pointers.push(ptr);
    return ptr;
  }

  /** A copy (never a view: the heap may move) of `length` elements of type Ctor. */
  copyOut(ptr, Ctor, length) {
    return new Ctor(this.#bytes().buffer.slice(ptr, ptr + length * Ctor.BYTES_PER_ELEMENT));
  }

  free() {
    for (const ptr of this.#pointers) this.#module._free(ptr);
    this.#pointers = [];
  }
}

export function withHeap(module, body) {
  const scope = new HeapScope(module);
  try {
    return body(scope);
  } finally {
    scope.free();
  }
}

