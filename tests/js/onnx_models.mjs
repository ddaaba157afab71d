// The ONNX test models: small NCHW float networks (MLPs, LeNets, a ResNet, MobileNetV2s)
// and QDQ variants laid out as onnxruntime's static quantizer writes them, built directly
// as ModelProtos with the npm package onnx-proto (not with qforget's exporter, which the
// tests check against them), with seeded random weights. Also runs a model in
// onnxruntime-web (wasm backend, one thread), the reference the fidelity tests compare
// qforget with. Not a test file itself, and no qforget code is used here.
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-web';

const { onnx } = onnxProto;
const { AttributeProto, TensorProto } = onnx;
const DT = TensorProto.DataType;
const AT = AttributeProto.AttributeType;

ort.env.wasm.numThreads = 1;  // before the first session: ORT reads it once
ort.env.logLevel = 'error';

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `n` seeded samples of `shape` ([C, H, W] or [F]) with values in [0, 1), as one Float32Array. */
export function randomInputs(shape, n, seed) {
  const next = random(seed);
  return Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, next);
}

// Attribute values, tagged with their kind as the graph record names them.
export const attr = {
  i: (v) => ({ i: v }),
  f: (v) => ({ f: v }),
  s: (v) => ({ s: v }),
  ints: (v) => ({ ints: v }),
  floats: (v) => ({ floats: v }),
};

const bytesOf = (typed) => new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength).slice();

const TYPED = { FLOAT: Float32Array, INT8: Int8Array, UINT8: Uint8Array, INT32: Int32Array, INT64: BigInt64Array };

// A typed array of `type` holding the numbers `values`.
const typedArray = (type, values) => (values instanceof TYPED[type] ? values : TYPED[type].from(values, type === 'INT64' ? BigInt : Number));

/**
 * One ONNX graph under construction. Keeps, besides the protobuf messages, what was built
 * in the graph record's terms (`built`: tensors with their bytes, nodes with their
 * attributes, a tensor attribute by the tensor's name) so tests can compare a decoded
 * record with it. `typed`: write initializers into the typed fields (float_data,
 * int32_data, int64_data) instead of raw_data, as some exporters do.
 */
class GraphBuilder {
  constructor({ name, seed, opset = 13, typed = false }) {
    this.name = name;
    this.opset = opset;
    this.typed = typed;
    this.next = random(seed);
    this.count = new Map();
    this.inputs = [];
    this.outputs = [];
    this.initializers = [];
    this.nodes = [];
    this.built = { tensors: [], nodes: [] };
  }

  // A new name: numbered per prefix, so that a QDQ build names the float build's tensors alike.
  fresh(prefix) {
    const k = this.count.get(prefix) ?? 0;
    this.count.set(prefix, k + 1);
    return `${prefix}_${k}`;
  }

  // A TensorProto of `type` ('FLOAT', 'INT8', ...) holding the typed array `data`.
  tensor(name, type, dims, data, typed = this.typed) {
    const t = { name, dataType: DT[type], dims };
    if (!typed) t.rawData = bytesOf(data);
    else if (type === 'FLOAT') t.floatData = Array.from(data);
    else if (type === 'INT64') t.int64Data = Array.from(data, Number);
    else t.int32Data = Array.from(data);  // INT8, UINT8, INT32: one value per int32
    return TensorProto.create(t);
  }

