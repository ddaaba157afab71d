// Forget receipts (SPEC §5): what one forget did, who asked for it, sealed with SHA-256,
// chained to the receipt before it and optionally signed (ECDSA P-256), so a log of them
// is tamper-evident and attributable to a key. Hashing and signing use the platform's Web
// Crypto. No model math here: the receipt records what the engine reported.
import { labelType, sampleType } from './dtypes.js';
import { checkOptions, invalid, typeName } from './errors.js';
import { nodeBuiltin } from './platform.js';

/**
 * The receipt format this version writes. Format 3 adds the request, the evidence and the
 * signature; format 2 (metrics as fractions with sample counts and intervals) and format 1
 * (points) are still verified: the seal is the same.
 */
export const RECEIPT_FORMAT = 'qforget-receipt/3';
const VERIFIED_FORMATS = ['qforget-receipt/1', 'qforget-receipt/2', RECEIPT_FORMAT];
/** The formats whose receipts may carry a signature. */
const SIGNED_FORMATS = [RECEIPT_FORMAT];

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

/**
 * The hash a receipt's `sha256` field must hold: its other fields but the signature (which
 * signs the hash), canonical JSON.
 */
export function receiptSha256(receipt) {
  const { sha256: _, signature: __, ...fields } = receipt;
  return sha256(canonicalJson(fields));
}

/**
 * Adds `format` and the seal (`sha256`) to a receipt's fields and, with `signer` (from
 * checkSigningKey), the key's fingerprint (sealed with the rest) and the signature of the
 * seal.
 */
export async function sealReceipt(fields, signer = null) {
  const receipt = { format: RECEIPT_FORMAT, ...fields, signer: signer && { algorithm: SIGNATURE_ALGORITHM, keySha256: signer.keySha256 } };
  receipt.sha256 = await receiptSha256(receipt);
  if (signer) receipt.signature = await signSeal(signer.privateKey, receipt.sha256);
  return receipt;
}

// --- requests --------------------------------------------------------------------------

/**
 * The limits of a forget request's fields, in bytes of UTF-8. Text must be well-formed
 * (no lone surrogate halves) and free of control characters but tab, line feed and
 * carriage return.
 */
export const REQUEST_LIMITS = Object.freeze({ id: 256, subject: 256, requestedBy: 256, reason: 4096, sampleId: 256, ids: 1_000_000 });
const REQUEST_TEXT = ['id', 'subject', 'requestedBy', 'reason'];

// Control characters other than \t, \n, \r; a lone surrogate half.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkText(name, value, limit) {
  if (typeof value !== 'string') throw invalid(`${name} must be a string, got ${typeName(value)}`);
  if (LONE_SURROGATE.test(value)) throw invalid(`${name} is not valid UTF-8 text: it holds a lone UTF-16 surrogate half`);
  const control = value.match(CONTROL);
  if (control) throw invalid(`${name} holds a control character (U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}); only tab, line feed and carriage return are allowed`);
  const bytes = new TextEncoder().encode(value).length;
  if (bytes > limit) throw invalid(`${name} is ${bytes} bytes of UTF-8, more than the limit of ${limit}`);
  return value;
}

/**
 * A forget request (options.request), checked, as the receipt keeps it: who asked
 * (`requestedBy`), on whose behalf (`subject`), the request's own `id`, the `reason`, and
 * the ids of the samples it names (`ids`, one per sample of the forget set, in its order;
 * strings or integers, never the samples' content). Every field is optional; null when
 * no request was given.
 */
export function checkRequest(request, samples) {
  if (request === undefined || request === null) return null;
  checkOptions('options.request', request);
  const known = [...REQUEST_TEXT, 'ids'];
  const unknown = Object.keys(request).find((k) => !known.includes(k));
  if (unknown !== undefined) throw invalid(`options.request.${unknown}: unknown field (known: ${known.join(', ')})`);
  const checked = {};
  for (const field of REQUEST_TEXT) {
    if (request[field] !== undefined) checked[field] = checkText(`options.request.${field}`, request[field], REQUEST_LIMITS[field]);
  }
  if (request.ids !== undefined) {
    const { ids } = request;
    if (!Array.isArray(ids) && !(ids instanceof Uint32Array)) throw invalid(`options.request.ids must be an array of strings or integers (or a Uint32Array), got ${typeName(ids)}`);
    if (ids.length !== samples) throw invalid(`options.request.ids must name every sample of the forget set: ${samples} id(s), got ${ids.length}`);
    const seen = new Set();
    checked.ids = Array.from(ids, (id, i) => {
      const name = `options.request.ids[${i}]`;
      if (typeof id === 'number') {
        if (!Number.isSafeInteger(id) || id < 0) throw invalid(`${name} must be an integer >= 0 or a string, got ${id}`);
      } else {
        checkText(name, id, REQUEST_LIMITS.sampleId);
      }
      const key = `${typeof id}:${id}`;
      if (seen.has(key)) throw invalid(`${name} repeats the id ${JSON.stringify(id)}`);
      seen.add(key);
      return id;
    });
  }
  return checked;
}

