// How long ONNX import and export take (bench/RESULTS.md, "ONNX import and export"): for
// the PyTorch LeNet of bench/torch_lenet.py and for qforget's resnet8 and mobilenetv2 at
// 32x32x3 exported to float ONNX, the time of qf.importOnnx (at 32 and 4 bits, fed uint8
// pixels / 255 as NHWC, as bench/experiment.mjs --onnx imports) and of model.toOnnx (qdq
// and float, of the 4-bit import after one epoch on 64 random images: a qdq export needs
// the learned input steps a fit sets). Median of 5 after one warm-up, the SIMD build, one
// process. Not a test: nothing is compared here (onnx_torch.test.mjs does).
//
//   node bench/onnx_times.mjs [--lenet bench/out/torch_lenet.onnx] [--runs 5]
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { createQforget } from '../web/index.js';

const { values: args } = parseArgs({
  options: {
    lenet: { type: 'string', default: 'bench/out/torch_lenet.onnx' },
    runs: { type: 'string', default: '5' },
  },
});
const runs = Number(args.runs);

/** The median time of `runs` calls of `fn` (ms), after one warm-up call. */
async function medianMs(fn) {
  await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const qf = await createQforget();

// The ONNX files: the torch LeNet as written by torch.onnx.export, and the built-in
// architectures as qforget's float export writes them (a fresh 32-bit model's weights).
// Those take float32 samples, so that the files are float graphs as an application would
// bring them (a uint8-input model's export opens with a UINT8 input, Cast and Mul).
const files = [{ name: 'LeNet (torch.onnx.export, 1x28x28)', bytes: new Uint8Array(await readFile(args.lenet)) }];
for (const arch of ['resnet8', 'mobilenetv2']) {
  const model = qf.createModel({ arch, inputShape: [32, 32, 3], inputType: 'float32', numClasses: 10, weightBits: 32, seed: 1 });
  files.push({ name: `${arch} (qforget float export, 32x32x3)`, bytes: await model.toOnnx({ format: 'float' }) });
  model.dispose();
}

const rows = [];
for (const { name, bytes } of files) {
  const options = (weightBits) => ({ weightBits, inputType: 'uint8', preprocess: { scale: 1 / 255 }, inputLayout: 'nhwc', seed: 1 });
  const importAt = (weightBits) => medianMs(async () => (await qf.importOnnx(bytes, options(weightBits))).dispose());
  const row = { name, kB: bytes.length / 1024, import32: await importAt(32), import4: await importAt(4) };
  const model = await qf.importOnnx(bytes, options(4));
  try {
    row.layers = model.imported.layers;
    const size = model.inputShape.reduce((a, b) => a * b, 1);
    let s = 1;  // a seeded LCG: the bytes only need to be the same each run
    const x = Uint8Array.from({ length: 64 * size }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
    await model.fit({ x, y: Uint8Array.from({ length: 64 }, (_, i) => i % 10), shape: [64, ...model.inputShape] }, { epochs: 1, seed: 1 });
    row.qdq = await medianMs(() => model.toOnnx({ format: 'qdq' }));
    row.float = await medianMs(() => model.toOnnx({ format: 'float' }));
  } finally {
    model.dispose();
  }
  rows.push(row);
  process.stderr.write(`${name}: done\n`);
}

console.log(`median of ${runs} after one warm-up, ms\n`);
console.log('| model | file | layers | importOnnx, 32-bit | importOnnx, 4-bit | toOnnx qdq (4-bit) | toOnnx float (4-bit) |');
console.log('|---|---|---|---|---|---|---|');
const ms = (v) => v.toFixed(1);
for (const r of rows) console.log(`| ${r.name} | ${r.kB.toFixed(0)} kB | ${r.layers} | ${ms(r.import32)} | ${ms(r.import4)} | ${ms(r.qdq)} | ${ms(r.float)} |`);
