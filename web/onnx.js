// ONNX files <-> the graph record the engine reads and writes (src/onnx/). Format
// translation only: no checks of what a graph means, no math; the engine checks sizes, ops
// and shapes. Loaded lazily by index.js and model.js, so the protobuf schema
// (web/dist/onnx_proto.js, bundled from the npm package onnx-proto) is fetched only by
// callers who use ONNX.
//
// The record is one JSON text and one byte payload:
//   {irVersion, opsets: {domain: version} ("" = ai.onnx), producer ("name version"),
//    graphName, inputs: [ValueInfo] (initializers excluded), outputs: [ValueInfo],
//    tensors: [{name, type, dims, initializer, offset, length, external}], nodes (file order):
//    [{name, op, domain, inputs ("" = an absent optional input), outputs,
//      attrs: {name: {i} | {f} | {s} | {t: index into tensors} | {ints} | {floats} |
//                    {strings} | {unsupported: 'GRAPH' | ...}}}]}
//   ValueInfo = {name, type, shape: [number | string (dim_param) | null] | null (unknown)}
//   type: the TensorProto.DataType name ('FLOAT', 'INT8', ...). Tensors: the graph's
//   initializers, then the tensors of attributes in node order; their bytes little-endian,
//   row-major, each at a multiple of 8 in the payload (external ones: none). Integers are
//   JSON numbers: an int64 beyond 2^53 is saturated to ±2^53 (see int64 below).
import { QforgetError, checkArray, invalid } from './errors.js';
import { onnx } from './dist/onnx_proto.js';

const { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, TypeProto, ValueInfoProto } = onnx;
const DataType = TensorProto.DataType;

// Types newer than the schema (ONNX 1.10) knows, so that the engine can name them.
const NEWER_TYPES = { 17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4', 23: 'FLOAT4E2M1' };
const EXTERNAL = TensorProto.DataLocation.EXTERNAL;

const utf8 = new TextDecoder('utf-8');
const toUtf8 = new TextEncoder();

const dataLoss = (message) => new QforgetError('DATA_LOSS', `ONNX: ${message}`);

/** The enum name of a TensorProto.DataType value ('FLOAT', ...; 'UNDEFINED' for 0). */
function typeName(value) {
  return DataType[value] ?? NEWER_TYPES[value] ?? `DATA_TYPE_${value}`;
}

function typeValue(name, where) {
  if (Object.hasOwn(DataType, name)) return DataType[name];
  const newer = Object.entries(NEWER_TYPES).find(([, n]) => n === name);
  if (newer) return Number(newer[0]);
  throw invalid(`ONNX record: ${where}: unknown tensor type ${JSON.stringify(name)}`);
}

/**
 * An int64 field's value as a number: protobufjs gives a number (or a Long, where a page
 * has one globally). Exact up to 2^53; beyond, saturated to ±2^53. Such values occur in
 * real files only as "to the end" sentinels (INT64_MAX in Slice's ends, as older PyTorch
 * exports write them), which mean the same once saturated; anything else that large is
 * refused by the engine as out of range.
 */
function int64(value) {
  let n = value;
  if (typeof value === 'object' && value !== null) {
    const high = value.unsigned ? value.high >>> 0 : value.high | 0;
    n = high * 2 ** 32 + (value.low >>> 0);
  }
  return Math.max(-(2 ** 53), Math.min(2 ** 53, Number(n)));
}

const int64s = (values) => Array.from(values, int64);

// ---- decoding: ModelProto -> record ----------------------------------------------------

/** The bytes of typed `values` at `bytesPerValue`, little-endian, written by `put(view, offset, v)`. */
function packed(values, bytesPerValue, put) {
  const out = new Uint8Array(values.length * bytesPerValue);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) put(view, i * bytesPerValue, values[i]);
  return out;
}