  // A float tensor's ValueInfoProto; `dims` null: shape unknown.
  static valueInfo(name, dims) {
    const tensorType = { elemType: DT.FLOAT };
    if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) };
    return { name, type: { tensorType } };
  }

  input(name, dims) {
    this.inputs.push(GraphBuilder.valueInfo(name, dims));
    return name;
  }

  output(name, dims) {
    this.outputs.push(GraphBuilder.valueInfo(name, dims));
  }

  init(prefix, type, dims, data) {
    const name = this.fresh(prefix);
    const typedData = typedArray(type, data);
    this.initializers.push(this.tensor(name, type, dims, typedData));
    this.built.tensors.push({ name, type, dims, initializer: true, bytes: bytesOf(typedData) });
    return name;
  }

  /** Seeded uniform weights in [-a, a), a = sqrt(6 / fanIn) (He-uniform scaled for ReLU nets). */
  weights(prefix, dims, fanIn) {
    const a = Math.sqrt(6 / fanIn);
    const values = Float32Array.from({ length: dims.reduce((x, y) => x * y, 1) }, () => (2 * this.next() - 1) * a);
    return { values, name: prefix };
  }

  node(op, inputs, attrs = {}, outputs = [this.fresh(op.toLowerCase())]) {
    const name = this.fresh(`${op}`);
    const attribute = Object.entries(attrs).map(([key, value]) => {
      const [kind] = Object.keys(value);
      const v = value[kind];
      if (kind === 't') return { name: key, type: AT.TENSOR, t: this.tensor(v.name, v.type, v.dims, v.data, false) };
      if (kind === 's') return { name: key, type: AT.STRING, s: new TextEncoder().encode(v) };
      return { name: key, type: { i: AT.INT, f: AT.FLOAT, ints: AT.INTS, floats: AT.FLOATS }[kind], [kind]: v };
    });
    this.nodes.push({ name, opType: op, input: inputs, output: outputs, attribute });
    const recordAttrs = {};
    for (const [key, value] of Object.entries(attrs)) {
      if (value.t) {
        this.built.tensors.push({ name: value.t.name, type: value.t.type, dims: value.t.dims, initializer: false, bytes: bytesOf(value.t.data) });
        recordAttrs[key] = { t: value.t.name };
      } else {
        recordAttrs[key] = value;
      }
    }
    this.built.nodes.push({ name, op, domain: '', inputs, outputs, attrs: recordAttrs });
    return outputs.length === 1 ? outputs[0] : outputs;
  }

  /** A Constant node holding `data` (a tensor attribute). */
  constant(type, dims, data) {
    const name = this.fresh('const');
    return this.node('Constant', [], { value: { t: { name: `${name}_value`, type, dims, data: typedArray(type, data) } } }, [name]);
  }

  toBytes(producer = 'qforget-tests onnx_models.mjs') {
    const model = onnx.ModelProto.create({
      irVersion: this.opset >= 13 ? 7 : 4,
      producerName: producer.split(' ')[0],
      producerVersion: producer.split(' ').slice(1).join(' '),
      opsetImport: [{ domain: '', version: this.opset }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(onnx.ModelProto.fromObject(onnx.ModelProto.toObject(model))).finish();
  }
}

// ---- layers, float or QDQ ------------------------------------------------------------------

// Per-tensor activation quantization as onnxruntime's MinMax calibrator sets it: the range
// widened to hold 0, uint8, scale (max - min) / 255, zero point round(-min / scale).
function activationGrid([min, max]) {
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = (hi - lo) / 255 || 1;
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

/**
 * Layers on a GraphBuilder. With `ranges` (tensor name -> [min, max], from a calibration
 * run of the float model) they are written in QDQ form, as onnxruntime's static
 * quantizer (QuantFormat.QDQ, per-channel) writes them: weights int8 initializers with
 * per-output-channel scales (symmetric, zero point 0) behind a DequantizeLinear, biases
 * int32 at scale input-scale × weight-scale behind a DequantizeLinear, and activations
 * (graph input, ReLU/Clip outputs, residual sums, the logits) through a QuantizeLinear and
 * a DequantizeLinear (uint8; zero point 0 after a ReLU). Without `ranges`, `calibrate`
 * collects the names of the tensors a QDQ build quantizes.
 */
class Layers {
  constructor(g, ranges = null) {
    this.g = g;
    this.ranges = ranges;
    this.calibrate = [];
    this.scales = new Map();  // activation tensor -> its quantization scale (QDQ builds)
  }

  // The activation `x` through QuantizeLinear + DequantizeLinear (QDQ builds).
  act(x) {
    if (!this.ranges) {
      this.calibrate.push(x);
      return x;
    }
    const range = this.ranges.get(x);
    if (!range) throw new Error(`no calibration range for ${x}`);
    const { scale, zeroPoint } = activationGrid(range);
    const s = this.g.init(`${x}_scale`, 'FLOAT', [], [scale]);
    const z = this.g.init(`${x}_zero_point`, 'UINT8', [], [zeroPoint]);
    const q = this.g.node('QuantizeLinear', [x, s, z], {}, [`${x}_quantized`]);
    const dq = this.g.node('DequantizeLinear', [q, s, z], {}, [`${x}_dequantized`]);
    this.scales.set(dq, scale);
    return dq;
  }

  // Output `y` keeps the scale of `x` (shape ops, max pooling).
  same(x, y) {
    if (this.scales.has(x)) this.scales.set(y, this.scales.get(x));
    return y;
  }

  // A weight initializer; in QDQ builds int8 per channel along `axis` behind a DequantizeLinear.
  weight(prefix, dims, fanIn, axis = 0) {
    const { values } = this.g.weights(prefix, dims, fanIn);
    if (!this.ranges) return { name: this.g.init(prefix, 'FLOAT', dims, values), scales: null };
    const channels = dims[axis];
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const channelOf = (i) => Math.floor(i / inner) % channels;
    const maxAbs = new Float32Array(channels);
    values.forEach((v, i) => (maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)], Math.abs(v))));
    const scales = Float32Array.from(maxAbs, (m) => m / 127 || 1);
    const q = Int8Array.from(values, (v, i) => Math.max(-127, Math.min(127, Math.round(v / scales[channelOf(i)]))));
    const qName = this.g.init(`${prefix}_quantized`, 'INT8', dims, q);
    const s = this.g.init(`${prefix}_scale`, 'FLOAT', [channels], scales);
    const z = this.g.init(`${prefix}_zero_point`, 'INT8', [channels], new Int8Array(channels));
    return { name: this.g.node('DequantizeLinear', [qName, s, z], { axis: attr.i(axis) }, [`${prefix}_dequantized`]), scales };
  }

  // A bias initializer; in QDQ builds int32 at scale inputScale × weightScale[c].
  bias(prefix, n, input, weightScales) {
    const values = Float32Array.from({ length: n }, () => (2 * this.g.next() - 1) * 0.1);
    if (!this.ranges) return this.g.init(prefix, 'FLOAT', [n], values);
    const inputScale = this.scales.get(input);
    if (inputScale === undefined) throw new Error(`the input ${input} of ${prefix} is not quantized`);
    const scales = Float32Array.from(weightScales, (w) => inputScale * w);
    const q = Int32Array.from(values, (v, c) => Math.round(v / scales[c]));
    const qName = this.g.init(`${prefix}_quantized`, 'INT32', [n], q);
    const s = this.g.init(`${prefix}_scale`, 'FLOAT', [n], scales);
    const z = this.g.init(`${prefix}_zero_point`, 'INT32', [n], new Int32Array(n));
    return this.g.node('DequantizeLinear', [qName, s, z], { axis: attr.i(0) }, [`${prefix}_dequantized`]);
  }

  input(name, shape) {
    return this.act(this.g.input(name, ['N', ...shape]));
  }

  conv(x, cin, cout, k, { stride = 1, pad = 0, group = 1, bias = true } = {}) {
    const w = this.weight(this.g.fresh('conv_weight'), [cout, cin / group, k, k], (cin / group) * k * k);
    const inputs = [x, w.name];
    if (bias) inputs.push(this.bias(this.g.fresh('conv_bias'), cout, x, w.scales));
    return this.g.node('Conv', inputs, {
      dilations: attr.ints([1, 1]), group: attr.i(group), kernel_shape: attr.ints([k, k]),
      pads: attr.ints([pad, pad, pad, pad]), strides: attr.ints([stride, stride]),
    });
  }

  // torch.nn.Linear as torch exports it: Gemm with transB = 1 (weight [out, in]).
  gemm(x, nIn, nOut) {
    const w = this.weight(this.g.fresh('fc_weight'), [nOut, nIn], nIn, 0);
    const b = this.bias(this.g.fresh('fc_bias'), nOut, x, w.scales);
    return this.g.node('Gemm', [x, w.name, b], { alpha: attr.f(1), beta: attr.f(1), transB: attr.i(1) });
  }

  // The same layer as MatMul (weight [in, out]) + Add.
  matmulAdd(x, nIn, nOut) {
    const w = this.weight(this.g.fresh('fc_weight'), [nIn, nOut], nIn, 1);
    const y = this.g.node('MatMul', [x, w.name]);
    return this.g.node('Add', [y, this.bias(this.g.fresh('fc_bias'), nOut, x, w.scales)]);
  }

  batchNorm(x, c) {
    const n = this.g.next;
    const p = (prefix, f) => this.g.init(this.g.fresh(prefix), 'FLOAT', [c], Float32Array.from({ length: c }, f));
    const inputs = [x, p('bn_scale', () => 0.5 + n()), p('bn_bias', () => n() - 0.5), p('bn_mean', () => 0.2 * (n() - 0.5)), p('bn_var', () => 0.5 + n())];
    return this.g.node('BatchNormalization', inputs, { epsilon: attr.f(1e-5), momentum: attr.f(0.9) });
  }

  relu(x) {
    return this.act(this.g.node('Relu', [x]));
  }

  // ReLU6: Clip(0, 6) with min/max as inputs (opset 11+) or as attributes (opset 6-10).
  relu6(x) {
    if (this.g.opset >= 11) {
      const lo = this.g.init('clip_min', 'FLOAT', [], [0]);
      const hi = this.g.init('clip_max', 'FLOAT', [], [6]);
      return this.act(this.g.node('Clip', [x, lo, hi]));
    }
    return this.act(this.g.node('Clip', [x], { max: attr.f(6), min: attr.f(0) }));
  }

  maxPool(x, k) {
    return this.same(x, this.g.node('MaxPool', [x], { kernel_shape: attr.ints([k, k]), pads: attr.ints([0, 0, 0, 0]), strides: attr.ints([k, k]) }));
  }

  globalAveragePool(x) {
    return this.act(this.g.node('GlobalAveragePool', [x]));
  }

  flatten(x) {
    return this.same(x, this.g.node('Flatten', [x], { axis: attr.i(1) }));
  }

  // x.view(x.size(0), -1) as torch exports it: Shape -> Gather(0) -> Unsqueeze -> Concat
  // with [-1] -> Reshape (opset 13: Unsqueeze's axes is an input).
  torchFlatten(x) {
    const shape = this.g.node('Shape', [x]);
    const batch = this.g.node('Gather', [shape, this.g.constant('INT64', [], [0])], { axis: attr.i(0) });
    const unsqueezed = this.g.node('Unsqueeze', [batch, this.g.constant('INT64', [1], [0])]);
    const target = this.g.node('Concat', [unsqueezed, this.g.constant('INT64', [1], [-1])], { axis: attr.i(0) });
    return this.same(x, this.g.node('Reshape', [x, target]));
  }

  add(a, b) {
    return this.act(this.g.node('Add', [a, b]));
  }

  logits(x) {
    return this.act(x);
  }
}

