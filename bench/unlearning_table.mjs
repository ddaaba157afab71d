// The unlearning table (mean ± std over seeds, in points; time and its share of
// retraining's), from the rows bench/experiment.mjs produces. (The rows' FARequantized,
// the deployment check, is reported on its own in bench/UNLEARNING.md.) Used by the runner itself,
// and on its own to merge the JSON logs of runs made in separate processes (one seed
// each, say). A run of a method and seed in a later log replaces the one in an earlier
// log (a method re-run under a new protocol):
//
//   node bench/unlearning_table.mjs bench/out/unlearning/lenet-4-random0.1-seed*.jsonl
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const stat = (values) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(values.length - 1, 1));
  return { mean, std };
};
const fmt = ({ mean, std }) => `${mean.toFixed(2)} ± ${std.toFixed(2)}`;

/**
 * The markdown lines of the table and each method's means, for `methods` in that order.
 * @param {string[]} methods
 * @param {{method: string, seconds: number|null, FA: number, RA: number, TA: number, MIA: number, AG: number}[]} rows
 */
export function unlearningTable(methods, rows) {
  const meanTime = (method) => {
    const times = rows.filter((r) => r.method === method && r.seconds !== null).map((r) => r.seconds);
    return times.length ? stat(times).mean : null;
  };
  const retrainTime = meanTime('retrain');
  const lines = ['| method | FA | RA | TA | MIA | AG | time (s) | % of retrain |', '|---|---|---|---|---|---|---|---|'];
  const means = [];
  for (const method of methods) {
    const mine = rows.filter((r) => r.method === method);
    if (!mine.length) {
      lines.push(`| ${method} | failed | | | | | | |`);
      continue;
    }
    const s = Object.fromEntries(['FA', 'RA', 'TA', 'MIA', 'AG'].map((k) => [k, stat(mine.map((r) => r[k]))]));
    const time = meanTime(method);
    const share = time !== null && retrainTime ? `${((100 * time) / retrainTime).toFixed(1)} %` : '';
    lines.push(`| ${method} | ${fmt(s.FA)} | ${fmt(s.RA)} | ${fmt(s.TA)} | ${fmt(s.MIA)} | ${fmt(s.AG)} | ${time === null ? 'unknown' : time.toFixed(1)} | ${share} |`);
    means.push({ method, seconds: time, seeds: mine.length, ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.mean])) });
  }
  return { lines, means };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = new Map();  // "method/seed" -> the last log's run
  for (const file of process.argv.slice(2)) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line);
      if (event.event === 'run') runs.set(`${event.method}/${event.seed}`, event);
    }
  }
  const rows = [...runs.values()];
  // The reference first, then the baseline and Q-MUL, then the methods as the logs list them.
  const rank = (method) => ['retrain', 'original', 'qmul', method].indexOf(method);
  const methods = [...new Set(rows.map((r) => r.method))].sort((a, b) => rank(a) - rank(b));
  const seeds = [...new Set(rows.map((r) => r.seed))].sort();
  console.log(`${rows[0]?.arch} ${rows[0]?.bits}-bit, ${rows[0]?.scenario}, seeds ${seeds.join(', ')}\n`);
  console.log(unlearningTable(methods, rows).lines.join('\n'));
}
