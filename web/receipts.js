// Forget receipts (SPEC §5): what one forget did, sealed with SHA-256 and chained to the
// receipt before it, so a log of them is tamper-evident. Hashing uses the platform's
// Web Crypto. No model math here: the receipt records what the engine reported.
import { labelType, sampleType } from './dtypes.js';
import { checkOptions, invalid } from './errors.js';
import { nodeBuiltin } from './platform.js';

/**
 * The receipt format this version writes. Format 2 has metrics as fractions with sample
 * counts and intervals; format 1 (points) is still verified: the seal is the same.
 */
export const RECEIPT_FORMAT = 'qforget-receipt/2';
const VERIFIED_FORMATS = ['qforget-receipt/1', RECEIPT_FORMAT];

const HEX64 = /^[0-9a-f]{64}$/;

async function subtle() {
  if (globalThis.crypto?.subtle) return globalThis.crypto.subtle;
  return (await nodeBuiltin('crypto')).webcrypto.subtle;  // Node 18 without the global
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** SHA-256 of a list of byte arrays and strings (UTF-8), as 64 hex digits. */
export async function sha256(...parts) {
  const encoder = new TextEncoder();
  const chunks = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : p));
  const joined = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    joined.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
    at += c.byteLength;
  }
  return hex(await (await subtle()).digest('SHA-256', joined));
}

/**
 * JSON with object keys sorted at every level, so equal receipts hash equally whatever
 * order their fields were written in.
 */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * SHA-256 of a dataset: its header, a NUL, the samples' bytes, then the labels' bytes. The
 * header is the shape as JSON for uint8 pixels and uint8 labels (as receipts have always
 * had it), else {"shape", "x", "y"} as JSON, naming the two types (e.g. "float32", "int32"):
 * the same bytes under other types are another dataset.
 */
export function datasetSha256(ds) {
  const [x, y] = [sampleType('x', ds.x), labelType('y', ds.y)];
  const header = x === 'uint8' && y === 'uint8' ? JSON.stringify(ds.shape) : JSON.stringify({ shape: ds.shape, x, y });
  return sha256(header, '\0', ds.x, ds.y);
}

/** The hash a receipt's `sha256` field must hold: its other fields, canonical JSON. */
export function receiptSha256(receipt) {
  const { sha256: _, ...fields } = receipt;
  return sha256(canonicalJson(fields));
}

/** Adds `format` and the seal (`sha256`) to a receipt's fields. */
export async function sealReceipt(fields) {
  const receipt = { format: RECEIPT_FORMAT, ...fields };
  receipt.sha256 = await receiptSha256(receipt);
  return receipt;
}

/** The `previousSha256` a new receipt gets from options.previousReceipt (or null). */
export function previousHash(previousReceipt) {
  if (previousReceipt === undefined || previousReceipt === null) return null;
  if (typeof previousReceipt !== 'object' || !HEX64.test(previousReceipt.sha256)) {
    throw invalid('options.previousReceipt must be a receipt returned by forget (with a sha256 field)');
  }
  return previousReceipt.sha256;
}

/**
 * Checks a receipt log, oldest first: every receipt's seal matches its contents, and
 * every receipt names the one before it (the first names none, or `options.previous`).
 * @returns {Promise<{ok: true, count: number} | {ok: false, count: number, brokenAt: number, reason: string}>}
 *   brokenAt: index of the first receipt that fails
 */
export async function verifyReceipts(receipts, options = {}) {
  if (!Array.isArray(receipts)) throw invalid('receipts must be an array of receipts, oldest first');
  const { previous: first = null, ...unknown } = checkOptions('options', options);
  if (Object.keys(unknown).length) throw invalid(`options.${Object.keys(unknown)[0]}: unknown option (known: previous)`);
  if (first !== null && !HEX64.test(first)) throw invalid('options.previous must be the sha256 (64 hex digits) of the receipt before the log, or null');
  let previous = first;
  for (let i = 0; i < receipts.length; i++) {
    const r = receipts[i];
    const broken = (reason) => ({ ok: false, count: receipts.length, brokenAt: i, reason });
    if (r === null || typeof r !== 'object') return broken('not a receipt object');
    if (!VERIFIED_FORMATS.includes(r.format)) return broken(`format is ${JSON.stringify(r.format)}, expected one of ${VERIFIED_FORMATS.join(', ')}`);
    if (r.sha256 !== await receiptSha256(r)) return broken('its contents do not match its sha256 (altered)');
    if (r.previousSha256 !== previous) {
      return broken(`previousSha256 is ${r.previousSha256}, but the receipt before it is ${previous}`);
    }
    previous = r.sha256;
  }
  return { ok: true, count: receipts.length };
}
