// Builds, in memory, the bytes of a one-node ONNX model
//
//   Y[m,n] (int32) = MatMulInteger(A[m,k] (uint8, graph input), B[k,n] (int8, initializer))
//
// with no zero-point inputs (both zero points are 0), for benchmarking onnxruntime-web
// against qforget's u8×s8 kernels. B is a constant initializer, so onnxruntime may
// prepack it once at session creation, as it does for a deployed layer's weights.
//
// The protobuf encoding is written by hand (varints and length-delimited fields only):
// the model needs no other wire type, and this avoids a dependency. Field numbers are
// those of onnx/onnx.proto.

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** ONNX TensorProto.DataType values used here. */
export const DataType = Object.freeze({ FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6 });

const utf8 = new TextEncoder();

// ---- protobuf wire format ----------------------------------------------------------

/** Base-128 varint of a non-negative safe integer (arithmetic, not 32-bit shifts). */
function varint(value) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`varint needs a non-negative safe integer, got ${value}`);
  }
  const bytes = [];
  while (value >= 0x80) {
    bytes.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  bytes.push(value);
  return Uint8Array.from(bytes);
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

const key = (field, wireType) => varint(field * 8 + wireType);

/** An integer field (int32/int64/enum) with a non-negative value. */
const intField = (field, value) => concat([key(field, WIRE_VARINT), varint(value)]);

/** A length-delimited field: bytes, string or embedded message. */
const bytesField = (field, bytes) => concat([key(field, WIRE_LEN), varint(bytes.length), bytes]);

const stringField = (field, text) => bytesField(field, utf8.encode(text));

/** An embedded message whose body is the concatenation of the given encoded fields. */
const messageField = (field, fields) => bytesField(field, concat(fields));

// ---- ONNX messages -------------------------------------------------------------------

/** OperatorSetIdProto { domain = 1, version = 2 } */
const opsetImport = (domain, version) => [stringField(1, domain), intField(2, version)];

/**
 * ValueInfoProto { name = 1, type = 2 } with
 * TypeProto { tensor_type = 1 }, TypeProto.Tensor { elem_type = 1, shape = 2 },
 * TensorShapeProto { dim = 1 }, Dimension { dim_value = 1 }.
 */
function tensorValueInfo(name, elemType, dims) {
  const shape = dims.map((d) => messageField(1, [intField(1, d)]));
  const tensorType = [intField(1, elemType), messageField(2, shape)];
  return [stringField(1, name), messageField(2, [messageField(1, tensorType)])];
}

/** TensorProto { dims = 1 (repeated, unpacked), data_type = 2, name = 8, raw_data = 9 } */
function tensor(name, dataType, dims, rawData) {
  return [
    ...dims.map((d) => intField(1, d)),
    intField(2, dataType),
    stringField(8, name),
    bytesField(9, new Uint8Array(rawData.buffer, rawData.byteOffset, rawData.byteLength)),
  ];
}

/** NodeProto { input = 1, output = 2, name = 3, op_type = 4 } */
function node(opType, name, inputs, outputs) {
  return [
    ...inputs.map((i) => stringField(1, i)),
    ...outputs.map((o) => stringField(2, o)),
    stringField(3, name),
    stringField(4, opType),
  ];
}

/**
 * The serialized ModelProto for Y = MatMulInteger(A, B).
 * Graph input "A" (uint8 [m,k]), initializer "B" (int8 [k,n], row-major), output "Y"
 * (int32 [m,n]).
 * @param {Int8Array} b row-major k×n
 * @returns {Uint8Array}
 */
export function matmulIntegerModel(b, m, k, n) {
  if (!(b instanceof Int8Array) || b.length !== k * n) {
    throw new TypeError(`b must be an Int8Array of ${k * n} elements`);
  }
  // GraphProto { node = 1, name = 2, initializer = 5, input = 11, output = 12 }
  const graph = [
    messageField(1, node('MatMulInteger', 'matmul', ['A', 'B'], ['Y'])),
    stringField(2, 'matmul_integer'),
    messageField(5, tensor('B', DataType.INT8, [k, n], b)),
    messageField(11, tensorValueInfo('A', DataType.UINT8, [m, k])),
    messageField(12, tensorValueInfo('Y', DataType.INT32, [m, n])),
  ];
  // ModelProto { ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 }
  return concat([
    intField(1, 8),
    stringField(2, 'qforget-bench'),
    messageField(7, graph),
    messageField(8, opsetImport('', 13)),
  ]);
}
