// Turns the JSON logs of bench/train.mjs runs (one file per run, as written by
// `node bench/train.mjs --json > bench/out/training/<arch>-<bits>.jsonl`) into the
// markdown table of bench/TRAINING.md.
//
//   node bench/training_table.mjs [folder]      (default bench/out/training)
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

const folder = process.argv[2] ?? 'bench/out/training';
const rows = [];
for (const file of (await readdir(folder)).filter((f) => f.endsWith('.jsonl')).sort()) {
  const events = (await readFile(path.join(folder, file), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const result = events.find((e) => e.event === 'result');
  if (!result) continue;
  const epochs = events.filter((e) => e.event === 'epoch');
  rows.push({ ...result, lastTrainAccuracy: epochs.at(-1).accuracy, secondsPerEpoch: result.seconds / epochs.length });
}
const bitsOrder = [32, 8, 4, 3, 2];
rows.sort((a, b) => a.arch.localeCompare(b.arch) || bitsOrder.indexOf(a.weightBits) - bitsOrder.indexOf(b.weightBits));
console.log('| arch | weights | test accuracy | train accuracy (last epoch) | epochs | s / epoch |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const bits = r.weightBits === 32 ? 'fp32' : `${r.weightBits}-bit`;
  console.log(`| ${r.arch} | ${bits} | ${(100 * r.testAccuracy).toFixed(2)} % | ${(100 * r.lastTrainAccuracy).toFixed(2)} % | ${r.epochs} | ${r.secondsPerEpoch.toFixed(0)} |`);
}
