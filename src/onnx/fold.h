// Constant tensors at import time and the folding of constant subgraphs (Constant,
// ConstantOfShape, Shape, Gather, Unsqueeze, Squeeze, Concat, Cast, Slice): enough for the
// Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains exporters write in front of a
// flattening Reshape. Not an ONNX runtime: only these ops, on int and float constants, with
// a size cap. Also the node attribute accessors the importer shares.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "onnx/graph.h"

namespace qf::onnx {

// The batch dimension inside folded int tensors (Shape of an activation): its value is not
// known at import, so it travels as this marker. A Reshape reads it as "the batch".
inline constexpr int64_t kBatchMarker = INT64_MIN / 2;
// Folded tensors hold at most this many values (RESOURCE_EXHAUSTED beyond).
inline constexpr size_t kMaxFoldedValues = size_t(1) << 20;

// "node 'Conv_0' (Conv, opset 13)": how errors name a node.
std::string NodeLabel(const Node& node, int64_t opset);

// A constant tensor: an initializer or attribute tensor viewed in the payload, or a folded
// value (type kFloat with `floats`, or an integer type with `ints`).
struct Constant {
  DataType type = DataType::kFloat;
  std::vector<int64_t> dims;
  const TensorView* view = nullptr;  // borrowed from the Graph
  std::vector<float> floats;
  std::vector<int64_t> ints;

  static Constant View(const TensorView& t);
  static Constant Floats(std::vector<int64_t> dims, std::vector<float> values);
  static Constant Ints(std::vector<int64_t> dims, std::vector<int64_t> values,
                       DataType type = DataType::kInt64);

  size_t count() const;
  // FLOAT, DOUBLE, FLOAT16 (readable with FloatAt) / the integer types and BOOL (IntAt).
  bool is_float() const;
  bool is_int() const;
  float FloatAt(size_t i) const;  // any readable type, converted
  int64_t IntAt(size_t i) const;  // integer types only
  std::string DimsString() const;
};

// The attribute accessors: absent gives the fallback; a present attribute of another kind
// is INVALID_ARGUMENT naming `label` (a NodeLabel) and the attribute.
StatusOr<int64_t> AttrInt(const Node& node, std::string_view name, int64_t fallback,
                          const std::string& label);
StatusOr<float> AttrFloat(const Node& node, std::string_view name, float fallback,
                          const std::string& label);
StatusOr<std::string> AttrString(const Node& node, std::string_view name, std::string fallback,
                                 const std::string& label);
StatusOr<std::vector<int64_t>> AttrInts(const Node& node, std::string_view name,
                                        std::vector<int64_t> fallback, const std::string& label);

// Folds `node` (its op one of FoldableOp's) whose inputs are all constants (`inputs`, in
// order, null for absent optional inputs). Shape is folded by the importer (it needs the
// shapes of activations) through FoldShape. Errors name the node; UNIMPLEMENTED for a case
// outside what this folds (a STRING tensor, an unsupported Cast target, ...).
bool FoldableOp(std::string_view op);
StatusOr<Constant> FoldNode(const Node& node, int64_t opset, const Graph& graph,
                            const std::vector<const Constant*>& inputs);
// Shape's output for a tensor of `dims` (kBatchMarker allowed), with opset 15's start/end.
StatusOr<Constant> FoldShape(const Node& node, int64_t opset, const std::vector<int64_t>& dims);

}  // namespace qf::onnx
