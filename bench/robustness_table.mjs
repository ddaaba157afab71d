// The robustness table (bench/UNLEARNING.md, "Across weight schemes and PTQ"): the JSON
// logs of bench/experiment.mjs runs that differ only in --scheme / --ptq, side by side.
// For each scenario in the logs: every method's AG per model (mean ± std over seeds), Q-MUL's
// paired gap to RL (per seed, then mean ± std: below 0, Q-MUL is closer to retraining), the
// time as % of retraining, the retrained model's TA (what the scheme costs in accuracy) and
// the deployment check (the largest |FA after re-quantizing − FA| of any method and seed).
//
//   node bench/robustness_table.mjs bench/out/robust/*.jsonl
import { readFile } from 'node:fs/promises';

import { fmt, stat } from './unlearning_table.mjs';

/** A run's model: its weight scheme, and PTQ's method when it was quantized after training. */
const modelOf = (run) => (run.ptq ? `PTQ ${run.ptq} (${run.scheme})` : run.scheme);

const runs = [];
for (const file of process.argv.slice(2)) {
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (line.startsWith('{"event":"run"')) runs.push(JSON.parse(line));
  }
}
if (runs.length === 0) throw new Error('no runs: give the JSON logs of bench/experiment.mjs --json');

const unique = (values) => [...new Set(values)];
const models = unique(runs.map(modelOf));
const methods = unique(runs.map((r) => r.method));
const row = (cells) => `| ${cells.join(' | ')} |`;
const header = (first) => [row([first, ...models]), row(['---', ...models.map(() => '---')])];

for (const scenario of unique(runs.map((r) => r.scenario))) {
  const mine = runs.filter((r) => r.scenario === scenario);
  const of = (model, method) => mine.filter((r) => modelOf(r) === model && r.method === method);
  const cell = (values) => (values.length ? fmt(stat(values)) : '–');
  const seeds = unique(mine.map((r) => r.seed)).sort();
  console.log(`\n### ${mine[0].arch} ${mine[0].bits}-bit, ${scenario} (seeds ${seeds.join(', ')}; AG in points, mean ± std)\n`);
  console.log([...header('method'), ...methods.map((m) => row([m, ...models.map((model) => cell(of(model, m).map((r) => r.AG)))]))].join('\n'));

  // Q-MUL against random labels, seed by seed: each Q-MUL variant's AG minus RL's.
  const paired = (model, method) => of(model, method).flatMap((q) => {
    const rl = of(model, 'rl').find((r) => r.seed === q.seed);
    return rl ? [q.AG - rl.AG] : [];
  });
  const qmuls = methods.filter((m) => m.split(':')[0] === 'qmul');
  console.log(`\nQ-MUL's AG minus RL's, paired by seed (below 0: Q-MUL closer to retraining)\n`);
  console.log([...header('Q-MUL rule'), ...qmuls.map((m) => row([m, ...models.map((model) => cell(paired(model, m)))]))].join('\n'));

  // What Q-MUL's indicators said (README, "Q-MUL's indicators"): w_f over every epoch, the
  // share of the forget set predicted as its similar label after the last epoch, and the
  // epochs that raised a warning.
  const indicators = (model, method) => {
    const epochs = of(model, method).flatMap((r) => r.qmul ?? []);
    if (!epochs.length) return '–';
    const last = of(model, method).map((r) => r.qmul.at(-1).movedToSimilar * 100);
    const warned = epochs.filter((e) => e.warnings.length).length;
    return `${stat(epochs.map((e) => e.wForget)).mean.toFixed(3)} / ${stat(last).mean.toFixed(1)} % / ${warned} of ${epochs.length}`;
  };
  console.log(`\nQ-MUL's indicators: mean w_f / forget samples predicted as their similar label after the last epoch / epochs with a warning\n`);
  console.log([...header('Q-MUL rule'), ...qmuls.map((m) => row([m, ...models.map((model) => indicators(model, m))]))].join('\n'));

  const share = (model, method) => {
    const seconds = (m) => of(model, m).map((r) => r.seconds).filter((s) => s !== null);
    const [t, ref] = [seconds(method), seconds('retrain')];
    return t.length && ref.length ? `${((100 * stat(t).mean) / stat(ref).mean).toFixed(1)} %` : '–';
  };
  const timed = methods.filter((m) => m !== 'retrain' && m !== 'original');
  console.log(`\nTime as % of retraining (mean time over mean retraining time)\n`);
  console.log([...header('method'), ...timed.map((m) => row([m, ...models.map((model) => share(model, m))]))].join('\n'));

  // Of the models that forgot (not the original, not the reference): re-quantized from
  // their shadow weights, how far FA rose (forgotten samples coming back) and moved at most.
  const deployment = (model) => {
    const forgot = mine.filter((r) => modelOf(r) === model && r.FARequantized !== null && r.method !== 'original' && r.method !== 'retrain');
    if (!forgot.length) return '–';
    const moves = forgot.map((r) => r.FARequantized - r.FA);
    return `${Math.max(...moves).toFixed(2)} / ${Math.max(...moves.map(Math.abs)).toFixed(2)}`;
  };
  console.log(`\nThe models, and the deployment check\n`);
  console.log([
    ...header(''),
    row(['retrained model\'s TA (%)', ...models.map((model) => cell(of(model, 'retrain').map((r) => r.TA)))]),
    row(['original\'s TA (%)', ...models.map((model) => cell(of(model, 'original').map((r) => r.TA)))]),
    row(['deployment check: FA\'s largest rise / move on re-quantizing (points)', ...models.map(deployment)]),
  ].join('\n'));
}