// ---- the models -------------------------------------------------------------------------

// Each architecture: (layers, options) -> the logits tensor; input [C, H, W] or [F].
const ARCHITECTURES = {
  mlp(l) {
    const x = l.flatten(l.input('input', [1, 12, 12]));
    return l.logits(l.gemm(l.relu(l.gemm(x, 144, 32)), 32, 10));
  },
  mlpMatmul(l) {
    const x = l.input('features', [20]);
    return l.logits(l.matmulAdd(l.relu(l.matmulAdd(l.relu(l.matmulAdd(x, 20, 24)), 24, 16)), 16, 6));
  },
  lenet(l, { torchReshape = false } = {}) {
    let x = l.input('input', [1, 12, 12]);
    x = l.maxPool(l.relu(l.conv(x, 1, 4, 3, { pad: 1 })), 2);  // 4 × 6 × 6
    x = l.maxPool(l.relu(l.conv(x, 4, 8, 3)), 2);  // 8 × 2 × 2
    x = torchReshape ? l.torchFlatten(x) : l.flatten(x);
    return l.logits(l.gemm(l.relu(l.gemm(x, 32, 16)), 16, 10));
  },
  resnet(l) {
    let x = l.input('input', [3, 16, 16]);
    x = l.relu(l.batchNorm(l.conv(x, 3, 8, 3, { pad: 1, bias: false }), 8));
    // A block with an identity shortcut.
    let y = l.relu(l.batchNorm(l.conv(x, 8, 8, 3, { pad: 1, bias: false }), 8));
    y = l.batchNorm(l.conv(y, 8, 8, 3, { pad: 1, bias: false }), 8);
    x = l.relu(l.add(y, x));
    // A block that halves the resolution, with a 1×1 convolution shortcut.
    y = l.relu(l.batchNorm(l.conv(x, 8, 16, 3, { stride: 2, pad: 1, bias: false }), 16));
    y = l.batchNorm(l.conv(y, 16, 16, 3, { pad: 1, bias: false }), 16);
    const shortcut = l.batchNorm(l.conv(x, 8, 16, 1, { stride: 2, bias: false }), 16);
    x = l.relu(l.add(y, shortcut));  // 16 × 8 × 8
    return l.logits(l.gemm(l.flatten(l.globalAveragePool(x)), 16, 10));
  },
  mobilenetv2(l) {
    let x = l.input('input', [3, 16, 16]);
    x = l.relu6(l.conv(x, 3, 8, 3, { stride: 2, pad: 1 }));  // 8 × 8 × 8
    // Inverted residual, expansion 2, with its residual Add.
    let y = l.relu6(l.conv(x, 8, 16, 1));
    y = l.relu6(l.conv(y, 16, 16, 3, { pad: 1, group: 16 }));
    y = l.conv(y, 16, 8, 1);
    x = l.add(y, x);
    // Inverted residual with stride 2 (no residual).
    y = l.relu6(l.conv(x, 8, 16, 1));
    y = l.relu6(l.conv(y, 16, 16, 3, { stride: 2, pad: 1, group: 16 }));
    x = l.conv(y, 16, 12, 1);  // 12 × 4 × 4
    x = l.relu6(l.conv(x, 12, 24, 1));
    return l.logits(l.gemm(l.flatten(l.globalAveragePool(x)), 24, 10));
  },
};

