// ONNX files written by a real exporter: the fixtures of tests/fixtures/onnx/ (made by
// torch.onnx.export, make_torch.py) through both wasm builds. Each imports at 32 bits and
// predicts what onnxruntime-web computes; each imports at 4 bits, fits, forgets (Q-MUL) and
// exports, and onnxruntime-web runs the export as qforget predicts. The graphs built by hand
// are in onnx.test.mjs; this file only reads the committed fixtures (no python needed).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, before, describe, it } from 'node:test';

import { createQforget, liveHandles, QforgetError } from '../../web/index.js';
import { checkExport, maxAbs, maxDiff } from './onnx_checks.mjs';
import { random, randomInputs, runOrt } from './onnx_models.mjs';

afterEach(() => assert.equal(liveHandles(), 0, 'every wasm object was released'));

const DIR = new URL('../fixtures/onnx/', import.meta.url);

// Every fixture make_torch.py writes, with the sample shape its graph takes (NCHW, or
// features) and the constant nodes the import should fold. A fixture on disk that is not
// listed here fails the first test: none is skipped silently.
const FIXTURES = {
  lenet_view_opset11: { inputShape: [1, 16, 16], folds: /Shape.*Gather.*Unsqueeze.*Concat/ },
  lenet_view_opset13: { inputShape: [1, 16, 16], folds: /Shape.*Gather.*Unsqueeze.*Concat/ },
  lenet_view_opset17: { inputShape: [1, 16, 16], folds: /Shape.*Gather.*Unsqueeze.*Concat/ },
  lenet_flatten_opset13: { inputShape: [1, 16, 16] },
  lenet28_opset13: { inputShape: [1, 28, 28] },
  resnet_opset13: { inputShape: [3, 16, 16] },
  mobilenetv2_opset13: { inputShape: [3, 16, 16], folds: /Constant/ },  // Clip's min and max
  mlp_opset13: { inputShape: [20], features: true },
  mlp_opset17: { inputShape: [20], features: true },
  avgpool_opset13: { inputShape: [1, 16, 16], drops: ['Pad'] },  // nn.AvgPool2d: a Pad of zeros first
  mean_opset13: { inputShape: [3, 16, 16] },  // x.mean((2, 3)) as the global pool: ReduceMean
};
// Importer gaps: fixtures of layers applications use that the importer refuses today, each
// with the refusal it gives (the node, op and opset named). When the importer learns one,
// its test here fails: move the fixture to FIXTURES.
const GAPS = {
  // importer gap: F.hardswish (HardSigmoid + Mul before opset 14, HardSwish from 14).
  gap_hardswish_opset13: /^node '\/HardSigmoid' \(HardSigmoid, opset 13\): this op is not supported by the importer$/,
  gap_hardswish_opset17: /^node '\/HardSwish' \(HardSwish, opset 17\): this op is not supported by the importer$/,
  // importer gap: F.leaky_relu.
  gap_leaky_relu_opset13: /^node '\/LeakyRelu' \(LeakyRelu, opset 13\): this op is not supported by the importer$/,
};
const NUM_CLASSES = 10;
const OUTPUT = 'logits';

const fixture = (name) => new Uint8Array(readFileSync(new URL(`${name}.onnx`, DIR)));

/** `n` seeded samples for fixture `name`: images in [0, 1), float features in [-2, 2). */
function inputsFor(name, n, seed) {
  const { inputShape, features } = FIXTURES[name];
  const x = randomInputs(inputShape, n, seed);
  return features ? x.map((v) => 4 * v - 2) : x;
}

describe('torch.onnx.export fixtures (tests/fixtures/onnx)', () => {
  it('are the ones this file lists', () => {
    const onDisk = readdirSync(DIR).filter((f) => f.endsWith('.onnx')).map((f) => f.slice(0, -5)).sort();
    assert.deepEqual(onDisk, [...Object.keys(FIXTURES), ...Object.keys(GAPS)].sort());
  });
});

