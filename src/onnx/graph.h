// The ONNX graph record (/work/notes/onnx_record.md): the JSON text plus byte payload that
// the JS side decodes a ModelProto into, read into typed C++ with every key checked. Not a
// protobuf reader and not the importer (onnx/import.h turns a Graph into a model).
//
// The record, as this reader accepts it:
//   {"irVersion": int, "opsets": {domain: int}, "producer": str, "graphName": str,
//    "inputs": [ValueInfo], "outputs": [ValueInfo], "tensors": [Tensor], "nodes": [Node]}
//   opsets, inputs, outputs, tensors and nodes are required; the other keys optional;
//   unknown keys are refused (INVALID_ARGUMENT naming the key path).
//   ValueInfo {"name", "type": a TensorProto.DataType name, "shape": null | [dim]} with a
//     dim a non-negative integer, a string (dim_param) or null; "type" may be absent
//     (UNDEFINED).
//   Tensor {"name", "type", "dims": [non-negative ints], "initializer": bool, "offset",
//     "length", "external": bool}: its bytes are payload[offset, offset + length), little-
//     endian and row-major. Checks: the section lies inside the payload and starts at a
//     multiple of 8 (DATA_LOSS); the element count (overflow-checked) times the type's width
//     equals length (DATA_LOSS naming the tensor; INT4/UINT4 pack two per byte, rounded up;
//     STRING tensors carry no bytes, length 0); external data is DATA_LOSS naming the tensor
//     (the record has no bytes for it); initializer names are unique.
//   Node {"name", "op", "domain" (optional, default ""), "inputs": [str], "outputs": [str],
//     "attrs": {name: {"i"|"f"|"s"|"t"|"ints"|"floats"|"strings"|"unsupported": value}}}
//     exactly one key per attribute; "t" indexes "tensors"; "unsupported" names the proto
//     type (GRAPH, SPARSE_TENSOR, ...) and is kept so that the importer can name it.
// Nothing is allocated in proportion to a claimed size: tensors stay views into the payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace qf::onnx {

// TensorProto.DataType, by its enum value.
enum class DataType : int {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBfloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
  kUint4 = 21,
  kInt4 = 22,
};

// "FLOAT", "INT64", ...: the enum's name as ONNX spells it.
const char* DataTypeName(DataType type);
// The type of an enum name, or of its number (Cast's `to`); false when unknown.
bool DataTypeFromName(std::string_view name, DataType* type);
bool DataTypeFromInt(int64_t value, DataType* type);

// An initializer or attribute tensor: a view into the payload (owned by the caller of
// ParseGraphRecord; valid while it lives).
struct TensorView {
  std::string name;
  DataType type = DataType::kUndefined;
  std::vector<int64_t> dims;
  bool initializer = false;
  const uint8_t* data = nullptr;  // `bytes` bytes; null when bytes == 0
  size_t bytes = 0;
  size_t count = 0;  // elements: the product of dims (1 for a scalar)
};

struct Attribute {
  enum class Kind { kInt, kFloat, kString, kTensor, kInts, kFloats, kStrings, kUnsupported };
  Kind kind = Kind::kInt;
  int64_t i = 0;
  double f = 0;
  std::string s;  // kString; kUnsupported: the proto type's name
  size_t t = 0;   // kTensor: index into Graph::tensors
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
};

const char* AttributeKindName(Attribute::Kind kind);  // "int", "floats", ...

struct Dim {
  enum class Kind { kValue, kParam, kUnknown } kind = Kind::kUnknown;
  int64_t value = 0;  // kValue
  std::string param;  // kParam
};

struct ValueInfo {
  std::string name;
  DataType type = DataType::kUndefined;
  bool has_shape = false;
  std::vector<Dim> shape;
};

struct Node {
  std::string name, op, domain;
  std::vector<std::string> inputs, outputs;  // "" = an absent optional input or output
  std::vector<std::pair<std::string, Attribute>> attrs;

  const Attribute* Find(std::string_view attr) const;
};

struct Graph {
  int64_t ir_version = 0;
  std::vector<std::pair<std::string, int64_t>> opsets;  // domain ("" = ai.onnx) -> version
  std::string producer, name;
  std::vector<ValueInfo> inputs, outputs;
  std::vector<TensorView> tensors;
  std::vector<Node> nodes;

  // The opset of `domain` ("" and "ai.onnx" are the same), or -1 when not imported.
  int64_t Opset(std::string_view domain) const;
};

// Reads a record. `payload` (len bytes) is only viewed: the Graph's tensors point into it.
// Errors: INVALID_ARGUMENT for malformed JSON or keys (the message names the key path,
// e.g. "nodes[3].attrs.group: ..."), DATA_LOSS for sections that do not fit or disagree
// with their dims, and for external data (naming the tensor).
StatusOr<Graph> ParseGraphRecord(std::string_view json, const uint8_t* payload, size_t len);

}  // namespace qf::onnx