// --- signatures --------------------------------------------------------------------------

/** What signs a receipt: ECDSA on P-256 over SHA-256, the signature as r || s (64 bytes), base64. */
export const SIGNATURE_ALGORITHM = 'ECDSA-P256-SHA256';
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN = { name: 'ECDSA', hash: 'SHA-256' };

function base64(bytes) {
  let text = '';
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text);
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

const isCryptoKey = (key) => key !== null && typeof key === 'object' && typeof key.type === 'string' && key.algorithm?.name === 'ECDSA';

/** The fingerprint of a public key: the SHA-256 (hex) of its SPKI encoding. */
export async function keyFingerprint(publicKey) {
  return sha256(new Uint8Array(await (await subtle()).exportKey('spki', publicKey)));
}

/**
 * The signer of options.signingKey: an ECDSA P-256 key pair ({privateKey, publicKey}, as
 * generateKey gives it; the private key may be non-extractable) or an extractable private
 * key alone (its public half is derived from its JWK). Resolves to {privateKey, publicKey,
 * keySha256}, or null when no key was given.
 */
export async function checkSigningKey(signingKey) {
  if (signingKey === undefined || signingKey === null) return null;
  const expected = 'options.signingKey must be an ECDSA P-256 private CryptoKey (extractable) or a key pair {privateKey, publicKey}';
  const pair = isCryptoKey(signingKey) ? { privateKey: signingKey, publicKey: undefined } : signingKey;
  const { privateKey, publicKey } = typeof pair === 'object' ? pair : {};
  if (!isCryptoKey(privateKey) || privateKey.type !== 'private' || privateKey.algorithm.namedCurve !== 'P-256' || !privateKey.usages.includes('sign')) {
    throw invalid(`${expected}, usable to sign; got ${isCryptoKey(privateKey) ? `a ${privateKey.type} ${privateKey.algorithm.namedCurve} key` : typeName(privateKey)}`);
  }
  let pub = publicKey;
  if (pub === undefined) {
    if (!privateKey.extractable) throw invalid(`${expected}: this private key is not extractable, so give the pair (its public key cannot be derived)`);
    const { kty, crv, x, y } = await (await subtle()).exportKey('jwk', privateKey);
    pub = await (await subtle()).importKey('jwk', { kty, crv, x, y, ext: true }, ECDSA, true, ['verify']);
  } else if (!isCryptoKey(pub) || pub.type !== 'public' || pub.algorithm.namedCurve !== 'P-256') {
    throw invalid(`options.signingKey.publicKey must be the ECDSA P-256 public CryptoKey of the pair, got ${typeName(pub)}`);
  }
  return { privateKey, publicKey: pub, keySha256: await keyFingerprint(pub) };
}

async function signSeal(privateKey, seal) {
  return base64(await (await subtle()).sign(SIGN, privateKey, new TextEncoder().encode(seal)));
}

/**
 * options.publicKeys of verifyReceipts, as a Map fingerprint -> CryptoKey: ECDSA P-256
 * public CryptoKeys, or their SPKI encodings (Uint8Array or ArrayBuffer, as a server keeps them).
 */
