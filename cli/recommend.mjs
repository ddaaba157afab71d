// What the poc command recommends from its runs, and the cost figures a manager asks for.
// Pure functions of the report's rows (numbers in points and seconds, as report.json has
// them); the metrics themselves come from the engine (qf.unlearningMetrics).

const round = (value, digits = 2) => Number(value.toFixed(digits));
/** `value` with `digits` decimals, or 'n/a' when there is no number (a metric the sets were too small for). */
export const fixed = (value, digits = 2) => (value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits));

/** "qmul at lr 0.02" */
export const runName = (run) => `${run.method} at lr ${run.lr}`;

/**
 * The run to use: the lowest AG (the gap to retraining) among the method runs whose time is
 * within `budget` (a fraction) of retraining's; when none is, the fastest within twice the
 * budget, marked withinBudget: false; null when none is even that fast.
 * @param {object[]} runs report.runs (the original's row and failed runs are skipped)
 */
export function recommend(runs, { retrainSeconds, budget }) {
  const budgetSeconds = budget * retrainSeconds;
  const measured = runs.filter((run) => run.method !== 'original' && Number.isFinite(run.AG));
  const original = runs.find((run) => run.method === 'original');
  const within = measured.filter((run) => run.seconds <= budgetSeconds).sort((a, b) => a.AG - b.AG || a.seconds - b.seconds);
  const percent = `${fixed(100 * budget, 0)} % of retraining's ${fixed(retrainSeconds, 1)} s`;
  if (within.length > 0) {
    const [best] = within;
    // The runner-up is the best run of another method: a second step size of the same
    // method says little about the choice of method.
    const runnerUp = within.find((run) => run.method !== best.method) ?? within[1] ?? null;
    return { ...chosen(best), withinBudget: true, budgetSeconds: round(budgetSeconds, 3), runnerUp: runnerUp && chosen(runnerUp), why: whyBest(best, runnerUp, original, percent) };
  }
  const fallback = measured.filter((run) => run.seconds <= 2 * budgetSeconds).sort((a, b) => a.seconds - b.seconds)[0];
  if (!fallback) return null;
  const why = `No run finished within ${percent} (${fixed(budgetSeconds, 1)} s). ${runName(fallback)} is the fastest within twice that: ${fixed(fallback.seconds, 2)} s, AG ${fixed(fallback.AG)} points${original ? ` (the unchanged original's: ${fixed(original.AG)})` : ''}. Raise --budget to choose among more runs by their gap to retraining.`;
  return { ...chosen(fallback), withinBudget: false, budgetSeconds: round(budgetSeconds, 3), runnerUp: null, why };
}

/** Why `best` was chosen, in words: its gap against doing nothing, and the runner-up. */
function whyBest(best, runnerUp, original, percent) {
  const parts = [`${runName(best)} is the closest to retraining among the runs within ${percent}: AG ${fixed(best.AG)} points in ${fixed(best.seconds, 2)} s (${fixed(best.percentOfRetrain, 1)} % of retraining).`];
  if (original) {
    parts.push(best.AG < original.AG
      ? `Doing nothing (the unchanged original) is ${fixed(original.AG)} points away, so it closes ${fixed(100 * (1 - best.AG / original.AG), 0)} % of that gap.`
      : `That is no closer than doing nothing: the unchanged original is ${fixed(original.AG)} points away. On this data the methods as tuned do not help; retrain or try other settings.`);
  }
  if (runnerUp) parts.push(`Runner-up: ${runName(runnerUp)}, AG ${fixed(runnerUp.AG)} points in ${fixed(runnerUp.seconds, 2)} s.`);
  return parts.join(' ');
}

const chosen = ({ method, lr, epochs, retainSample, seconds, percentOfRetrain, AG, TA }) => ({ method, lr, epochs, retainSample, seconds, percentOfRetrain, AG, TA });

/** Accuracy given up in points, said as a gain when it is negative. */
export const givenUp = (points) => (points < 0 ? `none (it gained ${(-points).toFixed(2)} points)` : `${points.toFixed(2)} points`);

/**
 * The cost of the recommended run: seconds per forget request of `forgetSamples` samples on
 * this machine, its % of retraining, and the validation accuracy it gives up against the
 * original (points; negative when it gains).
 */
export function costs(recommendation, { original, retrainSeconds, forgetSamples }) {
  if (!recommendation) return { forgetSamples, retrainSeconds, secondsPerRequest: null, percentOfRetrain: null, accuracyGivenUp: null };
  return {
    forgetSamples,
    retrainSeconds,
    secondsPerRequest: recommendation.seconds,
    percentOfRetrain: recommendation.percentOfRetrain,
    originalAccuracy: original.TA,
    accuracy: recommendation.TA,
    accuracyGivenUp: round(original.TA - recommendation.TA, 4),
  };
}