/**
 * A tensor's data as little-endian row-major bytes: raw_data as it is, or the typed field
 * the spec puts that type's values in, re-encoded at the type's natural width.
 */
function tensorBytes(t, where) {
  if (t.rawData?.length) return t.rawData;
  const T = DataType;
  switch (t.dataType) {
    case T.FLOAT:
    case T.COMPLEX64:
      return packed(t.floatData, 4, (v, o, x) => v.setFloat32(o, x, true));
    case T.DOUBLE:
    case T.COMPLEX128:
      return packed(t.doubleData, 8, (v, o, x) => v.setFloat64(o, x, true));
    case T.INT64: {
      const values = int64s(t.int64Data);
      return packed(values, 8, (v, o, x) => v.setBigInt64(o, BigInt(x), true));
    }
    case T.UINT32:
    case T.UINT64: {
      const values = int64s(t.uint64Data);
      const width = t.dataType === T.UINT32 ? 4 : 8;
      return packed(values, width, (v, o, x) => (width === 4 ? v.setUint32(o, x, true) : v.setBigUint64(o, BigInt(x), true)));
    }
    case T.INT32:
      return packed(t.int32Data, 4, (v, o, x) => v.setInt32(o, x, true));
    case T.INT16:
    case T.UINT16:
    case T.FLOAT16:
    case T.BFLOAT16:
      // The 16-bit value (or bit pattern) is in the low half of each int32.
      return packed(t.int32Data, 2, (v, o, x) => v.setUint16(o, x & 0xffff, true));
    case T.STRING:
    case T.UNDEFINED:
      return new Uint8Array(0);
    default:
      // INT8, UINT8, BOOL and the 8-bit (and packed 4-bit) types newer than the schema.
      return packed(t.int32Data, 1, (v, o, x) => v.setUint8(o, x & 0xff));
  }
}

/** The payload under construction: sections appended at multiples of 8. */
class PayloadWriter {
  #chunks = [];
  #length = 0;

