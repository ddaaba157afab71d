// Types of qforget/storage (ESM). Hand-written; kept in step with web/storage.js.

import type { Dataset, ForgetOptions, ForgetReceipt, Model } from './index.js';

export { QforgetError } from './index.js';

/** A sealed forget receipt: the type model.forget resolves to. */
export type Receipt = ForgetReceipt;

/** What the store accepts as a model: a Model, or a qforget/worker RemoteModel. */
export type StorableModel =
  | Model
  | {
      save(options?: { shadow?: boolean }): Promise<Uint8Array>;
      forget(forgetSet: Dataset, options: ForgetOptions): Promise<unknown>;
    };

/** What loads a model from bytes: a Qforget, or a qforget/worker QforgetWorker. */
export interface ModelLoader<M = Model> {
  loadModel(bytes: Uint8Array): M | Promise<M>;
}

export interface StoredModelInfo {
  key: string;
  /** Size of the stored model file, in bytes. */
  size: number;
  /** When the model was last written (saveModel or forget), ISO 8601. */
  savedAt: string;
  /** How many receipts its log holds. */
  receiptCount: number;
}

export interface VerifyResult {
  /** Every receipt's seal matches its contents and each names the one before it. */
  ok: boolean;
  count: number;
  /** When !ok: the index of the first receipt that fails, and why. */
  brokenAt?: number;
  reason?: string;
  /**
   * Whether the stored model's SHA-256 is the last receipt's modelAfterSha256; false
   * after a later fit was saved (legitimate) or if the model was altered; null for an
   * empty log. Never affects `ok`.
   */
  modelMatchesLastReceipt: boolean | null;
}

/** Options of store.forget: model.forget's, minus previousReceipt (the store supplies it). */
/** signingKey: another key than the device key, or null for an unsigned receipt. */
export type StoreForgetOptions = Omit<ForgetOptions, 'previousReceipt' | 'signingKey'> & { previousReceipt?: never; signingKey?: CryptoKey | CryptoKeyPair | null };

/**
 * Models and their receipt logs in one IndexedDB database. Every failure is a
 * QforgetError: NOT_FOUND (no model under the key), RESOURCE_EXHAUSTED (storage quota),
 * ABORTED (the transaction was aborted, or another tab changed the log meanwhile; nothing
 * was written), FAILED_PRECONDITION (closed store, newer or foreign database),
 * DATA_LOSS (a damaged record), INVALID_ARGUMENT.
 */
export class ModelStore {
  private constructor();
  /** The IndexedDB database name. */
  readonly name: string;
  /** Stores model.save() bytes under `key`, replacing the model there (its log is kept). Crash-safe. */
  saveModel(key: string, model: StorableModel): Promise<{ key: string; size: number; savedAt: string }>;
  /** The stored model via qf.loadModel; the caller disposes it. */
  loadModel<M = Model>(qf: ModelLoader<M>, key: string): Promise<M>;
  has(key: string): Promise<boolean>;
  list(): Promise<StoredModelInfo[]>;
  /** Deletes the model and its receipt log; resolves to whether there was a model. */
  delete(key: string): Promise<boolean>;
  /** The receipt log, oldest first. */
  receipts(key: string): Promise<Receipt[]>;
  /** Seals, links and signatures (against the device key; unsigned receipts pass). */
  verify(key: string): Promise<VerifyResult>;
  /**
   * The store's device key, made on first use: its private key is non-extractable and
   * signs store.forget's receipts; the public key verifies them anywhere.
   */
  deviceKey(): Promise<{ publicKey: CryptoKey; keySha256: string; createdAt: string }>;
  /**
   * model.forget chained to the stored log, signed with the device key, then the new model
   * and the receipt stored in one transaction. `key` must already hold a model.
   */
  forget(key: string, model: StorableModel, forgetSet: Dataset, options: StoreForgetOptions): Promise<Receipt>;
  /** Safe to call twice; any later use throws FAILED_PRECONDITION. */
  close(): void;
}

/** Opens (creating if needed) the database; UNIMPLEMENTED where there is no IndexedDB. */
export function openStorage(name?: string): Promise<ModelStore>;

/** Deletes the whole database: every model and every receipt log in it. */
export function deleteStorage(name?: string): Promise<void>;
