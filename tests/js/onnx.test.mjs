// ONNX import and export. The format translation of web/onnx.js (ONNX protobuf <-> the graph
// record, docs in web/onnx.js): round trips, and every generated model (./onnx_models.mjs,
// built with onnx-proto, independent of qforget) decoding to what was built. Then through
// the real wasm builds: qf.importOnnx against onnxruntime-web on the same inputs, model.toOnnx
// run in onnxruntime-web against model.predict, and import -> fit -> forget -> export.
// Bad input to importOnnx and toOnnx is in the bad-input sweep (bad_input_cases.mjs).
import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';

import { createQforget, liveHandles, QforgetError } from '../../web/index.js';
import { decodeOnnx, encodeOnnx } from '../../web/onnx.js';
import { createQforgetWorker } from '../../web/worker.js';
import { asGraphInput, checkExport, maxAbs, maxDiff } from './onnx_checks.mjs';
import { editModel, generateFloatModel, generateModels, MODEL_SPECS, random, randomInputs, runOrt } from './onnx_models.mjs';
import { synthetic } from './synthetic.mjs';

afterEach(() => assert.equal(liveHandles(), 0, 'every wasm object was released'));

const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);

let models;  // every generated model, built once
before(async () => {
  models = await generateModels();
});

// ---- helpers ------------------------------------------------------------------------------

function softmaxRows(logits, classes) {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    for (let c = 0; c < classes; c++) out[r * classes + c] = e[c] / sum;
  }
  return out;
}

// The record with each tensor attribute naming its tensor rather than its index.
function byName(record) {
  return record.nodes.map((n) => ({
    ...n,
    attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, v.t === undefined ? v : { t: record.tensors[v.t].name }])),
  }));
}

// Float attributes as float32 holds them (what a decoded file gives back).
const float32Attrs = (nodes) => nodes.map((n) => ({
  ...n,
  attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k,
    v.f !== undefined ? { f: Math.fround(v.f) } : v.floats ? { floats: v.floats.map(Math.fround) } : v])),
}));

// ---- format translation (no engine) ---------------------------------------------------------

// A record of every kind the contract has: attribute kinds, tensor types, dims as numbers,
// names and unknown, an absent optional input; tensors in the order a decode lists them
// (initializers, then attribute tensors in node order).
function sampleRecord() {
  const sections = [];
  let length = 0;
  const tensor = (name, type, dims, bytes, initializer = true) => {
    length = (length + 7) & ~7;
    sections.push([length, bytes]);
    const t = { name, type, dims, initializer, offset: length, length: bytes.length, external: false };
    length += bytes.length;
    return t;
  };
  const f32 = (values) => new Uint8Array(Float32Array.from(values).buffer);
  const tensors = [
    tensor('w', 'FLOAT', [2, 3], f32([1, -2, 3.5, 0, 1e-3, -7])),
    tensor('q', 'INT8', [3], new Uint8Array([0x80, 0x00, 0x7f])),
    tensor('z', 'UINT8', [], new Uint8Array([7])),
    tensor('big', 'INT64', [2], new Uint8Array(new BigInt64Array([-1n, 2n ** 52n]).buffer)),
    tensor('empty', 'FLOAT', [0], new Uint8Array(0)),
    tensor('const_value', 'INT32', [1], new Uint8Array(new Int32Array([-5]).buffer), false),
  ];
  const payload = new Uint8Array(length);
  for (const [offset, bytes] of sections) payload.set(bytes, offset);
  const record = {
    irVersion: 8,
    opsets: { '': 13, 'com.microsoft': 1 },
    producer: 'qforget 1.0.0',
    graphName: 'sample',
    inputs: [{ name: 'x', type: 'FLOAT', shape: ['batch', 3, null] }, { name: 'scalar', type: 'INT64', shape: [] }, { name: 'unknown', type: 'FLOAT16', shape: null }],
    outputs: [{ name: 'y', type: 'FLOAT', shape: ['batch', 2] }],
    tensors,
    nodes: [
      { name: 'c', op: 'Constant', domain: '', inputs: [], outputs: ['k'], attrs: { value: { t: 5 } } },
      {
        name: 'g', op: 'Gemm', domain: '', inputs: ['x', 'w', ''], outputs: ['y'],
        attrs: { alpha: { f: 0.5 }, transB: { i: 1 }, big: { i: -(2 ** 40) }, mode: { s: 'constant ü' }, ints: { ints: [1, -1, 0] }, floats: { floats: [0.25, -3] }, strings: { strings: ['a', ''] }, none: { ints: [] } },
      },
      { name: 'q', op: 'QGemm', domain: 'com.microsoft', inputs: ['y'], outputs: ['y2'], attrs: {} },
    ],
  };
  return { record, payload };
}