/**
 * The generated models, by name: `arch` (an ARCHITECTURES key), its options, the opset,
 * `typed` (initializers in the typed fields), `softmax` (a trailing Softmax after the
 * logits: the graph's output is then probabilities), `qdq` (the QDQ build, calibrated on
 * 32 seeded inputs).
 */
export const MODEL_SPECS = {
  mlp: { arch: 'mlp', inputShape: [1, 12, 12], numClasses: 10 },
  mlp_matmul: { arch: 'mlpMatmul', inputShape: [20], numClasses: 6, typed: true },
  lenet: { arch: 'lenet', inputShape: [1, 12, 12], numClasses: 10 },
  lenet_torch_reshape: { arch: 'lenet', options: { torchReshape: true }, inputShape: [1, 12, 12], numClasses: 10 },
  lenet_softmax: { arch: 'lenet', inputShape: [1, 12, 12], numClasses: 10, softmax: true },
  resnet: { arch: 'resnet', inputShape: [3, 16, 16], numClasses: 10, typed: true },
  mobilenetv2: { arch: 'mobilenetv2', inputShape: [3, 16, 16], numClasses: 10 },
  mobilenetv2_opset9: { arch: 'mobilenetv2', inputShape: [3, 16, 16], numClasses: 10, opset: 9 },
  mlp_qdq: { arch: 'mlp', inputShape: [1, 12, 12], numClasses: 10, qdq: true },
  lenet_qdq: { arch: 'lenet', inputShape: [1, 12, 12], numClasses: 10, qdq: true },
  resnet_qdq: { arch: 'resnet', inputShape: [3, 16, 16], numClasses: 10, qdq: true },
};

