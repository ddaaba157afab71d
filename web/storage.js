// qforget/storage: keeps models and their forget-receipt logs in the browser's IndexedDB,
// so that a model and the record of what it forgot survive reloads and crashes together.
// Raw IndexedDB behind small promise helpers; no model math, hashing via receipts.js.
//
// Database layout (version 3), one database per openStorage(name):
//   models      keyPath 'key'            {key, size, savedAt}   size in bytes, savedAt ISO 8601
//   modelBytes  keyPath 'key'            {key, bytes}           bytes: what model.save() returned
//   receipts    keyPath ['key', 'index'] {key, index, receipt}  index 0, 1, ... oldest first
//   histories   keyPath 'key'            {key, history}         what model.history() returned
//   keys        keyPath 'name'           {name, privateKey, publicKey, keySha256, createdAt}
//                                        name 'device': the non-extractable ECDSA P-256 key
//                                        pair store.forget signs receipts with
// (version 1 had no histories, version 2 no keys; opening them adds the stores).
// Every write is one readwrite transaction that puts whole new records (never patches
// one), so after a crash, a closed tab or an abort the store holds either the old state
// or the new one. Metadata and bytes are split only so list() does not read model bytes.
import { QforgetError, invalid } from './errors.js';
import { keyFingerprint, sha256, verifyReceipts } from './receipts.js';

export { QforgetError } from './errors.js';

const DB_VERSION = 3;
const MODELS = 'models';
const BYTES = 'modelBytes';
const RECEIPTS = 'receipts';
const HISTORIES = 'histories';
const KEYS = 'keys';
const ALL_STORES = [MODELS, BYTES, RECEIPTS, HISTORIES, KEYS];
const DEVICE_KEY = 'device';
// What a model's write puts: the bytes, and the ledger that goes with them.
const MODEL_STORES = [MODELS, BYTES, HISTORIES];

// --- promise helpers over IndexedDB ------------------------------------------------------

/** Resolves with request.result, rejects with request.error. */
function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The receipt records of one key, in index order. */
function logRange(key) {
  return IDBKeyRange.bound([key, 0], [key, Infinity]);
}

/** Turns what IndexedDB throws (a DOMException, mostly) into a QforgetError. */
function storageError(error, what) {
  if (error instanceof QforgetError) return error;
  const detail = error?.message ? ` (${error.name}: ${error.message})` : error?.name ? ` (${error.name})` : '';
  switch (error?.name) {
    case 'QuotaExceededError':
      return new QforgetError('RESOURCE_EXHAUSTED', `${what}: the browser's storage quota for this site is exhausted; nothing was written${detail}`);
    case 'AbortError':
      return new QforgetError('ABORTED', `${what}: the IndexedDB transaction was aborted; nothing was written${detail}`);
    case 'ConstraintError':
      return new QforgetError('ABORTED', `${what}: another writer changed the same records at the same time; nothing was written${detail}`);
    case 'InvalidStateError':
    case 'TransactionInactiveError':
      return new QforgetError('FAILED_PRECONDITION', `${what}: the database connection is closed or no longer usable${detail}`);
    case 'VersionError':
      return new QforgetError('FAILED_PRECONDITION', `${what}: the database was written by a newer version of qforget/storage${detail}`);
    case 'NotFoundError':
      return new QforgetError('FAILED_PRECONDITION', `${what}: the database is not a qforget store (an object store is missing)${detail}`);
    default:
      return new QforgetError('INTERNAL', `${what}: IndexedDB failed${detail || `: ${String(error)}`}`);
  }
}

function checkKey(key) {
  if (typeof key !== 'string' || key.length === 0) throw invalid(`key must be a non-empty string, got ${key === '' ? 'an empty string' : typeof key}`);
  return key;
}

function checkModel(model) {
  if (model === null || typeof model !== 'object' || !['save', 'forget', 'history'].every((m) => typeof model[m] === 'function')) {
    throw invalid('model must be a Model (from qf.createModel or qf.loadModel) or a worker RemoteModel');
  }
  return model;
}

