// Audit export: a receipt log as JSON Lines (for machines) or as one self-contained HTML
// page (for people): who asked, what was forgotten, when, by which method, the evidence,
// and each receipt's chain and signature status. Formatting only: the checks are
// receipts.js's, the figures the engine's.
import { checkOptions, invalid } from './errors.js';
import { checkReceipts } from './receipts.js';

const FORMATS = ['jsonl', 'html'];

/**
 * The receipt log `log` (oldest first) as text: 'jsonl', one receipt's JSON per line, or
 * 'html', a page with no script and no outside resource that shows every receipt with its
 * status as checkReceipts gives it (options.publicKeys, previous and requireSignatures as
 * verifyReceipts takes them; without public keys signatures show as unchecked).
 * @param {object[]} log
 * @param {{format: 'jsonl' | 'html', publicKeys?: Array<CryptoKey | Uint8Array>, previous?: string | null, requireSignatures?: boolean, title?: string}} options
 * @returns {Promise<string>}
 */
export async function exportAudit(log, options) {
  if (!Array.isArray(log)) throw invalid('log must be an array of receipts, oldest first');
  const { format, title = 'qforget audit log', ...checkOptionsGiven } = checkOptions('options', options);
  if (!FORMATS.includes(format)) throw invalid(`options.format must be 'jsonl' or 'html', got ${JSON.stringify(format) ?? String(format)}`);
  if (typeof title !== 'string') throw invalid('options.title must be a string');
  const checks = await checkReceipts(log, checkOptionsGiven);
  if (format === 'jsonl') return log.map((r) => `${JSON.stringify(r)}\n`).join('');
  return auditPage(log, checks, title);
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `value` as HTML text: every character that could open markup escaped. */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const percent = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : '—');
const short = (hash) => (typeof hash === 'string' ? `${hash.slice(0, 12)}…` : '—');
const isObject = (v) => v !== null && typeof v === 'object';

// One "before → after" cell of the evidence.
function change(name, pair) {
  if (!isObject(pair)) return '';
  return `<div>${escapeHtml(name)}: ${escapeHtml(percent(pair.before))} → ${escapeHtml(percent(pair.after))}</div>`;
}

function statusCell(ok, text) {
  return `<td class="${ok ? 'ok' : 'bad'}">${escapeHtml(text)}</td>`;
}

function row(r, check, i) {
  const receipt = isObject(r) ? r : {};
  const request = isObject(receipt.request) ? receipt.request : {};
  const who = [
    ['requested by', request.requestedBy], ['subject', request.subject], ['request', request.id], ['reason', request.reason],
  ].filter(([, v]) => v !== undefined).map(([k, v]) => `<div><b>${escapeHtml(k)}</b> ${escapeHtml(v)}</div>`).join('') || '<i>no request recorded</i>';
  const ids = Array.isArray(request.ids) ? `<div>ids: ${escapeHtml(request.ids.slice(0, 20).join(', '))}${request.ids.length > 20 ? ` … (${request.ids.length})` : ''}</div>` : '';
  const what = `<div>${escapeHtml(receipt.forgotten ?? '—')} sample(s), set ${escapeHtml(short(receipt.forgetSetSha256))}</div>${ids}`;
  const method = `${escapeHtml(receipt.method ?? '—')}${receipt.exact === true ? ' (exact)' : ''}`;
  const evidence = isObject(receipt.evidence)
    ? change('forget accuracy', receipt.evidence.forgetAccuracy) + change('MIA-efficacy', receipt.evidence.mia) + change('test accuracy', receipt.evidence.testAccuracy) +
      (Number.isInteger(receipt.evidence.testExcludesClass) ? `<div>test without class ${escapeHtml(receipt.evidence.testExcludesClass)}</div>` : '')
    : '<i>none recorded</i>';
  const chainOk = check.seal === 'ok' && check.link === 'ok';
  const chain = chainOk ? 'intact' : check.seal !== 'ok' ? check.seal : check.link;
  const signatureOk = check.signature === 'ok';
  const signer = isObject(receipt.signer) ? ` (key ${short(receipt.signer.keySha256)})` : '';
  const signature = { ok: 'verified', unsigned: 'unsigned', unchecked: 'not checked (no public key given)' }[check.signature] ?? check.signature;
  return `<tr id="receipt-${i + 1}"><td>${i + 1}</td><td>${escapeHtml(receipt.createdAt ?? '—')}</td><td>${who}</td><td>${what}</td><td>${method}</td><td>${evidence}</td>` +
    `${statusCell(chainOk, chain)}${statusCell(signatureOk || check.signature === 'unchecked' || check.signature === 'unsigned', signature + signer)}` +
    `<td><code>${escapeHtml(short(receipt.modelAfterSha256))}</code></td></tr>`;
}

function auditPage(log, checks, title) {
  const failed = checks.findIndex((c) => [c.seal, c.link, c.signature].some((s) => !['ok', 'unsigned', 'unchecked'].includes(s)));
  const summary = failed < 0
    ? `${log.length} receipt(s): every seal and link intact${checks.every((c) => c.signature === 'ok') && log.length > 0 ? ', every signature verified' : ''}.`
    : `BROKEN at receipt ${failed + 1} of ${log.length}.`;
  const head = ['#', 'when', 'who', 'what', 'method', 'evidence (before → after)', 'chain', 'signature', 'model after'];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #f3f3f3; }
td.ok { color: #175f17; }
td.bad { color: #a00; font-weight: bold; }
p.summary.bad { color: #a00; font-weight: bold; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="summary${failed < 0 ? '' : ' bad'}" id="summary">${escapeHtml(summary)}</p>
<p>Generated ${escapeHtml(new Date().toISOString())} by qforget. Percentages are the engine's measurements on the deployed integer model.</p>
<table id="receipts">
<thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${log.map((r, i) => row(r, checks[i], i)).join('\n')}
</tbody>
</table>
</body>
</html>
`;
}