// Builds a model of MODEL_SPECS; `extraOutputs` makes the calibration tensors outputs too.
function build(name, spec, ranges, { extraOutputs = false } = {}) {
  const g = new GraphBuilder({ name, seed: [...name.replace(/_qdq$/, '')].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7), opset: spec.opset ?? 13, typed: spec.typed });
  const l = new Layers(g, ranges);
  let y = ARCHITECTURES[spec.arch](l, spec.options);
  if (spec.softmax) y = g.node('Softmax', [y], { axis: attr.i(1) }, ['probabilities']);
  g.output(y, ['N', spec.numClasses]);
  if (extraOutputs) for (const t of l.calibrate) if (t !== y) g.output(t, null);
  return { g, l, output: y };
}

/**
 * Runs ONNX `bytes` in onnxruntime-web on the samples `x` (a Float32Array or a Uint8Array,
 * as the graph's input takes) of `inputShape`; resolves to every output by name.
 * `optimize`: onnxruntime's graphOptimizationLevel ('all' fuses QDQ groups into integer
 * kernels; 'disabled' runs each node as written, QDQ as float fake quantization).
 */
export async function runOrt(bytes, x, inputShape, { optimize = 'all' } = {}) {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: optimize });
  try {
    const n = x.length / inputShape.reduce((a, b) => a * b, 1);
    const type = x instanceof Uint8Array ? 'uint8' : 'float32';
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor(type, x, [n, ...inputShape]) });
    const out = {};
    for (const [name, tensor] of Object.entries(result)) {
      out[name] = tensor.data;
      tensor.dispose();
    }
    return out;
  } finally {
    await session.release();
  }
}