describe('ONNX format translation (web/onnx.js)', () => {
  it('decode(encode(record)) gives back the record: every attribute kind, tensor types, named and unknown dims', () => {
    const { record, payload } = sampleRecord();
    const bytes = encodeOnnx({ json: JSON.stringify(record), payload });
    assert.ok(bytes instanceof Uint8Array);
    const decoded = decodeOnnx(bytes);
    assert.deepEqual(decoded.record, record);
    assert.deepEqual(JSON.parse(decoded.json), record);
    assert.deepEqual(decoded.payload, payload);
    // The object form of json encodes the same bytes.
    assert.deepEqual(encodeOnnx({ json: record, payload }), bytes);
  });

  it('lays every tensor out at a multiple of 8 in the payload', () => {
    for (const m of models) {
      const { record, payload } = decodeOnnx(m.bytes);
      let end = 0;
      for (const t of record.tensors) {
        assert.equal(t.offset % 8, 0, `${m.name}: ${t.name} at ${t.offset}`);
        assert.ok(t.offset >= end, `${m.name}: ${t.name} does not overlap the one before`);
        end = t.offset + t.length;
      }
      assert.equal(payload.length, end, `${m.name}: the payload ends with the last tensor`);
    }
  });

  it('every generated model decodes to the graph it was built as (raw_data and typed fields alike)', () => {
    assert.deepEqual(models.map((m) => m.name), Object.keys(MODEL_SPECS));
    for (const m of models) {
      const { record, payload } = decodeOnnx(m.bytes);
      assert.equal(record.irVersion, m.opset >= 13 ? 7 : 4, m.name);
      assert.deepEqual(record.opsets, { '': m.opset }, m.name);
      assert.equal(record.producer, 'qforget-tests onnx_models.mjs', m.name);
      assert.equal(record.graphName, m.name);
      assert.deepEqual(record.inputs, [{ name: record.inputs[0].name, type: 'FLOAT', shape: ['N', ...m.inputShape] }], m.name);
      assert.deepEqual(record.outputs, [{ name: m.output, type: 'FLOAT', shape: ['N', m.numClasses] }], m.name);
      assert.deepEqual(byName(record), float32Attrs(m.built.nodes), `${m.name}: nodes`);
      assert.equal(record.tensors.length, m.built.tensors.length, `${m.name}: as many tensors`);
      for (const built of m.built.tensors) {
        const t = record.tensors.find((r) => r.name === built.name);
        assert.ok(t, `${m.name}: tensor ${built.name}`);
        assert.deepEqual({ type: t.type, dims: t.dims, initializer: t.initializer, external: t.external }, { type: built.type, dims: built.dims, initializer: built.initializer, external: false }, `${m.name}: ${built.name}`);
        assert.deepEqual(payload.subarray(t.offset, t.offset + t.length), built.bytes, `${m.name}: the bytes of ${built.name}`);
      }
    }
    // The typed-field models exercise float_data, int32_data and int64_data.
    assert.ok(models.some((m) => MODEL_SPECS[m.name].typed));
  });

  it('encode(decode(file)) is a file onnxruntime-web runs with the same outputs', async () => {
    for (const m of models) {
      const again = encodeOnnx(decodeOnnx(m.bytes));
      assert.deepEqual(decodeOnnx(again).record, decodeOnnx(m.bytes).record, `${m.name}: decodes alike`);
      const x = randomInputs(m.inputShape, 5, 3);
      const [a, b] = await Promise.all([runOrt(m.bytes, x, m.inputShape), runOrt(again, x, m.inputShape)]);
      assert.deepEqual(b[m.output], a[m.output], m.name);
    }
  });

  it('refuses what is not an ONNX model; saturates int64 values beyond 2^53', () => {
    const lenet = generateFloatModel('lenet').bytes;
    const next = random(5);
    const junk = Uint8Array.from({ length: 64 }, () => Math.floor(next() * 256));
    assert.throws(() => decodeOnnx(lenet.subarray(0, lenet.length >> 1)), isError('DATA_LOSS', /not a valid ONNX protobuf/));
    assert.throws(() => decodeOnnx(junk), isError('DATA_LOSS', /not a valid ONNX protobuf/));
    assert.throws(() => decodeOnnx(new TextEncoder().encode('{"irVersion": 8}')), isError('DATA_LOSS', /not a valid ONNX protobuf/));
    // Field 15 (unknown to ModelProto): a valid protobuf, but no model.
    assert.throws(() => decodeOnnx(new Uint8Array([0x7a, 3, 0x61, 0x62, 0x63])), isError('INVALID_ARGUMENT', /not an ONNX model/));
    assert.throws(() => decodeOnnx(editModel(lenet, (m) => { m.graph = null; })), isError('INVALID_ARGUMENT', /not an ONNX model/));
    assert.throws(() => decodeOnnx(new Uint8Array(0)), isError('INVALID_ARGUMENT', /empty/));
    assert.throws(() => decodeOnnx(Array.from(lenet)), isError('INVALID_ARGUMENT', /bytes must be a Uint8Array/));
    const huge = editModel(lenet, (m) => {
      m.graph.node.find((n) => n.opType === 'Conv').attribute.find((a) => a.name === 'pads').ints = [2 ** 60, 0, 0, 0];
    });
    // Beyond 2^53 (in files only as INT64_MAX "to the end" sentinels): saturated.
    assert.deepEqual(decodeOnnx(huge).record.nodes.find((n) => n.op === 'Conv').attrs.pads, { ints: [2 ** 53, 0, 0, 0] });
    const negative = editModel(lenet, (m) => {
      m.graph.node.find((n) => n.opType === 'Conv').attribute.find((a) => a.name === 'pads').ints = [-1, -(2 ** 53) + 1, 0, 0];
    });
    assert.deepEqual(decodeOnnx(negative).record.nodes.find((n) => n.op === 'Conv').attrs.pads, { ints: [-1, -(2 ** 53) + 1, 0, 0] });
    // External data: no bytes, marked.
    const external = editModel(lenet, (m, onnx) => {
      const t = m.graph.initializer[0];
      t.rawData = new Uint8Array(0);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [{ key: 'location', value: 'weights.bin' }];
    });
    assert.deepEqual(decodeOnnx(external).record.tensors[0], { ...decodeOnnx(lenet).record.tensors[0], offset: 0, length: 0, external: true });
  });

  it('encodeOnnx refuses a record that does not hold together', () => {
    const { record, payload } = sampleRecord();
    assert.throws(() => encodeOnnx({ json: { ...record, nodes: 'none' }, payload }), isError('INVALID_ARGUMENT', /nodes must be an array/));
    assert.throws(() => encodeOnnx({ json: record, payload: payload.subarray(0, 8) }), isError('INVALID_ARGUMENT', /outside the payload/));
    assert.throws(() => encodeOnnx({ json: { ...record, tensors: [{ ...record.tensors[0], type: 'FLOAT99' }] }, payload }), isError('INVALID_ARGUMENT', /unknown tensor type "FLOAT99"/));
    const badAttr = { ...record, nodes: [{ ...record.nodes[1], attrs: { g: { unsupported: 'GRAPH' } } }] };
    assert.throws(() => encodeOnnx({ json: badAttr, payload }), isError('INVALID_ARGUMENT', /cannot be written/));
  });
});