for (const simd of [true, false]) {
  describe(`torch.onnx.export fixtures through the engine (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    let qf;
    before(async () => {
      qf = await createQforget({ simd });
    });

    it('import at 32 bits: each predicts what onnxruntime-web computes (within 1e-4 of the largest |logit|)', async (t) => {
      for (const [name, { inputShape, folds, drops = [] }] of Object.entries(FIXTURES)) {
        const bytes = fixture(name);
        const model = await qf.importOnnx(bytes, { weightBits: 32 });
        try {
          assert.deepEqual(model.inputShape, inputShape, `${name}: samples as the graph takes them`);
          assert.equal(model.numClasses, NUM_CLASSES, name);
          const report = model.imported;
          assert.match(report.producer, /^pytorch /, name);
          assert.deepEqual(report.dropped.map((d) => d.op), drops, `${name}: what was dropped`);
          if (folds) assert.match(report.folded.join(' '), folds, `${name}: the exporter's constant nodes folded`);
          const x = inputsFor(name, 64, 11);
          const reference = (await runOrt(bytes, x, inputShape))[OUTPUT];
          const scale = maxAbs(reference);
          const diff = maxDiff(model.predict(x), reference);
          t.diagnostic(`${name}: max |diff| ${diff.toExponential(2)} of max |logit| ${scale.toFixed(3)}`);
          assert.ok(diff <= 1e-4 * scale, `${name}: max |diff| ${diff} > 1e-4 × ${scale}`);
        } finally {
          model.dispose();
        }
      }
    });

    it('import as pixels: uint8 NHWC samples with preprocess scale 1/255 predict what onnxruntime-web computes on pixel / 255 in NCHW', async (t) => {
      // What an app (and bench/experiment.mjs --onnx) does with an image model: feed it the
      // bytes of its images. One channel (lenet: NHWC and NCHW are the same bytes) and three
      // (resnet: the engine moves the channels).
      for (const name of ['lenet_view_opset13', 'resnet_opset13']) {
        const bytes = fixture(name);
        const [c, h, w] = FIXTURES[name].inputShape;
        const model = await qf.importOnnx(bytes, { weightBits: 32, inputType: 'uint8', preprocess: { scale: 1 / 255 }, inputLayout: 'nhwc' });
        try {
          assert.deepEqual(model.inputShape, [h, w, c], name);
          assert.equal(model.inputType, 'uint8', name);
          const n = 32;
          const next = random(13);
          const pixels = Uint8Array.from({ length: n * h * w * c }, () => Math.floor(next() * 256));
          const nchw = new Float32Array(pixels.length);
          for (let i = 0; i < n; i++) for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) nchw[i * h * w * c + k * h * w + p] = pixels[i * h * w * c + p * c + k] / 255;
          const reference = (await runOrt(bytes, nchw, [c, h, w]))[OUTPUT];
          const scale = maxAbs(reference);
          const diff = maxDiff(model.predict(pixels), reference);
          t.diagnostic(`${name} (uint8, nhwc): max |diff| ${diff.toExponential(2)} of max |logit| ${scale.toFixed(3)}`);
          assert.ok(diff <= 1e-4 * scale, `${name}: max |diff| ${diff} > 1e-4 × ${scale}`);
        } finally {
          model.dispose();
        }
      }
    });

    it('importer gaps: the fixtures it refuses are refused with UNIMPLEMENTED naming the node, op and opset', async () => {
      for (const [name, message] of Object.entries(GAPS)) {
        await assert.rejects(qf.importOnnx(fixture(name), { weightBits: 32 }), (e) => e instanceof QforgetError && e.code === 'UNIMPLEMENTED' && message.test(e.message), name);
      }
    });

    it('import at 4 bits -> fit 1 epoch -> forget 20 (Q-MUL) -> export -> onnxruntime-web runs it as qforget predicts', async (t) => {
      for (const [name, { inputShape }] of Object.entries(FIXTURES)) {
        const model = await qf.importOnnx(fixture(name), { weightBits: 4, seed: 1 });
        try {
          const n = 300;
          const size = inputShape.reduce((a, b) => a * b, 1);
          const x = inputsFor(name, n, 23);
          const y = Uint8Array.from({ length: n }, (_, i) => i % NUM_CLASSES);
          const pick = (from, to) => ({ x: x.slice(from * size, to * size), y: y.slice(from, to), shape: [to - from, ...inputShape] });
          const history = await model.fit(pick(0, n), { epochs: 1, batchSize: 32, seed: 1 });
          assert.equal(history.length, 1, name);
          assert.ok(Number.isFinite(history[0].loss), `${name}: a finite loss`);
          const receipt = await model.forget(pick(0, 20), { retain: pick(20, n), method: 'qmul', epochs: 1, seed: 1 });
          assert.equal(receipt.forgotten, 20, name);
          const probe = inputsFor(name, 1000, 29);
          await checkExport(t, `${name} 4-bit, fitted, forgotten`, await model.toOnnx(), probe, inputShape, model.predict(probe), NUM_CLASSES);
        } finally {
          model.dispose();
        }
      }
    });
  });
}