// What a model's write stores: its bytes (with the shadow weights, so it can be trained or
// forget later), their metadata and its ledger (checkpoints, what was fitted since).
async function modelRecords(key, model) {
  const [bytes, history] = await Promise.all([model.save(), model.history()]);
  if (!(bytes instanceof Uint8Array)) throw new QforgetError('INTERNAL', 'model.save() did not return a Uint8Array');
  return { meta: { key, size: bytes.byteLength, savedAt: new Date().toISOString() }, bytes: { key, bytes }, history: { key, history } };
}

// Puts a model's records in `tx`.
function putModel(tx, records) {
  return Promise.all([
    promised(tx.objectStore(MODELS).put(records.meta)),
    promised(tx.objectStore(BYTES).put(records.bytes)),
    promised(tx.objectStore(HISTORIES).put(records.history)),
  ]);
}

function notFound(key) {
  return new QforgetError('NOT_FOUND', `no model is stored under key ${JSON.stringify(key)}`);
}

/**
 * Opens (creating if needed) the IndexedDB database `name` holding qforget models.
 * Rejects with UNIMPLEMENTED where the runtime has no IndexedDB (Node, some private modes).
 * @param {string} [name]
 * @returns {Promise<ModelStore>} call close() when done
 */
export async function openStorage(name = 'qforget') {
  if (typeof name !== 'string' || name.length === 0) throw invalid('name must be a non-empty string');
  const factory = indexedDbFactory();
  let db;
  try {
    const request = factory.open(name, DB_VERSION);
    request.onupgradeneeded = (event) => {
      const upgrading = request.result;
      if (event.oldVersion < 1) {
        upgrading.createObjectStore(MODELS, { keyPath: 'key' });
        upgrading.createObjectStore(BYTES, { keyPath: 'key' });
        upgrading.createObjectStore(RECEIPTS, { keyPath: ['key', 'index'] });
      }
      if (event.oldVersion < 2) upgrading.createObjectStore(HISTORIES, { keyPath: 'key' });
      if (event.oldVersion < 3) upgrading.createObjectStore(KEYS, { keyPath: 'name' });
    };
    db = await promised(request);
  } catch (error) {
    throw storageError(error, `opening IndexedDB database ${JSON.stringify(name)}`);
  }
  const missing = ALL_STORES.filter((store) => !db.objectStoreNames.contains(store));
  if (missing.length) {
    db.close();
    throw new QforgetError('FAILED_PRECONDITION', `IndexedDB database ${JSON.stringify(name)} is not a qforget store (it has no ${missing.join(', ')} object store)`);
  }
  return new ModelStore(db, name);
}

/**
 * Deletes the whole database `name`: every model and every receipt log in it. Open
 * stores of that name (in any tab) are closed first.
 * @param {string} [name]
 */
export async function deleteStorage(name = 'qforget') {
  if (typeof name !== 'string' || name.length === 0) throw invalid('name must be a non-empty string');
  try {
    await promised(indexedDbFactory().deleteDatabase(name));
  } catch (error) {
    throw storageError(error, `deleting IndexedDB database ${JSON.stringify(name)}`);
  }
}

function indexedDbFactory() {
  const factory = globalThis.indexedDB;
  if (!factory || typeof factory.open !== 'function') {
    throw new QforgetError('UNIMPLEMENTED', 'IndexedDB is not available in this runtime: qforget/storage needs a browser or a web worker with indexedDB (in Node, keep model.save() bytes in files instead)');
  }
  return factory;
}

/** Models and their receipt logs in one IndexedDB database. Obtain one with openStorage(). */
export class ModelStore {
  #db;
  #closed = null;  // why the store is unusable, or null

  constructor(db, name) {
    this.#db = db;
    /** The IndexedDB database name. */
    this.name = name;
    // Another tab deleting or upgrading the database: step aside rather than block it.
    db.onversionchange = () => this.#shut('the database was deleted or upgraded from another tab');
    db.onclose = () => this.#shut('the browser closed the database (site data cleared?)');
  }

  #shut(reason) {
    if (this.#closed) return;
    this.#closed = reason;
    this.#db.close();
  }

