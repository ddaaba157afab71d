// A model's training ledger, behind exact forgetting by rewind. model.checkpoint() keeps
// the model's bytes; from the first checkpoint on, every fit records which samples it
// trained on (their SHA-256, in order, never their content), with which options and for
// how many epochs, and every forget which samples it removed. A rewind goes back to the
// newest checkpoint that predates every sample to forget and replays the recorded fits
// without them: the model it gives is the one those fits would have trained had the
// samples never been there. Bookkeeping only: the engine trains, Web Crypto hashes.
import { QforgetError, invalid } from './errors.js';
import { datasetSha256, sha256 } from './receipts.js';

/** The format of model.history(). */
export const HISTORY_FORMAT = 'qforget-history/1';

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Each sample's SHA-256 (64 hex digits), in order: the dataset hash (receipts.js) of the
 * one-sample dataset it is, so a sample's hash covers its pixels, its label and its shape.
 */
export function sampleHashes(ds) {
  const n = ds.shape[0];
  const size = n === 0 ? 0 : ds.x.length / n;
  const shape = [1, ...ds.shape.slice(1)];
  return Promise.all(Array.from({ length: n }, (_, i) =>
    datasetSha256({ shape, x: ds.x.subarray(i * size, (i + 1) * size), y: ds.y.subarray(i, i + 1) })));
}

/**
 * The samples of `ds` whose hashes (`hashes`, as sampleHashes gives them) are `wanted`, in
 * the order of `wanted`, as a new dataset; `missing` counts the wanted hashes `ds` lacks.
 */
export function gatherByHash(ds, hashes, wanted) {
  const at = new Map();
  hashes.forEach((h, i) => { if (!at.has(h)) at.set(h, i); });
  const size = ds.shape[0] === 0 ? 0 : ds.x.length / ds.shape[0];
  const x = new ds.x.constructor(wanted.length * size);
  const y = new ds.y.constructor(wanted.length);
  let missing = 0;
  wanted.forEach((h, i) => {
    const j = at.get(h);
    if (j === undefined) {
      missing++;
      return;
    }
    x.set(ds.x.subarray(j * size, (j + 1) * size), i * size);
    y[i] = ds.y[j];
  });
  return { dataset: { x, y, shape: [wanted.length, ...ds.shape.slice(1)] }, missing };
}

/**
 * The events of one model since its first checkpoint, oldest first:
 *   {type: 'checkpoint', createdAt, modelSha256, bytes}   bytes: model.save() at that point
 *   {type: 'fit', createdAt, samples, options, epochs, modelAfterSha256}
 *   {type: 'forget', createdAt, method, exact, forgotten, modelAfterSha256}
 * samples and forgotten are sample hashes; options are fit's (engine options, JSON).
 */
export class Ledger {
  #events = [];

  /** Whether fits are recorded: once a checkpoint exists. */
  get recording() {
    return this.#events.length > 0;
  }

  /** The model hash the ledger ends at (the model's now, if the ledger is in step). */
  get head() {
    const last = this.#events.at(-1);
    return last === undefined ? null : last.modelSha256 ?? last.modelAfterSha256;
  }

  /** @returns {{index: number, modelSha256: string, createdAt: string}} */
  addCheckpoint(bytes, modelSha256) {
    const event = { type: 'checkpoint', createdAt: new Date().toISOString(), modelSha256, bytes };
    this.#events.push(event);
    return { index: this.#checkpoints().length - 1, modelSha256, createdAt: event.createdAt };
  }

  addFit({ samples, options, epochs, modelAfterSha256 }) {
    this.#events.push({ type: 'fit', createdAt: new Date().toISOString(), samples, options: structuredClone(options), epochs, modelAfterSha256 });
  }

  addForget({ method, exact, forgotten, modelAfterSha256 }) {
    this.#events.push({ type: 'forget', createdAt: new Date().toISOString(), method, exact, forgotten, modelAfterSha256 });
  }

  #checkpoints() {
    return this.#events.filter((e) => e.type === 'checkpoint');
  }

