// The unlearning table (mean ± std over seeds, in points; time and its share of the
// reference's: retraining's, or the rewind's in bench/personalization.mjs), from the rows
// bench/experiment.mjs produces. (The rows' FARequantized, the deployment check, is
// reported on its own in bench/UNLEARNING.md.) Used by both runners, and on its own to
// merge the JSON logs of runs made in separate processes (one seed each, say). A run of a
// method and seed in a later log replaces the one in an earlier log (a method re-run under
// a new protocol):
//
//   node bench/unlearning_table.mjs bench/out/unlearning/lenet-4-random0.1-seed*.jsonl
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Mean and sample standard deviation of `values`. */
export const stat = (values) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(values.length - 1, 1));
  return { mean, std };
};
/** A stat as the tables print it: "91.95 ± 0.56". */
export const fmt = ({ mean, std }) => `${mean.toFixed(2)} ± ${std.toFixed(2)}`;

/** The paper's columns: row key -> heading. */
export const METRIC_COLUMNS = { FA: 'FA', RA: 'RA', TA: 'TA', MIA: 'MIA', AG: 'AG' };

/**
 * The markdown lines of the table and each method's means, for `methods` in that order.
 * Times are given as a share of `reference`'s. A column whose values are all null (MIA
 * when the sets are too small for the attack) reads n/a.
 * @param {string[]} methods
 * @param {{method: string, seconds: number|null, FA: number, RA: number, TA: number, MIA: number|null, AG: number}[]} rows
 * @param {{reference?: string, columns?: Record<string, string>}} [options] columns: row key -> heading
 */
export function unlearningTable(methods, rows, { reference = 'retrain', columns = METRIC_COLUMNS } = {}) {
  const meanTime = (method) => {
    const times = rows.filter((r) => r.method === method && r.seconds !== null).map((r) => r.seconds);
    return times.length ? stat(times).mean : null;
  };
  const referenceTime = meanTime(reference);
  const keys = Object.keys(columns);
  const lines = [
    `| method | ${Object.values(columns).join(' | ')} | time (s) | % of ${reference} |`,
    `|---|${keys.map(() => '---|').join('')}---|---|`,
  ];
  const means = [];
  for (const method of methods) {
    const mine = rows.filter((r) => r.method === method);
    if (!mine.length) {
      lines.push(`| ${method} | failed |${' |'.repeat(keys.length + 1)}`);
      continue;
    }
    const s = Object.fromEntries(keys.map((k) => {
      const values = mine.map((r) => r[k]).filter((v) => v !== null && v !== undefined);
      return [k, values.length ? stat(values) : null];
    }));
    const time = meanTime(method);
    const share = time !== null && referenceTime ? `${((100 * time) / referenceTime).toFixed(1)} %` : '';
    const cells = keys.map((k) => (s[k] === null ? 'n/a' : fmt(s[k])));
    lines.push(`| ${method} | ${cells.join(' | ')} | ${time === null ? 'unknown' : time.toFixed(1)} | ${share} |`);
    means.push({ method, seconds: time, seeds: mine.length, ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v === null ? null : v.mean])) });
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
