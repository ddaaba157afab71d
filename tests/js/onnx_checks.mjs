// The checks the ONNX tests share (onnx.test.mjs, onnx_torch.test.mjs): an exported model
// run in onnxruntime-web against qforget's predictions, within the bound src/onnx/export.h
// derives, and the helpers it needs. Not a test file itself.
import assert from 'node:assert/strict';

import { decodeOnnx } from '../../web/onnx.js';
import { runOrt } from './onnx_models.mjs';

export const maxAbs = (values) => values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

export function maxDiff(a, b) {
  assert.equal(a.length, b.length, 'as many values');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

export const argmax = (row) => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);

/**
 * The samples `x` (in the model's layout, `inputShape`) as the exported graph's input
 * takes them: its element type (uint8 pixels or float32 values), and NCHW when its sample
 * dims are the model's NHWC ones moved channel-first. Returns {x, shape}.
 */
export function asGraphInput(graphInput, x, inputShape) {
  const dims = graphInput.shape.slice(1);
  let data = x;
  let shape = inputShape;
  if (inputShape.length === 3 && dims.length === 3 && dims.join() !== inputShape.join()) {
    const [h, w, c] = inputShape;
    assert.deepEqual(dims, [c, h, w], `the graph's sample shape ${JSON.stringify(dims)} is the model's ${JSON.stringify(inputShape)} or its NCHW form`);
    data = new x.constructor(x.length);
    const n = x.length / (h * w * c);
    for (let i = 0; i < n; i++) for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) data[i * h * w * c + k * h * w + p] = x[i * h * w * c + p * c + k];
    shape = dims;
  }
  if (graphInput.type === 'FLOAT' && !(data instanceof Float32Array)) data = Float32Array.from(data);
  if (graphInput.type === 'UINT8' && !(data instanceof Uint8Array)) throw new Error('a uint8 graph input for float samples');
  return { x: data, shape };
}

/**
 * The bound on |ORT logit - qforget logit| per sample for an exported model, derived in
 * src/onnx/export.h: float format (3), 1e-5 of the sample's largest |logit|; qdq (2),
 * 1e-4 of it plus sixteen code flips' worth at the last layer's input, 16 * s_last *
 * max |W_last|, with s_last the scale of the DequantizeLinear feeding the Gemm that makes
 * "logits" and W_last that Gemm's dequantized weights (codes * steps), read from the
 * exported record. Returns (sampleMaxLogit) => bound.
 */
export function exportBound(record, payload) {
  const tensor = (name) => {
    const t = record.tensors.find((e) => e.name === name);
    const bytes = payload.slice(t.offset, t.offset + t.length);
    return t.type === 'INT8' ? new Int8Array(bytes.buffer) : new Float32Array(bytes.buffer);
  };
  const producer = (name) => record.nodes.find((n) => n.outputs.includes(name));
  const gemm = producer('logits');
  const [input, weight] = [producer(gemm.inputs[0]), producer(gemm.inputs[1])];
  if (input?.op !== 'DequantizeLinear' || weight?.op !== 'DequantizeLinear') return (m) => 1e-5 * m;
  const [sLast] = tensor(input.inputs[1]);
  const codes = tensor(weight.inputs[0]), steps = tensor(weight.inputs[1]);
  const channels = codes.length / (record.tensors.find((e) => e.name === weight.inputs[0]).dims[0]);
  let wMax = 0;
  for (let i = 0; i < codes.length; i++) wMax = Math.max(wMax, Math.abs(codes[i] * steps[steps.length === 1 ? 0 : i % channels]));
  return (m) => 1e-4 * m + 16 * sLast * wMax;
}

/**
 * Runs exported `bytes` in onnxruntime-web on `x` and checks it against qforget's `logits`:
 * max |diff| <= bound × max|logit|, and the same argmax on >= 99.9 % of the samples whose
 * top-2 gap is more than twice that (closer pairs may swap within the bound).
 */
export async function checkExport(t, what, bytes, x, inputShape, logits, classes, { trained = false } = {}) {
  const { record, payload } = decodeOnnx(bytes);
  assert.equal(record.outputs.length, 1, `${what}: one output`);
  assert.match(record.producer, /^qforget /, `${what}: the producer`);
  const input = asGraphInput(record.inputs[0], x, inputShape);
  const outputs = await runOrt(bytes, input.x, input.shape);
  const theirs = outputs[record.outputs[0].name];
  const bound = exportBound(record, payload);
  // Per sample: within the bound (>= 99 % of samples), and the same class wherever the top
  // two logits are more than twice the bound apart (all of those).
  const n = logits.length / classes;
  let within = 0, counted = 0, agree = 0, same = 0, worst = 0;
  for (let r = 0; r < n; r++) {
    const ours = logits.subarray(r * classes, (r + 1) * classes), ort = theirs.subarray(r * classes, (r + 1) * classes);
    const b = bound(maxAbs(ours));
    const diff = maxDiff(ort, ours);
    worst = Math.max(worst, diff / b);
    if (diff <= b) within++;
    if (argmax(ours) === argmax(ort)) same++;
    const sorted = [...ours].sort((p, q) => q - p);
    if (sorted[0] - sorted[1] > 2 * b) {
      counted++;
      if (argmax(ours) === argmax(ort)) agree++;
    }
  }
  t.diagnostic(`${what}: ${within}/${n} samples within the bound (worst ${worst.toFixed(2)} of it); argmax equal on ${same}/${n}, and on ${agree}/${counted} clear samples`);
  // A trained model on its test inputs: the same class on >= 99.9 % of them (an untrained
  // one has near-ties everywhere, which the clear-sample check above covers).
  if (trained) assert.ok(same >= 0.999 * n, `${what}: argmax equal on ${same} of ${n} samples, under 99.9 %`);
  assert.ok(within >= 0.99 * n, `${what}: ${n - within} of ${n} samples past the bound (worst ${worst.toFixed(2)} of it)`);
  assert.equal(agree, counted, `${what}: argmax differs on a sample whose top two logits are more than twice the bound apart`);
}