// The description generateModel returns, of a model built with `ranges`.
function describeModel(name, spec, ranges) {
  const { g, output } = build(name, spec, ranges);
  return {
    name, bytes: g.toBytes(), inputShape: spec.inputShape, numClasses: spec.numClasses,
    softmax: !!spec.softmax, qdq: !!spec.qdq, opset: spec.opset ?? 13, output, built: g.built,
  };
}

/** A generated float model (not QDQ: those need a calibration run), synchronously. */
export function generateFloatModel(name) {
  const spec = MODEL_SPECS[name];
  if (!spec || spec.qdq) throw new Error(`no generated float model ${name}`);
  return describeModel(name, spec, null);
}

/**
 * The bytes of ONNX model `bytes` changed by `edit(model)` (a decoded onnx.ModelProto, whose
 * fields it may change in place), encoded again: the broken files of the bad-input tests.
 */
export function editModel(bytes, edit) {
  const model = onnx.ModelProto.decode(bytes);
  edit(model, onnx);
  return onnx.ModelProto.encode(model).finish();
}

/**
 * One generated model: {name, bytes, inputShape, numClasses, softmax, qdq, output (the graph
 * output's name), built (what the builder wrote, in the graph record's terms)}.
 */
export async function generateModel(name) {
  const spec = MODEL_SPECS[name];
  if (!spec) throw new Error(`no generated model ${name}`);
  let ranges = null;
  if (spec.qdq) {
    // Calibration as onnxruntime's MinMax calibrator does it: the float model's range of each
    // tensor to quantize, over seeded inputs.
    const { g, l } = build(name, spec, null, { extraOutputs: true });
    const outputs = await runOrt(g.toBytes(), randomInputs(spec.inputShape, 32, 99), spec.inputShape);
    ranges = new Map(l.calibrate.map((t) => {
      const values = outputs[t];
      let min = Infinity, max = -Infinity;
      for (const v of values) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      return [t, [min, max]];
    }));
  }
  return describeModel(name, spec, ranges);
}

/** Every generated model, in MODEL_SPECS order. */
export async function generateModels() {
  const models = [];
  for (const name of Object.keys(MODEL_SPECS)) models.push(await generateModel(name));
  return models;
}