  /**
   * Runs `body(tx)` in one transaction over `stores`; resolves with its result once the
   * transaction has committed. `body` may await requests (not other async work: the
   * transaction commits once it has nothing pending). Any failure aborts everything.
   */
  async #transaction(what, stores, mode, body) {
    if (this.#closed) throw new QforgetError('FAILED_PRECONDITION', `${what}: the store is closed (${this.#closed})`);
    let tx;
    try {
      tx = this.#db.transaction(stores, mode, mode === 'readwrite' ? { durability: 'strict' } : undefined);
    } catch (error) {
      throw storageError(error, what);
    }
    const finished = new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'));
    });
    finished.catch(() => {});  // observed below; never an unhandled rejection
    try {
      const result = await body(tx);
      await finished;
      return result;
    } catch (error) {
      try {
        tx.abort();
      } catch {
        // already committed or aborting
      }
      await finished.catch(() => {});
      // A transaction that failed on its own (quota at commit, a key conflict) says more
      // than the request that saw it fail; an abort we asked for has no tx.error.
      throw storageError(tx.error ?? error, what);
    }
  }

  /**
   * Stores the model's bytes (model.save(), with shadow weights) and its ledger
   * (model.history(): checkpoints and the fits since, for forget({method: 'rewind'}))
   * under `key`, replacing any model stored there; its receipt log is kept. Crash-safe:
   * either the whole new model is stored or the previous one stays loadable.
   * @param {string} key
   * @param {import('./model.js').Model} model
   * @returns {Promise<{key: string, size: number, savedAt: string}>}
   */
  async saveModel(key, model) {
    checkKey(key);
    checkModel(model);
    const records = await modelRecords(key, model);
    await this.#transaction(`saving model ${JSON.stringify(key)}`, MODEL_STORES, 'readwrite', (tx) => putModel(tx, records));
    return { ...records.meta };
  }

  /**
   * The stored model, loaded with `qf.loadModel` (a Qforget, or a worker's QforgetWorker),
   * with its ledger. Throws NOT_FOUND if nothing is stored under `key`, DATA_LOSS if the
   * bytes or the ledger are damaged.
   * @returns {Promise<import('./model.js').Model>} the caller owns it (dispose())
   */
  async loadModel(qf, key) {
    if (qf === null || typeof qf !== 'object' || typeof qf.loadModel !== 'function') {
      throw invalid('qf must be the engine from createQforget() (or createQforgetWorker())');
    }
    checkKey(key);
    const { record, ledger } = await this.#transaction(`loading model ${JSON.stringify(key)}`, [BYTES, HISTORIES], 'readonly', async (tx) => ({
      record: await promised(tx.objectStore(BYTES).get(key)),
      ledger: await promised(tx.objectStore(HISTORIES).get(key)),
    }));
    if (record === undefined) throw notFound(key);
    if (!(record.bytes instanceof Uint8Array)) {
      throw new QforgetError('DATA_LOSS', `the record stored under key ${JSON.stringify(key)} holds no model bytes`);
    }
    const model = await qf.loadModel(record.bytes);
    if (ledger === undefined) return model;  // stored before ledgers were
    try {
      await model.restoreHistory(ledger.history);
    } catch (error) {
      await model.dispose();
      const code = error instanceof QforgetError && error.code !== 'INVALID_ARGUMENT' ? error.code : 'DATA_LOSS';
      throw new QforgetError(code, `the ledger stored with model ${JSON.stringify(key)} could not be restored: ${error.message}`);
    }
    return model;
  }

  /** Whether a model is stored under `key`. */
  async has(key) {
    checkKey(key);
    const count = await this.#transaction('looking up a model', [MODELS], 'readonly',
      (tx) => promised(tx.objectStore(MODELS).count(key)));
    return count > 0;
  }

  /**
   * Every stored model, by key: size in bytes, when it was last written, and how many
   * receipts its log holds. Reads no model bytes.
   * @returns {Promise<Array<{key: string, size: number, savedAt: string, receiptCount: number}>>}
   */
  async list() {
    return this.#transaction('listing models', [MODELS, RECEIPTS], 'readonly', async (tx) => {
      const models = await promised(tx.objectStore(MODELS).getAll());
      const counts = await Promise.all(models.map((m) => promised(tx.objectStore(RECEIPTS).count(logRange(m.key)))));
      return models.map(({ key, size, savedAt }, i) => ({ key, size, savedAt, receiptCount: counts[i] }));
    });
  }

  /**
   * Deletes the model stored under `key` and its receipt log, in one transaction.
   * @returns {Promise<boolean>} whether there was a model to delete
   */
  async delete(key) {
    checkKey(key);
    return this.#transaction(`deleting model ${JSON.stringify(key)}`, ALL_STORES, 'readwrite', async (tx) => {
      const existed = (await promised(tx.objectStore(MODELS).count(key))) > 0;
      await Promise.all([
        promised(tx.objectStore(MODELS).delete(key)),
        promised(tx.objectStore(BYTES).delete(key)),
        promised(tx.objectStore(HISTORIES).delete(key)),
        promised(tx.objectStore(RECEIPTS).delete(logRange(key))),
      ]);
      return existed;
    });
  }

  /**
   * The receipt log of the model stored under `key`, oldest first (empty if it never
   * forgot anything). Throws NOT_FOUND if no model is stored there.
   * @returns {Promise<object[]>}
   */
  async receipts(key) {
    checkKey(key);
    const { exists, log } = await this.#transaction(`reading the receipts of ${JSON.stringify(key)}`, [MODELS, RECEIPTS], 'readonly', async (tx) => ({
      exists: (await promised(tx.objectStore(MODELS).count(key))) > 0,
      log: await promised(tx.objectStore(RECEIPTS).getAll(logRange(key))),
    }));
    if (!exists) throw notFound(key);
    return log.map((record) => record.receipt);
  }

  /**
   * Checks the receipt log of `key` (verifyReceipts: every seal, every link, and every
   * signature against this store's device key; unsigned receipts, as older logs hold,
   * pass, receipts signed by another key do not) and whether
   * the stored model is the one the last forget produced. `modelMatchesLastReceipt` is
   * false when the model was saved again after a later fit (legitimate) or altered, and
   * null when the log is empty; it never makes `ok` false. Throws NOT_FOUND if absent.
   * @returns {Promise<{ok: boolean, count: number, brokenAt?: number, reason?: string, modelMatchesLastReceipt: boolean|null}>}
   */
  async verify(key) {
    checkKey(key);
    const device = await this.deviceKey();
    // Read model and log in one transaction (a consistent snapshot); hash afterwards.
    const { record, log } = await this.#transaction(`verifying ${JSON.stringify(key)}`, [BYTES, RECEIPTS], 'readonly', async (tx) => ({
      record: await promised(tx.objectStore(BYTES).get(key)),
      log: await promised(tx.objectStore(RECEIPTS).getAll(logRange(key))),
    }));
    if (record === undefined) throw notFound(key);
    const receipts = log.map((r) => r.receipt);
    const chain = await verifyReceipts(receipts, { publicKeys: [device.publicKey], requireSignatures: false });
    const last = receipts.at(-1);
    let modelMatchesLastReceipt = null;
    if (last !== undefined) {
      modelMatchesLastReceipt = record.bytes instanceof Uint8Array && last !== null && typeof last === 'object' &&
        (await sha256(record.bytes)) === last.modelAfterSha256;
    }
    return { ...chain, modelMatchesLastReceipt };
  }

  /**
   * Runs model.forget(forgetSet, options) chained to the last receipt of `key`'s log,
   * then in one transaction stores the new model bytes and appends the receipt, so the
   * stored model and its log never disagree. `key` must already hold a model (saveModel
   * it first). If another tab appended to the log or deleted the model meanwhile,
   * nothing is stored and this throws ABORTED; so does any failed write. In both cases
   * `model` (in memory) has already forgotten the set: save it again or retry.
   * @param {string} key
   * @param {import('./model.js').Model} model the model stored under `key`, loaded
   * @param {{x: Uint8Array, y: Uint8Array, shape: number[]}} forgetSet
   * The receipt is signed with the store's device key (deviceKey()) unless
   * options.signingKey gives another key (or null: unsigned).
   * @param {object} options as model.forget's, minus previousReceipt
   * @returns {Promise<object>} the new receipt
   */
  async forget(key, model, forgetSet, options = {}) {
    checkKey(key);
    checkModel(model);
    if (options === null || typeof options !== 'object') throw invalid('options must be an object');
    if ('previousReceipt' in options) {
      throw invalid('options.previousReceipt must not be given: store.forget chains the receipt to the stored log itself');
    }
    const what = `forget on model ${JSON.stringify(key)}`;
    const { exists, last } = await this.#transaction(what, [MODELS, RECEIPTS], 'readonly', async (tx) => ({
      exists: (await promised(tx.objectStore(MODELS).count(key))) > 0,
      last: await lastReceipt(tx, key),
    }));
    if (!exists) throw new QforgetError('NOT_FOUND', `${what}: no model is stored under that key; saveModel it first`);

    const signingKey = options.signingKey === undefined ? await this.#devicePair() : options.signingKey ?? undefined;
    const receipt = await model.forget(forgetSet, { ...options, signingKey, previousReceipt: last?.receipt });
    const records = await modelRecords(key, model);
    await this.#transaction(`storing the result of ${what}`, ALL_STORES, 'readwrite', async (tx) => {
      const [stillThere, nowLast] = await Promise.all([promised(tx.objectStore(MODELS).count(key)), lastReceipt(tx, key)]);
      if (stillThere === 0 || nowLast?.receipt?.sha256 !== last?.receipt?.sha256) {
        throw new QforgetError('ABORTED', `${what}: the stored model or its receipt log changed while forget ran (another tab?); nothing was stored, but the model in memory has forgotten the set`);
      }
      await Promise.all([
        putModel(tx, records),
        promised(tx.objectStore(RECEIPTS).add({ key, index: last === undefined ? 0 : last.index + 1, receipt })),
      ]);
    });
    return receipt;
  }

  /**
   * This store's device key: an ECDSA P-256 key pair made on first use, its private key
   * non-extractable (no script can read it out, this one included; it signs only), kept
   * in the database. What a server needs to verify the receipts it signed is the public
   * key (export it as SPKI: crypto.subtle.exportKey('spki', publicKey)).
   * @returns {Promise<{publicKey: CryptoKey, keySha256: string, createdAt: string}>}
   */
  async deviceKey() {
    const { publicKey, keySha256, createdAt } = await this.#deviceRecord();
    return { publicKey, keySha256, createdAt };
  }

  async #devicePair() {
    const { privateKey, publicKey } = await this.#deviceRecord();
    return { privateKey, publicKey };
  }

  // The device key's record, made and stored on first use. Two tabs making one at once:
  // the first stored wins (add() refuses the second), and both use it.
  async #deviceRecord() {
    const read = () => this.#transaction('reading the device key', [KEYS], 'readonly', (tx) => promised(tx.objectStore(KEYS).get(DEVICE_KEY)));
    const stored = await read();
    if (stored !== undefined) return stored;
    const { privateKey, publicKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const record = { name: DEVICE_KEY, privateKey, publicKey, keySha256: await keyFingerprint(publicKey), createdAt: new Date().toISOString() };
    try {
      await this.#transaction('storing the device key', [KEYS], 'readwrite', (tx) => promised(tx.objectStore(KEYS).add(record)));
      return record;
    } catch (error) {
      const winner = await read();
      if (winner !== undefined) return winner;
      throw error;
    }
  }

  /** Closes the database connection. Safe to call twice; any later use throws. */
  close() {
    this.#shut('close() was called');
  }
}

/** The last record {key, index, receipt} of `key`'s log in `tx`, or undefined. */
async function lastReceipt(tx, key) {
  const cursor = await promised(tx.objectStore(RECEIPTS).openCursor(logRange(key), 'prev'));
  return cursor?.value;
}
