// One method's runs under two settings on the same seeds (the same original and reference
// models), compared seed by seed: each seed's difference B − A in FA, RA, TA, MIA and AG
// (points), then the differences' mean ± std over the seeds. The logs are
// bench/experiment.mjs's --json output; A's files come before `--`, B's after:
//
//   node bench/paired_runs.mjs qmul bench/out/unlearning/a-seed*.jsonl -- bench/out/unlearning/b-seed*.jsonl
import { readFile } from 'node:fs/promises';

import { stat } from './unlearning_table.mjs';

const [method, ...files] = process.argv.slice(2);
const cut = files.indexOf('--');
if (!method || cut < 1 || cut === files.length - 1) {
  throw new Error('usage: node bench/paired_runs.mjs <method> <A logs...> -- <B logs...>');
}
/** The last run of `method` per seed in `logs`. */
async function runs(logs) {
  const bySeed = new Map();
  for (const file of logs) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line);
      if (event.event === 'run' && event.method === method) bySeed.set(event.seed, event);
    }
  }
  return bySeed;
}
const [a, b] = [await runs(files.slice(0, cut)), await runs(files.slice(cut + 1))];
const keys = ['FA', 'RA', 'TA', 'MIA', 'AG'];
const signed = (v) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
const diffs = Object.fromEntries(keys.map((k) => [k, []]));
const lines = [`| seed | ${keys.map((k) => `${k} A → B (B − A)`).join(' | ')} |`, `|---|${keys.map(() => '---|').join('')}`];
for (const seed of [...a.keys()].sort((x, y) => x - y)) {
  const [ra, rb] = [a.get(seed), b.get(seed)];
  if (!rb) continue;
  const cells = keys.map((k) => `${ra[k].toFixed(2)} → ${rb[k].toFixed(2)} (${signed(rb[k] - ra[k])})`);
  lines.push(`| ${seed} | ${cells.join(' | ')} |`);
  for (const k of keys) diffs[k].push(rb[k] - ra[k]);
}
if (!diffs.AG.length) throw new Error(`no seed has a ${method} run in both A's and B's logs`);
const mean = (k) => { const s = stat(diffs[k]); return `${signed(s.mean)} ± ${s.std.toFixed(2)}`; };
lines.push(`| B − A, mean ± std | ${keys.map(mean).join(' | ')} |`);
console.log(lines.join('\n'));