// ---- through the engine ---------------------------------------------------------------------

// The built-in architectures exported, each on a small input (NHWC pixels, as createModel takes them).
const BUILT_IN = [
  { arch: 'mlp', inputShape: [12, 12, 1] },
  { arch: 'lenet', inputShape: [12, 12, 1] },
  { arch: 'resnet8', inputShape: [16, 16, 3] },
  { arch: 'mobilenetv2', inputShape: [16, 16, 3] },
];
const EXPORT_SAMPLES = 1000;

for (const simd of [true, false]) {
  describe(`ONNX through the engine (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    let qf;
    before(async () => {
      qf = await createQforget({ simd });
    });

    it('import: each generated model predicts what onnxruntime-web computes (within 1e-4 of the largest |logit|)', async (t) => {
      for (const m of models) {
        // A float graph at 32 bits is the float model as written; a QDQ graph keeps its grid
        // (the default), and onnxruntime runs it node by node (float fake quantization).
        const model = await qf.importOnnx(m.bytes, m.qdq ? {} : { weightBits: 32 });
        try {
          assert.deepEqual(model.inputShape, m.inputShape, `${m.name}: samples as the graph takes them (NCHW)`);
          assert.equal(model.inputType, 'float32', m.name);
          assert.equal(model.numClasses, m.numClasses, m.name);
          const x = randomInputs(m.inputShape, 64, 11);
          const reference = (await runOrt(m.bytes, x, m.inputShape, { optimize: m.qdq ? 'disabled' : 'all' }))[m.output];
          const logits = model.predict(x);
          // A trailing Softmax is dropped by the import (the model predicts logits); a QDQ
          // graph's output pair too (qforget's logits are put on its grid here).
          const grid = m.qdq ? outputGrid(m) : null;
          const ours = m.softmax ? softmaxRows(logits, m.numClasses) : grid ? grid.quantize(logits) : logits;
          const scale = maxAbs(reference);
          const diff = maxDiff(ours, reference);
          t.diagnostic(`${m.name}: max |diff| ${diff.toExponential(2)} of max |output| ${scale.toFixed(3)}`);
          // QDQ: a logit that lands within float error of a tie of the output grid rounds
          // to either neighbour, one step of it apart.
          const outputStep = grid ? grid.scale : 0;
          assert.ok(diff <= 1e-4 * scale + outputStep, `${m.name}: max |diff| ${diff} > 1e-4 × ${scale}${m.qdq ? ` + ${outputStep}` : ''}`);
        } finally {
          model.dispose();
        }
      }
    });

    it('import: the model reports what it made of the graph', async () => {
      const m = models.find((g) => g.name === 'lenet_softmax');
      const model = await qf.importOnnx(m.bytes);
      try {
        const report = model.imported;
        assert.ok(Object.isFrozen(report), 'the report is read-only');
        assert.equal(report.producer, 'qforget-tests onnx_models.mjs');
        assert.equal(report.opset, 13);
        assert.match(JSON.stringify(report.dropped), /Softmax/, 'the trailing Softmax is reported as dropped');
        assert.throws(() => { model.imported = null; }, TypeError);
      } finally {
        model.dispose();
      }
      const created = qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4 });
      assert.equal(created.imported, null);
      created.dispose();
    });

    it('export: every built-in architecture at 2, 4, 8 and 32 bits runs in onnxruntime-web as qforget predicts it', async (t) => {
      for (const { arch, inputShape } of BUILT_IN) {
        for (const weightBits of [2, 4, 8, 32]) {
          const model = qf.createModel({ arch, inputShape, numClasses: 10, weightBits, seed: 7 });
          try {
            // The 12x12x1 archs learn the synthetic images and are checked on their test
            // inputs; the others train one short epoch on random images (a quantized model
            // exports once its input steps are learned).
            const learnable = inputShape.join() === '12,12,1';
            const next = random(weightBits * 131 + inputShape[2]);
            const noise = (n) => ({ x: Uint8Array.from({ length: n * inputShape.reduce((a, b) => a * b, 1) }, () => Math.floor(next() * 256)),
                                    y: Uint8Array.from({ length: n }, (_, i) => i % 10), shape: [n, ...inputShape] });
            const train = learnable ? synthetic(600, weightBits) : noise(128);
            const { x } = learnable ? synthetic(EXPORT_SAMPLES, 1000 + weightBits) : noise(EXPORT_SAMPLES);
            await model.fit(train, { epochs: learnable ? 4 : 1, batchSize: 32, seed: 1 });
            const logits = model.predict(x);
            const format = weightBits === 32 ? 'float' : 'qdq';
            await checkExport(t, `${arch} ${weightBits}-bit ${format}`, await model.toOnnx({ format }), x, inputShape, logits, 10, { trained: learnable });
            if (weightBits < 32) {
              // The float form of a quantized model (dequantized weights, activations not
              // quantized) approximates it: onnxruntime loads and runs it.
              const bytes = await model.toOnnx({ format: 'float' });
              const { record } = decodeOnnx(bytes);
              assert.ok(!record.nodes.some((n) => n.op === 'QuantizeLinear'), 'no activation quantization in the float format');
              const input = asGraphInput(record.inputs[0], x.subarray(0, x.length / EXPORT_SAMPLES), inputShape);
              const out = await runOrt(bytes, input.x, input.shape);
              assert.equal(out[record.outputs[0].name].length, 10);
            }
          } finally {
            model.dispose();
          }
        }
      }
    });

    it('export: each imported generated model runs in onnxruntime-web as qforget predicts it', async (t) => {
      for (const m of models) {
        const model = await qf.importOnnx(m.bytes, m.qdq ? {} : { weightBits: 32 });
        try {
          const x = randomInputs(m.inputShape, EXPORT_SAMPLES, 17);
          const logits = model.predict(x);
          const format = m.qdq ? 'qdq' : 'float';
          await checkExport(t, `${m.name} ${format}`, await model.toOnnx({ format }), x, m.inputShape, logits, m.numClasses);
        } finally {
          model.dispose();
        }
      }
    });

    it('import -> fit 1 epoch at 4 bits -> forget (Q-MUL) -> export -> onnxruntime-web runs it', async (t) => {
      const m = models.find((g) => g.name === 'lenet');
      const model = await qf.importOnnx(m.bytes, { weightBits: 4, seed: 1 });
      try {
        const n = 96;
        const x = randomInputs(m.inputShape, n, 23);
        const y = Uint8Array.from({ length: n }, (_, i) => i % m.numClasses);
        const pick = (from, to) => ({ x: x.slice(from * 144, to * 144), y: y.slice(from, to), shape: [to - from, ...m.inputShape] });
        const history = await model.fit(pick(0, n), { epochs: 1, batchSize: 16, seed: 1 });
        assert.equal(history.length, 1);
        const receipt = await model.forget(pick(0, 8), { retain: pick(8, n), method: 'qmul', epochs: 1, seed: 1 });
        assert.equal(receipt.forgotten, 8);
        const probe = randomInputs(m.inputShape, EXPORT_SAMPLES, 29);
        const bytes = await model.toOnnx();
        await checkExport(t, 'lenet imported, fitted, forgotten', bytes, probe, m.inputShape, model.predict(probe), m.numClasses);
      } finally {
        model.dispose();
      }
    });

    it("a pixel model's own export imports back: UINT8 input and preprocess absorbed, the same classes (QDQ)", async () => {
      const model = qf.createModel({ arch: 'lenet', inputShape: [12, 12, 1], numClasses: 10, weightBits: 4, seed: 3 });
      const next = random(41);
      const n = 200;
      const x = Uint8Array.from({ length: n * 144 }, () => Math.floor(next() * 256));
      await model.fit({ x, y: Uint8Array.from({ length: n }, (_, i) => i % 10), shape: [n, 12, 12, 1] }, { epochs: 1, seed: 1 });
      const back = await qf.importOnnx(await model.toOnnx());
      try {
        assert.deepEqual([back.inputShape, back.inputType, back.inputLayout], [[12, 12, 1], 'uint8', 'nhwc']);
        assert.deepEqual(back.describe().preprocess, { scale: 1 / 255 }, 'plain pixels again: 1/255 exactly');
        assert.deepEqual(back.imported.dropped.map((d) => d.op), ['Cast', 'Mul', 'Transpose', 'QuantizeLinear', 'Transpose']);
        const argmax = (logits) => Array.from({ length: n }, (_, i) => { const row = logits.subarray(i * 10, (i + 1) * 10); return row.indexOf(Math.max(...row)); });
        assert.deepEqual(argmax(back.predict(x)), argmax(model.predict(x)));
        await assert.rejects(qf.importOnnx(await model.toOnnx(), { preprocess: { scale: 0.5 } }), isError('INVALID_ARGUMENT', /preprocesses them itself/));
        await assert.rejects(qf.importOnnx(await model.toOnnx(), { inputType: 'float32' }), isError('INVALID_ARGUMENT', /UINT8 pixels/));
      } finally {
        back.dispose();
        model.dispose();
      }
    });

    it('the worker proxies importOnnx and toOnnx', async () => {
      const worker = await createQforgetWorker({ simd });
      try {
        const m = models.find((g) => g.name === 'mlp');
        const remote = await worker.importOnnx(m.bytes, { weightBits: 32 });
        assert.equal(remote.imported.producer, 'qforget-tests onnx_models.mjs');
        const local = await qf.importOnnx(m.bytes, { weightBits: 32 });
        try {
          const x = randomInputs(m.inputShape, 4, 5);
          assert.deepEqual(await remote.predict(x), local.predict(x));
          assert.deepEqual(await remote.toOnnx({ format: 'float' }), await local.toOnnx({ format: 'float' }));
        } finally {
          local.dispose();
        }
        await assert.rejects(worker.importOnnx(new Uint8Array([1, 2, 3])), isError('DATA_LOSS', /ONNX/));
        await remote.dispose();
        assert.equal(await worker.liveHandles(), 0);
      } finally {
        await worker.terminate();
      }
    });
  });
}

// The scale of a QDQ model's output grid: the QuantizeLinear in front of its output.
/**
 * The output grid of a QDQ model (the scale and zero point of the DequantizeLinear that
 * makes its output), and `logits` put on it as the graph's last QuantizeLinear would
 * (round half to even, saturating to uint8): qforget's model has no output quantizer.
 */
function outputGrid(m) {
  const { record, payload } = decodeOnnx(m.bytes);
  const dq = record.nodes.find((n) => n.outputs.includes(m.output) && n.op === 'DequantizeLinear');
  const bytes = (name) => {
    const t = record.tensors.find((r) => r.name === name);
    return new DataView(payload.buffer, payload.byteOffset + t.offset, t.length);
  };
  const scale = bytes(dq.inputs[1]).getFloat32(0, true), zeroPoint = bytes(dq.inputs[2]).getUint8(0);
  const roundHalfEven = (v) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
  const quantize = (logits) => logits.map((v) => (Math.min(255, Math.max(0, roundHalfEven(v / scale) + zeroPoint)) - zeroPoint) * scale);
  return { scale, quantize };
}