  /**
   * The rewind that forgets the samples `forgotten` (hashes): the checkpoint to load (the
   * newest before the first fit that trained on one of them) and the fits after it to
   * replay, each without those samples and without any sample a later forget removed.
   * Throws NOT_FOUND when a sample is in no recorded fit, FAILED_PRECONDITION when there is
   * no checkpoint.
   * @returns {{at: number, checkpoint: object, fits: Array<{samples: string[], removed: number, options: object, epochs: number}>}}
   */
  plan(forgotten) {
    if (!this.recording) {
      throw new QforgetError('FAILED_PRECONDITION', 'rewind needs a checkpoint: call model.checkpoint() before the fits whose samples may have to be forgotten');
    }
    const gone = new Set(forgotten);
    const trained = new Set();
    let first = -1;
    this.#events.forEach((e, i) => {
      if (e.type !== 'fit') return;
      for (const h of e.samples) {
        if (!gone.has(h)) continue;
        trained.add(h);
        if (first < 0) first = i;
      }
    });
    const unknown = forgotten.findIndex((h) => !trained.has(h));
    if (unknown >= 0) {
      throw new QforgetError('NOT_FOUND', `sample ${unknown} of the forget set (sha256 ${forgotten[unknown].slice(0, 16)}…) is in no fit recorded since the first checkpoint, so a rewind cannot remove it; forget it with an approximate method`);
    }
    let at = first;
    while (this.#events[at].type !== 'checkpoint') at--;
    // Walking back from the end: a fit drops the samples to forget and those of the
    // forgets after it (a sample fitted again after its forget stays in the later fit).
    const fits = [];
    const dropped = new Set(gone);
    for (let i = this.#events.length - 1; i > at; i--) {
      const e = this.#events[i];
      if (e.type === 'forget') e.forgotten.forEach((h) => dropped.add(h));
      if (e.type !== 'fit') continue;
      const samples = e.samples.filter((h) => !dropped.has(h));
      fits.unshift({ samples, removed: e.samples.length - samples.length, options: e.options, epochs: e.epochs });
    }
    return { at, checkpoint: this.#events[at], fits };
  }

  /**
   * Records a rewind done by `plan`: the events after its checkpoint (and so the later
   * checkpoints, whose weights saw the forgotten samples) give way to the replayed fits
   * and the forget.
   */
  rewound(plan, replayed, forget) {
    this.#events.length = plan.at + 1;
    for (const fit of replayed) this.addFit(fit);
    this.addForget(forget);
  }

  /** A copy of the ledger: {format, events} (see model.history()). */
  export() {
    return {
      format: HISTORY_FORMAT,
      events: this.#events.map((e) => (e.type === 'checkpoint' ? { ...e, bytes: e.bytes.slice() } : structuredClone(e))),
    };
  }

  /**
   * A ledger from what export() gave, checked: its form, every checkpoint's bytes against
   * their hash (DATA_LOSS), and that it ends at `modelSha256`, the model it is for
   * (FAILED_PRECONDITION otherwise).
   */
  static async restore(history, modelSha256) {
    if (history === null || typeof history !== 'object' || history.format !== HISTORY_FORMAT || !Array.isArray(history.events)) {
      throw invalid(`history must be what model.history() returned ({format: '${HISTORY_FORMAT}', events}) or null`);
    }
    const events = history.events.map((e, i) => checkEvent(e, i));
    if (events.length > 0 && events[0].type !== 'checkpoint') throw invalid('history.events[0] must be a checkpoint: a ledger starts at one');
    for (const [i, e] of events.entries()) {
      if (e.type === 'checkpoint' && (await sha256(e.bytes)) !== e.modelSha256) {
        throw new QforgetError('DATA_LOSS', `history.events[${i}]: the checkpoint's bytes do not match its modelSha256 (damaged)`);
      }
    }
    const ledger = new Ledger();
    ledger.#events = events;
    if (events.length > 0 && ledger.head !== modelSha256) {
      throw new QforgetError('FAILED_PRECONDITION', `the history ends at model ${ledger.head.slice(0, 16)}…, but this model is ${modelSha256.slice(0, 16)}…: it is another model's history, or the model changed after it`);
    }
    return ledger;
  }
}

function checkEvent(e, i) {
  const where = `history.events[${i}]`;
  const hashes = (name, v) => {
    if (!Array.isArray(v) || !v.every((h) => typeof h === 'string' && HEX64.test(h))) throw invalid(`${where}.${name} must be an array of sample SHA-256s (64 hex digits)`);
    return v.slice();
  };
  const hash = (name, v) => {
    if (typeof v !== 'string' || !HEX64.test(v)) throw invalid(`${where}.${name} must be a SHA-256 (64 hex digits)`);
    return v;
  };
  if (e === null || typeof e !== 'object') throw invalid(`${where} must be an object`);
  if (typeof e.createdAt !== 'string') throw invalid(`${where}.createdAt must be a string`);
  const { createdAt } = e;
  switch (e.type) {
    case 'checkpoint':
      if (!(e.bytes instanceof Uint8Array)) throw invalid(`${where}.bytes must be a Uint8Array (the model's bytes)`);
      return { type: 'checkpoint', createdAt, modelSha256: hash('modelSha256', e.modelSha256), bytes: e.bytes.slice() };
    case 'fit':
      if (e.options === null || typeof e.options !== 'object') throw invalid(`${where}.options must be an object`);
      if (!Number.isSafeInteger(e.epochs) || e.epochs < 0) throw invalid(`${where}.epochs must be an integer >= 0`);
      return { type: 'fit', createdAt, samples: hashes('samples', e.samples), options: structuredClone(e.options), epochs: e.epochs, modelAfterSha256: hash('modelAfterSha256', e.modelAfterSha256) };
    case 'forget':
      if (typeof e.method !== 'string' || typeof e.exact !== 'boolean') throw invalid(`${where} must have a method (string) and exact (boolean)`);
      return { type: 'forget', createdAt, method: e.method, exact: e.exact, forgotten: hashes('forgotten', e.forgotten), modelAfterSha256: hash('modelAfterSha256', e.modelAfterSha256) };
    default:
      throw invalid(`${where}.type must be 'checkpoint', 'fit' or 'forget', got ${JSON.stringify(e.type)}`);
  }
}
