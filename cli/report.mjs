// report.json → report.html for `qforget poc`: one self-contained page (inline CSS, an
// inline SVG chart, no scripts, no requests) that a browser opens from disk and a manager
// can read: the recommendation and why, the cost figures, the FA/RA/TA/MIA/AG table and each
// run's gap to retraining against its time. Rendering only; every number is the report's.

import { fixed, givenUp } from './recommend.mjs';

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** Colours of the methods in the chart and the table (the original is grey). */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

const CSS = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; }
.partial { background: #fff3cd; border: 1px solid #e0c36c; padding: .6rem .8rem; }
.recommendation { background: #eef6ee; border: 1px solid #9cc59c; padding: .6rem .8rem; }
table { border-collapse: collapse; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.chosen td { font-weight: 600; background: #eef6ee; }
tr.failed td { color: #a33; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { color: #555; }
dd { margin: 0; }
.swatch { display: inline-block; width: .7rem; height: .7rem; border-radius: 50%; margin-right: .35rem; }
code { font-size: .9em; }
small { color: #555; }
`;

/** The page for `report` (report.json's object, complete or not). */
export function renderReport(report) {
  const colours = methodColours(report.runs);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>qforget proof of concept: ${escape(report.data.source)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Unlearning proof of concept</h1>
<p><small>${escape(report.createdAt)} · <code>${escape(report.command)}</code></small></p>
${report.complete ? '' : `<p class="partial" id="partial">Partial report: the run stopped${report.stoppedAt ? ` during <b>${escape(report.stoppedAt)}</b>` : ' before its end'}. The figures below are the stages finished before it.</p>`}
${recommendationSection(report)}
${costsSection(report)}
<h2>Methods against retraining</h2>
${table(report, colours)}
<p><small>FA, RA, TA: accuracy on the forget set, the retain set and the validation split (${report.data.validation.testSamples} samples held out from everything${report.request.excludedClass === null ? '' : `, class ${report.request.excludedClass} left out`}). MIA: the forget samples a membership attack calls non-members. AG: the mean gap of FA, RA, TA and MIA to the retrained reference; lower is closer to retraining. All in points (%).</small></p>
<h2>Gap to retraining against time</h2>
${chart(report, colours)}
${detailsSection(report)}
</body>
</html>
`;
}

function recommendationSection({ recommendation: rec, complete, budget }) {
  if (rec) {
    const heading = rec.withinBudget ? 'Recommendation' : `Recommendation (outside the ${fixed(100 * budget, 0)} % budget)`;
    return `<h2>${heading}</h2>\n<p class="recommendation" id="recommendation"><b>${escape(rec.method)}</b> at lr ${escape(rec.lr)}, ${escape(rec.epochs)} epochs, on ${fixed(100 * rec.retainSample, 0)} % of the retain set. ${escape(rec.why)}</p>`;
  }
  const text = complete ? `No method finished within twice the budget (${fixed(100 * budget, 0)} % of retraining's time): none is recommended. Raise --budget, or retrain.` : 'None yet: the run stopped before every method had run.';
  return `<h2>Recommendation</h2>\n<p id="recommendation">${escape(text)}</p>`;
}

function costsSection({ costs: c, retrain }) {
  const rows = [];
  if (c?.secondsPerRequest !== null && c?.secondsPerRequest !== undefined) {
    rows.push(['Seconds per forget request', `${fixed(c.secondsPerRequest)} s for ${c.forgetSamples} samples, on this machine`]);
    rows.push(['Share of retraining', `${fixed(c.percentOfRetrain, 1)} % (retraining: ${fixed(c.retrainSeconds, 1)} s)`]);
    rows.push(['Accuracy given up', `${givenUp(c.accuracyGivenUp)} of validation accuracy (${fixed(c.originalAccuracy)} % → ${fixed(c.accuracy)} %)`]);
  } else if (retrain) {
    rows.push(['Retraining', `${fixed(retrain.seconds, 1)} s on ${retrain.samples} samples, ${retrain.epochs} epochs`]);
  }
  if (rows.length === 0) return '';
  return `<h2>Costs</h2>\n<dl id="costs">${rows.map(([term, value]) => `<dt>${escape(term)}</dt><dd>${escape(value)}</dd>`).join('')}</dl>`;
}

function table(report, colours) {
  const rec = report.recommendation;
  const head = '<tr><th>method</th><th>lr</th><th>seconds</th><th>% of retrain</th><th>FA</th><th>RA</th><th>TA</th><th>MIA</th><th>AG</th></tr>';
  const rows = [];
  if (report.retrain?.FA !== undefined) {
    const r = report.retrain;
    rows.push(`<tr><td>retrain (reference)</td><td></td><td>${fixed(r.seconds)}</td><td>100.0</td>${[r.FA, r.RA, r.TA, r.MIA].map((v) => `<td>${fixed(v)}</td>`).join('')}<td>0.00</td></tr>`);
  }
  for (const run of report.runs) {
    const chosen = rec && run.method === rec.method && run.lr === rec.lr;
    const name = `<span class="swatch" style="background:${colours.get(run.method)}"></span>${escape(run.method)}`;
    if (run.error) {
      rows.push(`<tr class="failed"><td>${name}</td><td>${escape(run.lr)}</td><td colspan="7">failed: ${escape(run.error)}</td></tr>`);
      continue;
    }
    const cells = [run.lr ?? '', fixed(run.seconds), fixed(run.percentOfRetrain, 1), ...[run.FA, run.RA, run.TA, run.MIA, run.AG].map((v) => fixed(v))];
    rows.push(`<tr${chosen ? ' class="chosen"' : ''}><td>${name}</td>${cells.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`);
  }
  if (rows.length === 0) return '<p id="runs">No model has been measured yet.</p>';
  return `<table id="runs"><thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table>`;
}

function methodColours(runs) {
  const colours = new Map([['original', '#888']]);
  for (const run of runs) if (!colours.has(run.method)) colours.set(run.method, PALETTE[(colours.size - 1) % PALETTE.length]);
  return colours;
}

/** An SVG scatter of AG (points) against seconds, one dot per run, the budget a dashed line. */
function chart(report, colours) {
  const runs = report.runs.filter((run) => Number.isFinite(run.AG) && Number.isFinite(run.seconds));
  if (runs.length === 0) return '<p id="chart">Nothing to plot yet.</p>';
  const [W, H, left, right, top, bottom] = [640, 320, 56, 16, 16, 44];
  const budgetSeconds = report.retrain ? report.budget * report.retrain.seconds : null;
  const xTicks = ticks(Math.max(...runs.map((r) => r.seconds), budgetSeconds ?? 0));
  const yTicks = ticks(Math.max(...runs.map((r) => r.AG)));
  const xMax = xTicks.at(-1);
  const yMax = yTicks.at(-1);
  const x = (s) => left + (W - left - right) * (s / xMax);
  const y = (ag) => H - bottom - (H - top - bottom) * (ag / yMax);
  const parts = [];
  for (const t of xTicks) parts.push(`<line x1="${x(t)}" y1="${H - bottom}" x2="${x(t)}" y2="${top}" stroke="#eee"/><text x="${x(t)}" y="${H - bottom + 16}" text-anchor="middle">${t}</text>`);
  for (const t of yTicks) parts.push(`<line x1="${left}" y1="${y(t)}" x2="${W - right}" y2="${y(t)}" stroke="#eee"/><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  parts.push(`<line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="#444"/><line x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}" stroke="#444"/>`);
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 8}" text-anchor="middle">seconds</text><text transform="translate(14 ${(top + H - bottom) / 2}) rotate(-90)" text-anchor="middle">AG (points)</text>`);
  if (budgetSeconds !== null) {
    parts.push(`<line x1="${x(budgetSeconds)}" y1="${top}" x2="${x(budgetSeconds)}" y2="${H - bottom}" stroke="#555" stroke-dasharray="5 4"/><text x="${x(budgetSeconds) - 4}" y="${top + 12}" text-anchor="end">budget ${fixed(100 * report.budget, 0)} %</text>`);
  }
  for (const run of runs) {
    const label = run.method === 'original' ? 'original (unchanged)' : `${run.method} lr ${run.lr}: AG ${fixed(run.AG)} in ${fixed(run.seconds)} s`;
    parts.push(`<circle cx="${x(run.seconds).toFixed(1)}" cy="${y(run.AG).toFixed(1)}" r="5" fill="${colours.get(run.method)}" fill-opacity="0.85"><title>${escape(label)}</title></circle>`);
  }
  const legend = [...colours].filter(([method]) => runs.some((r) => r.method === method))
    .map(([method, colour]) => `<span><span class="swatch" style="background:${colour}"></span>${escape(method)}</span>`).join(' ');
  return `<svg id="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-size="12" role="img" aria-label="AG against seconds per run">${parts.join('')}</svg>\n<p>${legend}</p>`;
}

/** Round axis ticks from 0 to at least `max` (about five). */
function ticks(max) {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const count = Math.ceil(max / step);
  return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(6)));
}

function detailsSection({ data, request, original, retrain, machine }) {
  const rows = [
    ['Data', `${data.source} (${data.format}): ${data.samples} samples of ${data.inputType} [${data.inputShape.join(', ')}], ${data.classes} classes`],
    ['Split', `${data.training} for training, ${data.validation.samples} (${fixed(100 * data.validation.fraction, 0)} %) held out for validation`],
    ['Request', `${request.text}: forget ${request.forgetSamples} samples, retain ${request.retainSamples}`],
    ['Original', original.kind === 'qfm' ? `${original.model}, as loaded` : `${original.model}${original.bits ? `, ${original.bits}-bit` : ''}, trained here${original.seconds === null ? '' : ` in ${fixed(original.seconds, 1)} s`}`],
    ['Retraining', retrain ? `${fixed(retrain.seconds, 1)} s, ${retrain.epochs} epochs on ${retrain.samples} samples` : 'not run'],
    ['Machine', `${machine.cpus} CPUs${machine.cpu ? ` (${machine.cpu})` : ''}, Node ${machine.node}, ${machine.threads} engine thread(s), ${machine.build} build`],
  ];
  return `<h2>Details</h2>\n<dl id="details">${rows.map(([term, value]) => `<dt>${escape(term)}</dt><dd>${escape(value)}</dd>`).join('')}</dl>`;
}