  add(bytes) {
    const offset = (this.#length + 7) & ~7;
    if (offset > this.#length) this.#chunks.push(new Uint8Array(offset - this.#length));
    this.#chunks.push(bytes);
    this.#length = offset + bytes.length;
    return offset;
  }

  finish() {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

function valueInfo(v) {
  const tensorType = v.type?.tensorType;
  const shape = tensorType?.shape
    ? tensorType.shape.dim.map((d, i) => {
      if (d.value === 'dimValue') return int64(d.dimValue);
      if (d.value === 'dimParam') return d.dimParam;
      return null;
    })
    : null;
  return { name: v.name, type: typeName(tensorType?.elemType ?? 0), shape };
}

// Which oneof-less attribute field is set, for files that leave AttributeProto.type out.
function attributeKind(a) {
  const T = AttributeProto.AttributeType;
  if (a.type) return a.type;
  for (const [field, kind] of [['f', T.FLOAT], ['i', T.INT], ['s', T.STRING], ['t', T.TENSOR], ['g', T.GRAPH]]) {
    if (Object.hasOwn(a, field) && a[field] !== null) return kind;
  }
  for (const [field, kind] of [['floats', T.FLOATS], ['ints', T.INTS], ['strings', T.STRINGS], ['tensors', T.TENSORS], ['graphs', T.GRAPHS]]) {
    if (a[field]?.length) return kind;
  }
  return T.UNDEFINED;
}

/**
 * Decodes the bytes of an ONNX file (a ModelProto) into the graph record: `json` (the
 * record as JSON text) and `payload` (every tensor's bytes, each section at a multiple
 * of 8). Not a protobuf: DATA_LOSS. A protobuf that is no model (no graph):
 * INVALID_ARGUMENT.
 * @param {Uint8Array} bytes
 * @returns {{json: string, payload: Uint8Array, record: object}}
 */
export function decodeOnnx(bytes) {
  checkArray('bytes', bytes, Uint8Array);
  if (bytes.length === 0) throw invalid('ONNX: the bytes are empty, not a model');
  let model;
  try {
    model = ModelProto.decode(bytes);
  } catch (error) {
    throw dataLoss(`the bytes are not a valid ONNX protobuf (${error?.message ?? error})`);
  }
  if (!model.graph) throw invalid('ONNX: the bytes are a protobuf but not an ONNX model (a ModelProto with a graph)');
  const graph = model.graph;
  const payload = new PayloadWriter();
  const tensors = [];
  const addTensor = (t, initializer, where) => {
    const external = t.dataLocation === EXTERNAL;
    const data = external ? null : tensorBytes(t, where);
    tensors.push({
      name: t.name,
      type: typeName(t.dataType),
      dims: int64s(t.dims),
      initializer,
      offset: external ? 0 : payload.add(data),
      length: external ? 0 : data.length,
      external,
    });
    return tensors.length - 1;
  };

  const initializerNames = new Set();
  graph.initializer.forEach((t, i) => {
    initializerNames.add(t.name);
    addTensor(t, true, `initializer ${JSON.stringify(t.name || i)}`);
  });

  const T = AttributeProto.AttributeType;
  const nodes = graph.node.map((n, k) => {
    const nodeName = `node ${JSON.stringify(n.name || `${n.opType} #${k}`)}`;
    const attrs = {};
    for (const a of n.attribute) {
      const where = `${nodeName} attribute ${JSON.stringify(a.name)}`;
      if (Object.hasOwn(attrs, a.name)) throw dataLoss(`${where} appears twice`);
      const kind = attributeKind(a);
      switch (kind) {
        case T.FLOAT: attrs[a.name] = { f: a.f }; break;
        case T.INT: attrs[a.name] = { i: int64(a.i) }; break;
        case T.STRING: attrs[a.name] = { s: utf8.decode(a.s) }; break;
        case T.TENSOR:
          if (!a.t) throw dataLoss(`${where} is a tensor attribute without a tensor`);
          attrs[a.name] = { t: addTensor(a.t, false, where) };
          break;
        case T.FLOATS: attrs[a.name] = { floats: Array.from(a.floats) }; break;
        case T.INTS: attrs[a.name] = { ints: int64s(a.ints) }; break;
        case T.STRINGS: attrs[a.name] = { strings: a.strings.map((s) => utf8.decode(s)) }; break;
        default: attrs[a.name] = { unsupported: T[kind] ?? `ATTRIBUTE_TYPE_${kind}` };
      }
    }
    return { name: n.name, op: n.opType, domain: n.domain, inputs: [...n.input], outputs: [...n.output], attrs };
  });

  const opsets = {};
  for (const o of model.opsetImport) opsets[o.domain] = int64(o.version);
  const record = {
    irVersion: int64(model.irVersion),
    opsets,
    producer: `${model.producerName} ${model.producerVersion}`.trim(),
    graphName: graph.name,
    inputs: graph.input.filter((v) => !initializerNames.has(v.name)).map(valueInfo),
    outputs: graph.output.map(valueInfo),
    tensors,
    nodes,
  };
  return { json: JSON.stringify(record), payload: payload.finish(), record };
}

// ---- encoding: record -> ModelProto ----------------------------------------------------

function checkRecord(record) {
  const fail = (what) => invalid(`ONNX record: ${what}`);
  if (record === null || typeof record !== 'object') throw fail('not an object');
  for (const key of ['inputs', 'outputs', 'tensors', 'nodes']) {
    if (!Array.isArray(record[key])) throw fail(`${key} must be an array`);
  }
  if (record.opsets === null || typeof record.opsets !== 'object') throw fail('opsets must be an object');
}

function tensorProto(t, payload, where) {
  if (t.external) throw invalid(`ONNX record: ${where} is external; an export writes every tensor's bytes`);
  const end = t.offset + t.length;
  if (!Number.isSafeInteger(t.offset) || !Number.isSafeInteger(t.length) || t.offset < 0 || t.length < 0 || end > payload.length) {
    throw invalid(`ONNX record: ${where}: bytes [${t.offset}, ${end}) are outside the payload of ${payload.length} bytes`);
  }
  return TensorProto.create({
    name: t.name,
    dataType: typeValue(t.type, where),
    dims: t.dims,
    rawData: payload.slice(t.offset, end),
  });
}

function valueInfoProto(v) {
  const dim = (v.shape ?? []).map((d) => {
    if (typeof d === 'number') return { dimValue: d };
    if (typeof d === 'string') return { dimParam: d };
    return {};
  });
  const tensorType = { elemType: typeValue(v.type, `value ${JSON.stringify(v.name)}`) };
  if (v.shape) tensorType.shape = { dim };
  return ValueInfoProto.create({ name: v.name, type: TypeProto.fromObject({ tensorType }) });
}

function attributeProto(name, value, tensors, where) {
  const T = AttributeProto.AttributeType;
  const [kind] = Object.keys(value ?? {});
  const v = value?.[kind];
  switch (kind) {
    case 'f': return AttributeProto.create({ name, type: T.FLOAT, f: v });
    case 'i': return AttributeProto.create({ name, type: T.INT, i: v });
    case 's': return AttributeProto.create({ name, type: T.STRING, s: toUtf8.encode(v) });
    case 't':
      if (!tensors[v]) throw invalid(`ONNX record: ${where}: tensor ${v} does not exist`);
      return AttributeProto.create({ name, type: T.TENSOR, t: tensors[v] });
    case 'floats': return AttributeProto.create({ name, type: T.FLOATS, floats: v });
    case 'ints': return AttributeProto.create({ name, type: T.INTS, ints: v });
    case 'strings': return AttributeProto.create({ name, type: T.STRINGS, strings: v.map((s) => toUtf8.encode(s)) });
    default: throw invalid(`ONNX record: ${where}: an attribute of kind ${JSON.stringify(kind)} cannot be written`);
  }
}

/**
 * Encodes a graph record (what the engine's export produced: `json` as text or as the
 * parsed object, and `payload`) into the bytes of an ONNX file. Tensors marked
 * `initializer` become the graph's initializers (raw_data); the others are the tensors of
 * the attributes that name them. A record that does not hold together: INVALID_ARGUMENT.
 * @param {{json: string | object, payload: Uint8Array}} graph
 * @returns {Uint8Array}
 */
export function encodeOnnx({ json, payload }) {
  const record = typeof json === 'string' ? JSON.parse(json) : json;
  checkRecord(record);
  checkArray('payload', payload, Uint8Array);
  const tensors = record.tensors.map((t, k) => tensorProto(t, payload, `tensor ${k} (${JSON.stringify(t.name)})`));
  const nodes = record.nodes.map((n, k) => NodeProto.create({
    name: n.name,
    opType: n.op,
    domain: n.domain ?? '',
    input: n.inputs,
    output: n.outputs,
    attribute: Object.entries(n.attrs ?? {}).map(([name, value]) => attributeProto(name, value, tensors, `node ${k} (${JSON.stringify(n.name)}) attribute ${JSON.stringify(name)}`)),
  }));
  const [producerName, ...version] = (record.producer ?? '').split(' ');
  const model = ModelProto.create({
    irVersion: record.irVersion,
    producerName,
    producerVersion: version.join(' '),
    opsetImport: Object.entries(record.opsets).map(([domain, v]) => ({ domain, version: v })),
    graph: GraphProto.create({
      name: record.graphName ?? '',
      node: nodes,
      initializer: tensors.filter((_, k) => record.tensors[k].initializer),
      input: record.inputs.map(valueInfoProto),
      output: record.outputs.map(valueInfoProto),
    }),
  });
  return ModelProto.encode(model).finish();
}
