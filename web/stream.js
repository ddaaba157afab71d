// Datasets larger than memory: fit's data or forget's retain given as an iterable of
// batches ({x, y, shape} each; async or not), read into the engine's window of samples in
// passes (src/train/stream.h). JS moves batches only: it iterates the source when the
// engine asks for samples, cuts batches to what it asks for, and hashes the samples for
// receipts and the ledger. The engine validates, counts, shuffles and checks every pass.
import { checkDataset, heapDataset } from './datasets.js';
import { sampleType } from './dtypes.js';
import { QforgetError, invalid, unwrap } from './errors.js';
import { withHeap } from './heap.js';
import { adopt, release } from './handles.js';
import { sampleHashes } from './ledger.js';
import { sha256 } from './receipts.js';

/** Whether `value` is a stream of batches (an iterable) rather than one dataset {x, y, shape}. */
export function isBatchStream(value) {
  return value !== null && typeof value === 'object' && !('x' in value) &&
    (typeof value[Symbol.asyncIterator] === 'function' || typeof value[Symbol.iterator] === 'function');
}

// The first `count` samples of a batch from sample `at` on, as a dataset (views, no copies).
function slice(batch, at, count) {
  const size = batch.x.length / batch.shape[0];
  return {
    x: batch.x.subarray(at * size, (at + count) * size),
    y: batch.y.subarray(at, at + count),
    shape: [count, ...batch.shape.slice(1)],
  };
}

// One pass of the source: its batches, checked, handed out in runs of samples.
class Pass {
  #iterator;
  #batch = null;
  #at = 0;  // samples of #batch handed out
  #batches = 0;
  position = 0;  // samples handed out

  // `number`: which pass of the engine's stream this iteration feeds (StreamHandle::Demand).
  constructor(source, name, number = 1) {
    this.name = name;
    this.number = number;
    const iterate = source[Symbol.asyncIterator] ?? source[Symbol.iterator];
    this.#iterator = iterate.call(source);
    if (this.#iterator === null || typeof this.#iterator?.next !== 'function') {
      throw invalid(`${name} must be an iterable of batches {x, y, shape}: its iterator has no next()`);
    }
    if (this.#iterator === source) {
      throw invalid(`${name} is an iterator (a generator object, say), which can be read once; a stream is read once per epoch: give an iterable that starts over each time, e.g. { [Symbol.asyncIterator]: () => readBatches() }`);
    }
  }

  // The next batch's name in messages.
  get batchName() {
    return `${this.name} (batch ${this.#batches} of the stream)`;
  }

  // The next run of at most `count` samples (all of the next batch without `count`), or
  // null at the source's end.
  async take(count = Infinity) {
    while (this.#batch === null || this.#at === this.#batch.shape[0]) {
      const { value, done } = await this.#iterator.next();
      if (done) return null;
      this.#batches++;
      this.#batch = checkDataset(this.batchName, value);
      this.#at = 0;
    }
    const run = Math.min(count, this.#batch.shape[0] - this.#at);
    const samples = run === this.#batch.shape[0] ? this.#batch : slice(this.#batch, this.#at, run);
    this.#at += run;
    this.position += run;
    return samples;
  }

  async close() {
    await this.#iterator.return?.();
  }
}

function push(module, stream, batch, name) {
  withHeap(module, (heap) => unwrap(stream.push(heapDataset(heap, batch), name)));
}

/**
 * A streamed dataset, counted: the engine's StreamHandle for `model` (`handle`, in
 * `module`; adopted: release it), filled by one pass over `source` (the engine validates
 * and checksums every sample), with its size, its SHA-256 (header and per-sample hashes,
 * see streamSha256) and, with `keepHashes`, the samples' hashes in order. `check()` runs
 * between batches (it throws to stop).
 */
export async function countStream(module, handle, source, name, { keepHashes = false, check = () => {} } = {}) {
  const stream = adopt(handle.openStream());
  const pass = new Pass(source, name);
  const hashes = [];
  let sample = null;  // the first batch's sample shape and type
  try {
    for (let batch; (batch = await pass.take()) !== null;) {
      check();
      push(module, stream, batch, pass.batchName);
      sample ??= { dims: batch.shape.slice(1), type: sampleType('x', batch.x) };
      for (const h of await sampleHashes(batch)) hashes.push(h);
    }
    unwrap(stream.end(name));
  } catch (error) {
    release(stream);
    throw error;
  } finally {
    await pass.close();
  }
  return { stream, size: stream.size, sha256: await streamSha256(sample, hashes), hashes: keepHashes ? hashes : null };
}

/**
 * A streamed dataset's SHA-256: of its header (its shape, sample type and how it is
 * hashed, as JSON), a NUL, and each sample's SHA-256 (ledger.js sampleHashes: of the
 * one-sample dataset it is) as hex, in order. Unlike a dataset in memory, a stream is
 * never whole at once, so it is hashed sample by sample.
 */
function streamSha256({ dims, type }, hashes) {
  const header = JSON.stringify({ shape: [hashes.length, ...dims], x: type, samples: 'sha256' });
  return sha256(header, '\0', hashes.join(''));
}

/**
 * Feeds a counted stream what the session reading it waits for (StreamHandle::Demand),
 * from `source`: a new pass of the source when the engine starts one. Call between steps;
 * resolves once the next batch can run. Returns the pass it read, to pass in again.
 */
export async function feedStream(module, stream, source, name, pass) {
  for (let demand = JSON.parse(stream.demand()); demand.count > 0; demand = JSON.parse(stream.demand())) {
    if (pass?.number !== demand.pass) {
      await pass?.close();
      pass = new Pass(source, name, demand.pass);
    }
    if (pass.position !== demand.from) {
      throw new QforgetError('INTERNAL', `${name}: the engine asked for sample ${demand.from}, the stream is at ${pass.position}`);
    }
    const batch = await pass.take(demand.count);
    if (batch === null) {
      unwrap(stream.end(name));  // names what did not come
      throw new QforgetError('INTERNAL', `${name}: the stream ended and the engine still waits for samples`);
    }
    push(module, stream, batch, pass.batchName);
  }
  return pass;
}