async function publicKeyMap(publicKeys) {
  if (!Array.isArray(publicKeys)) throw invalid('options.publicKeys must be an array of ECDSA P-256 public keys (CryptoKey, or SPKI bytes)');
  const keys = new Map();
  for (const [i, key] of publicKeys.entries()) {
    let pub = key;
    if (key instanceof Uint8Array || key instanceof ArrayBuffer) {
      try {
        pub = await (await subtle()).importKey('spki', key, ECDSA, true, ['verify']);
      } catch (error) {
        throw invalid(`options.publicKeys[${i}] is not the SPKI encoding of an ECDSA P-256 public key (${error.message})`);
      }
    } else if (!isCryptoKey(key) || key.type !== 'public' || key.algorithm.namedCurve !== 'P-256') {
      throw invalid(`options.publicKeys[${i}] must be an ECDSA P-256 public CryptoKey or its SPKI bytes, got ${isCryptoKey(key) ? `a ${key.type} key` : typeName(key)}`);
    }
    keys.set(await keyFingerprint(pub), pub);
  }
  return keys;
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
 * Each receipt of a log, oldest first, checked: {seal, link, signature}, each 'ok' or why
 * not; `signature` is also 'unsigned', or 'unchecked' when no public keys were given. What
 * verifyReceipts and the audit page read. Arguments as verifyReceipts's.
 */
export async function checkReceipts(receipts, options = {}) {
  if (!Array.isArray(receipts)) throw invalid('receipts must be an array of receipts, oldest first');
  const { previous: first = null, publicKeys, requireSignatures, ...unknown } = checkOptions('options', options);
  if (Object.keys(unknown).length) throw invalid(`options.${Object.keys(unknown)[0]}: unknown option (known: previous, publicKeys, requireSignatures)`);
  if (first !== null && !HEX64.test(first)) throw invalid('options.previous must be the sha256 (64 hex digits) of the receipt before the log, or null');
  if (requireSignatures !== undefined && typeof requireSignatures !== 'boolean') throw invalid('options.requireSignatures must be a boolean');
  const keys = publicKeys === undefined ? null : await publicKeyMap(publicKeys);
  const required = requireSignatures ?? keys !== null;
  if (required && keys === null) throw invalid('options.requireSignatures needs options.publicKeys (the keys the receipts must be signed by)');
  let previous = first;
  const checks = [];
  for (const r of receipts) {
    const check = await checkOne(r, previous, keys, required);
    checks.push(check);
    previous = r?.sha256 ?? null;
  }
  return checks;
}

async function checkOne(r, previous, keys, required) {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return { seal: 'not a receipt object', link: 'not checked', signature: 'not checked' };
  if (!VERIFIED_FORMATS.includes(r.format)) {
    return { seal: `format is ${JSON.stringify(r.format)}, expected one of ${VERIFIED_FORMATS.join(', ')}`, link: 'not checked', signature: 'not checked' };
  }
  const seal = r.sha256 === await receiptSha256(r) ? 'ok' : 'its contents do not match its sha256 (altered)';
  const link = r.previousSha256 === previous ? 'ok' : `previousSha256 is ${r.previousSha256}, but the receipt before it is ${previous}`;
  return { seal, link, signature: await checkSignature(r, keys, required) };
}

async function checkSignature(r, keys, required) {
  const signed = r.signature !== undefined || (r.signer !== undefined && r.signer !== null);
  if (!signed) return required ? `it is not signed, and options.publicKeys were given${SIGNED_FORMATS.includes(r.format) ? '' : ` (format ${r.format} predates signatures; pass requireSignatures: false to accept it)`}` : 'unsigned';
  if (!SIGNED_FORMATS.includes(r.format)) return `format ${r.format} receipts carry no signature, but this one has signature fields`;
  const { signer, signature } = r;
  if (signer === null || typeof signer !== 'object' || signer.algorithm !== SIGNATURE_ALGORITHM || typeof signer.keySha256 !== 'string' || typeof signature !== 'string') {
    return `its signature fields are malformed (expected signer {algorithm: '${SIGNATURE_ALGORITHM}', keySha256} and a base64 signature)`;
  }
  if (keys === null) return 'unchecked';
  const key = keys.get(signer.keySha256);
  if (key === undefined) return `it is signed by key ${signer.keySha256.slice(0, 16)}…, which is not among options.publicKeys`;
  let bytes;
  try {
    bytes = fromBase64(signature);
  } catch {
    return 'its signature is not base64';
  }
  const good = await (await subtle()).verify(SIGN, key, bytes, new TextEncoder().encode(r.sha256));
  return good ? 'ok' : `its signature does not verify with key ${signer.keySha256.slice(0, 16)}… (forged, or signed by another key)`;
}

/**
 * Checks a receipt log, oldest first: every receipt's seal matches its contents, every
 * receipt names the one before it (the first names none, or `options.previous`), and,
 * with `options.publicKeys` (ECDSA P-256 public CryptoKeys or their SPKI bytes), every
 * receipt is signed by one of them with a signature that verifies. `requireSignatures`
 * (default: true when publicKeys are given) false accepts unsigned receipts (older
 * formats, or forgets run without a key) among signed ones.
 * @returns {Promise<{ok: true, count: number} | {ok: false, count: number, brokenAt: number, reason: string}>}
 *   brokenAt: index of the first receipt that fails
 */
export async function verifyReceipts(receipts, options = {}) {
  const checks = await checkReceipts(receipts, options);
  for (const [i, check] of checks.entries()) {
    const reason = [check.seal, check.link, check.signature].find((v) => !['ok', 'unsigned', 'unchecked', 'not checked'].includes(v));
    if (reason !== undefined) return { ok: false, count: receipts.length, brokenAt: i, reason };
  }
  return { ok: true, count: receipts.length };
}
