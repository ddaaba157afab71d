// Constant folding for the importer: each op a small function over row-major int or float
// tensors, checked against kMaxFoldedValues before it allocates.
#include "onnx/fold.h"

#include <cmath>
#include <cstring>

namespace qf::onnx {
namespace {

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian hosts only (x86, wasm)
  return v;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float f;
  if (exp == 0) {
    f = std::ldexp(float(mant), -24);
  } else if (exp == 31) {
    f = mant ? NAN : INFINITY;
  } else {
    f = std::ldexp(float(mant | 0x400), int(exp) - 25);
  }
  return sign ? -f : f;
}

std::string Shown(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); i++) {
    s += (i ? ", " : "") + (v[i] == kBatchMarker ? std::string("N") : std::to_string(v[i]));
  }
  return s + "]";
}

// The element count of dims, or RESOURCE_EXHAUSTED past kMaxFoldedValues.
StatusOr<size_t> Count(const std::vector<int64_t>& dims, const std::string& label) {
  uint64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n) || n > kMaxFoldedValues) {
      return ResourceExhausted(label + ": a folded constant of shape " + Shown(dims) +
                               " is past the limit of " + std::to_string(kMaxFoldedValues) +
                               " values");
    }
  }
  return size_t(n);
}

// An axis in [-rank, rank) made non-negative.
StatusOr<size_t> Axis(int64_t axis, size_t rank, const std::string& label) {
  const int64_t r = int64_t(rank);
  if (axis < -r || axis >= r) {
    return InvalidArgument(label + ": axis " + std::to_string(axis) + " is outside [" +
                           std::to_string(-r) + ", " + std::to_string(r) + ")");
  }
  return size_t(axis < 0 ? axis + r : axis);
}

// Outer (before axis) and inner (after axis) element counts of dims.
void Split(const std::vector<int64_t>& dims, size_t axis, size_t* outer, size_t* inner) {
  *outer = 1;
  *inner = 1;
  for (size_t i = 0; i < axis; i++) *outer *= size_t(dims[i]);
  for (size_t i = axis + 1; i < dims.size(); i++) *inner *= size_t(dims[i]);
}

// An output of `dims` whose element i is input element index(i), in the input's family.
template <typename Index>
StatusOr<Constant> Gathered(const Constant& in, std::vector<int64_t> dims, const std::string& label,
                            Index index) {
  QF_ASSIGN_OR_RETURN(const size_t n, Count(dims, label));
  Constant out;
  out.dims = std::move(dims);
  if (in.is_float()) {
    out.type = DataType::kFloat;
    out.floats.resize(n);
    for (size_t i = 0; i < n; i++) out.floats[i] = in.FloatAt(index(i));
  } else {
    out.type = in.type;
    out.ints.resize(n);
    for (size_t i = 0; i < n; i++) out.ints[i] = in.IntAt(index(i));
  }
  return out;
}

Status Readable(const Constant& c, const std::string& label, const char* what) {
  if (c.is_float() || c.is_int()) return OkStatus();
  return Unimplemented(label + ": " + what + " is a " + DataTypeName(c.type) +
                       " tensor, which the importer does not fold");
}

// Axes from an attribute (before `input_from`) or the input `index` (from it on).
StatusOr<std::vector<int64_t>> AxesOf(const Node& node, int64_t opset, int64_t input_from,
                                      const std::vector<const Constant*>& inputs, size_t index,
                                      const std::string& label) {
  if (opset < input_from) return AttrInts(node, "axes", {}, label);
  std::vector<int64_t> axes;
  if (index < inputs.size() && inputs[index]) {
    QF_RETURN_IF_ERROR(Readable(*inputs[index], label, "axes"));
    for (size_t i = 0; i < inputs[index]->count(); i++) axes.push_back(inputs[index]->IntAt(i));
  }
  return axes;
}

StatusOr<Constant> FoldConstant(const Node& node, const Graph& graph, const std::string& label) {
  if (node.attrs.size() != 1) {
    return InvalidArgument(label + ": expected exactly one value attribute, found " +
                           std::to_string(node.attrs.size()));
  }
  const auto& [name, a] = node.attrs[0];
  if (name == "value" && a.kind == Attribute::Kind::kTensor) {
    return Constant::View(graph.tensors[a.t]);
  }
  if (name == "value_float" && a.kind == Attribute::Kind::kFloat) {
    return Constant::Floats({}, {float(a.f)});
  }
  if (name == "value_floats" && a.kind == Attribute::Kind::kFloats) {
    std::vector<float> v(a.floats.begin(), a.floats.end());
    const int64_t n = int64_t(v.size());  // before the move: argument order is unspecified
    return Constant::Floats({n}, std::move(v));
  }
  if (name == "value_int" && a.kind == Attribute::Kind::kInt) return Constant::Ints({}, {a.i});
  if (name == "value_ints" && a.kind == Attribute::Kind::kInts) {
    return Constant::Ints({int64_t(a.ints.size())}, a.ints);
  }
  return Unimplemented(label + ": a Constant given by '" + name + "' (" +
                       AttributeKindName(a.kind) + ") is not supported");
}

StatusOr<Constant> FoldConstantOfShape(const Node& node, const Graph& graph,
                                       const std::vector<const Constant*>& in,
                                       const std::string& label) {
  QF_RETURN_IF_ERROR(Readable(*in[0], label, "the shape"));
  std::vector<int64_t> dims;
  for (size_t i = 0; i < in[0]->count(); i++) dims.push_back(in[0]->IntAt(i));
  QF_ASSIGN_OR_RETURN(const size_t n, Count(dims, label));
  Constant fill = Constant::Floats({}, {0.0f});
  if (const Attribute* v = node.Find("value")) {
    if (v->kind != Attribute::Kind::kTensor || graph.tensors[v->t].count != 1) {
      return InvalidArgument(label + ": attribute 'value' must be a one-element tensor");
    }
    fill = Constant::View(graph.tensors[v->t]);
    QF_RETURN_IF_ERROR(Readable(fill, label, "the value"));
  }
  (void)n;  // counted (and capped) above, before Gathered allocates
  return Gathered(fill, dims, label, [](size_t) { return size_t(0); });
}

StatusOr<Constant> FoldGather(const Node& node, const std::vector<const Constant*>& in,
                              const std::string& label) {
  const Constant &data = *in[0], &indices = *in[1];
  QF_RETURN_IF_ERROR(Readable(data, label, "the data"));
  QF_RETURN_IF_ERROR(Readable(indices, label, "the indices"));
  if (!indices.is_int()) return InvalidArgument(label + ": the indices must be integers");
  QF_ASSIGN_OR_RETURN(const int64_t axis_attr, AttrInt(node, "axis", 0, label));
  QF_ASSIGN_OR_RETURN(const size_t axis, Axis(axis_attr, data.dims.size(), label));
  const int64_t extent = data.dims[axis];
  std::vector<size_t> picks(indices.count());
  for (size_t i = 0; i < picks.size(); i++) {
    const int64_t k = indices.IntAt(i);
    if (k < -extent || k >= extent) {
      return InvalidArgument(label + ": index " + std::to_string(k) + " is outside [" +
                             std::to_string(-extent) + ", " + std::to_string(extent) + ")");
    }
    picks[i] = size_t(k < 0 ? k + extent : k);
  }
  std::vector<int64_t> dims(data.dims.begin(), data.dims.begin() + axis);
  dims.insert(dims.end(), indices.dims.begin(), indices.dims.end());
  dims.insert(dims.end(), data.dims.begin() + axis + 1, data.dims.end());
  size_t outer, inner;
  Split(data.dims, axis, &outer, &inner);
  const size_t k = picks.size();
  return Gathered(data, dims, label, [&](size_t i) {
    const size_t o = i / (k * inner), p = i / inner % k, r = i % inner;
    return (o * size_t(extent) + picks[p]) * inner + r;
  });
}

StatusOr<Constant> FoldUnsqueeze(const Node& node, int64_t opset,
                                 const std::vector<const Constant*>& in, const std::string& label) {
  QF_RETURN_IF_ERROR(Readable(*in[0], label, "the data"));
  QF_ASSIGN_OR_RETURN(const std::vector<int64_t> axes, AxesOf(node, opset, 13, in, 1, label));
  const size_t rank = in[0]->dims.size() + axes.size();
  std::vector<bool> inserted(rank, false);
  for (int64_t a : axes) {
    QF_ASSIGN_OR_RETURN(const size_t axis, Axis(a, rank, label));
    if (inserted[axis]) return InvalidArgument(label + ": axis " + std::to_string(a) + " repeated");
    inserted[axis] = true;
  }
  std::vector<int64_t> dims;
  size_t next = 0;
  for (size_t i = 0; i < rank; i++) dims.push_back(inserted[i] ? 1 : in[0]->dims[next++]);
  return Gathered(*in[0], dims, label, [](size_t i) { return i; });
}

StatusOr<Constant> FoldSqueeze(const Node& node, int64_t opset,
                               const std::vector<const Constant*>& in, const std::string& label) {
  QF_RETURN_IF_ERROR(Readable(*in[0], label, "the data"));
  QF_ASSIGN_OR_RETURN(const std::vector<int64_t> axes, AxesOf(node, opset, 13, in, 1, label));
  const std::vector<int64_t>& d = in[0]->dims;
  std::vector<bool> drop(d.size(), axes.empty());
  for (size_t i = 0; axes.empty() && i < d.size(); i++) drop[i] = d[i] == 1;
  for (int64_t a : axes) {
    QF_ASSIGN_OR_RETURN(const size_t axis, Axis(a, d.size(), label));
    if (d[axis] != 1) {
      return InvalidArgument(label + ": cannot squeeze axis " + std::to_string(a) + " of extent " +
                             std::to_string(d[axis]));
    }
    drop[axis] = true;
  }
  std::vector<int64_t> dims;
  for (size_t i = 0; i < d.size(); i++) {
    if (!drop[i]) dims.push_back(d[i]);
  }
  return Gathered(*in[0], dims, label, [](size_t i) { return i; });
}

StatusOr<Constant> FoldConcat(const Node& node, const std::vector<const Constant*>& in,
                              const std::string& label) {
  if (in.empty() || !in[0]) return InvalidArgument(label + ": no inputs");
  QF_ASSIGN_OR_RETURN(const int64_t axis_attr, AttrInt(node, "axis", 0, label));
  const std::vector<int64_t>& first = in[0]->dims;
  QF_ASSIGN_OR_RETURN(const size_t axis, Axis(axis_attr, first.size(), label));
  std::vector<int64_t> dims = first;
  dims[axis] = 0;
  for (const Constant* c : in) {
    if (!c) return InvalidArgument(label + ": an absent input");
    QF_RETURN_IF_ERROR(Readable(*c, label, "an input"));
    if (c->is_float() != in[0]->is_float() || c->dims.size() != first.size()) {
      return InvalidArgument(label + ": inputs of different types or ranks");
    }
    for (size_t i = 0; i < first.size(); i++) {
      if (i != axis && c->dims[i] != first[i]) {
        return InvalidArgument(label + ": input shapes " + Shown(first) + " and " + Shown(c->dims) +
                               " differ off the axis");
      }
    }
    dims[axis] += c->dims[axis];
  }
  QF_ASSIGN_OR_RETURN(const size_t n, Count(dims, label));
  size_t outer, inner;
  Split(dims, axis, &outer, &inner);
  Constant out;
  out.type = in[0]->is_float() ? DataType::kFloat : in[0]->type;
  out.dims = dims;
  for (size_t o = 0; o < outer; o++) {
    for (const Constant* c : in) {
      const size_t block = size_t(c->dims[axis]) * inner;
      for (size_t j = 0; j < block; j++) {
        if (out.type == DataType::kFloat) {
          out.floats.push_back(c->FloatAt(o * block + j));
        } else {
          out.ints.push_back(c->IntAt(o * block + j));
        }
      }
    }
  }
  QF_CHECK(out.count() == n);
  return out;
}

StatusOr<Constant> FoldCast(const Node& node, const std::vector<const Constant*>& in,
                            const std::string& label) {
  QF_RETURN_IF_ERROR(Readable(*in[0], label, "the input"));
  QF_ASSIGN_OR_RETURN(const int64_t to, AttrInt(node, "to", 0, label));
  DataType type;
  if (!DataTypeFromInt(to, &type))
    return InvalidArgument(label + ": unknown type " + std::to_string(to));
  const Constant& x = *in[0];
  const size_t n = x.count();
  switch (type) {
    case DataType::kFloat:
    case DataType::kDouble:
    case DataType::kFloat16: {
      std::vector<float> v(n);
      for (size_t i = 0; i < n; i++) {
        if (x.is_int() && x.IntAt(i) == kBatchMarker) {
          return Unimplemented(label + ": the batch size, unknown at import, cast to a float");
        }
        v[i] = x.FloatAt(i);
      }
      return Constant::Floats(x.dims, std::move(v));
    }
    case DataType::kInt64:
    case DataType::kInt32:
    case DataType::kInt16:
    case DataType::kInt8:
    case DataType::kUint8:
    case DataType::kBool: {
      std::vector<int64_t> v(n);
      for (size_t i = 0; i < n; i++) {
        if (x.is_int()) {
          v[i] = x.IntAt(i);
        } else {
          const float f = x.FloatAt(i);
          if (!std::isfinite(f) || std::fabs(f) > 9e18f) {
            return InvalidArgument(label + ": value " + std::to_string(f) + " does not fit " +
                                   DataTypeName(type));
          }
          v[i] = int64_t(f);  // truncation toward zero, as the ONNX reference does
        }
        if (type == DataType::kBool) v[i] = v[i] != 0;
      }
      return Constant::Ints(x.dims, std::move(v), type);
    }
    default:
      return Unimplemented(label + ": a Cast to " + DataTypeName(type) + " is not folded");
  }
}

StatusOr<Constant> FoldSlice(const Node& node, int64_t opset,
                             const std::vector<const Constant*>& in, const std::string& label) {
  const Constant& data = *in[0];
  QF_RETURN_IF_ERROR(Readable(data, label, "the data"));
  std::vector<int64_t> starts, ends, axes, steps;
  if (opset < 10) {
    QF_ASSIGN_OR_RETURN(starts, AttrInts(node, "starts", {}, label));
    QF_ASSIGN_OR_RETURN(ends, AttrInts(node, "ends", {}, label));
    QF_ASSIGN_OR_RETURN(axes, AttrInts(node, "axes", {}, label));
  } else {
    auto ints = [&](size_t i, std::vector<int64_t>* out) -> Status {
      if (i >= in.size() || !in[i]) return OkStatus();
      QF_RETURN_IF_ERROR(Readable(*in[i], label, "a slice parameter"));
      if (!in[i]->is_int()) return InvalidArgument(label + ": slice parameters must be integers");
      for (size_t k = 0; k < in[i]->count(); k++) out->push_back(in[i]->IntAt(k));
      return OkStatus();
    };
    QF_RETURN_IF_ERROR(ints(1, &starts));
    QF_RETURN_IF_ERROR(ints(2, &ends));
    QF_RETURN_IF_ERROR(ints(3, &axes));
    QF_RETURN_IF_ERROR(ints(4, &steps));
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); i++) axes.push_back(int64_t(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return InvalidArgument(label + ": starts, ends, axes and steps differ in length");
  }
  const size_t rank = data.dims.size();
  std::vector<int64_t> first(rank, 0), step(rank, 1), dims = data.dims;
  for (size_t k = 0; k < starts.size(); k++) {
    QF_ASSIGN_OR_RETURN(const size_t a, Axis(axes[k], rank, label));
    const int64_t d = data.dims[a], s = steps[k];
    if (s == 0) return InvalidArgument(label + ": a step of 0");
    auto clamp = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0) v = v < -d ? -1 : v + d;  // INT64_MIN-safe: no addition before the test
      return v < lo ? lo : v > hi ? hi : v;
    };
    const int64_t b = s > 0 ? clamp(starts[k], 0, d) : clamp(starts[k], -1, d - 1);
    const int64_t e = s > 0 ? clamp(ends[k], 0, d) : clamp(ends[k], -1, d - 1);
    const int64_t len =
        s > 0 ? (e > b ? (e - b + s - 1) / s : 0) : (b > e ? (b - e - s - 1) / -s : 0);
    first[a] = b;
    step[a] = s;
    dims[a] = len;
  }
  return Gathered(data, dims, label, [&](size_t i) {
    size_t index = 0, stride = 1;
    for (size_t a = rank; a-- > 0;) {
      const size_t o = i % size_t(dims[a]);
      i /= size_t(dims[a]);
      index += size_t(first[a] + int64_t(o) * step[a]) * stride;
      stride *= size_t(data.dims[a]);
    }
    return index;
  });
}

}  // namespace

std::string NodeLabel(const Node& node, int64_t opset) {
  return "node '" + node.name + "' (" + node.op + ", opset " + std::to_string(opset) + ")";
}

Constant Constant::View(const TensorView& t) {
  Constant c;
  c.type = t.type;
  c.dims = t.dims;
  c.view = &t;
  return c;
}

Constant Constant::Floats(std::vector<int64_t> dims, std::vector<float> values) {
  Constant c;
  c.type = DataType::kFloat;
  c.dims = std::move(dims);
  c.floats = std::move(values);
  return c;
}

Constant Constant::Ints(std::vector<int64_t> dims, std::vector<int64_t> values, DataType type) {
  Constant c;
  c.type = type;
  c.dims = std::move(dims);
  c.ints = std::move(values);
  return c;
}

size_t Constant::count() const {
  if (view) return view->count;
  return type == DataType::kFloat ? floats.size() : ints.size();
}

bool Constant::is_float() const {
  return type == DataType::kFloat || type == DataType::kDouble || type == DataType::kFloat16;
}

bool Constant::is_int() const {
  switch (type) {
    case DataType::kInt8:
    case DataType::kUint8:
    case DataType::kInt16:
    case DataType::kUint16:
    case DataType::kInt32:
    case DataType::kUint32:
    case DataType::kInt64:
    case DataType::kBool:
      return true;
    default:
      return false;
  }
}

float Constant::FloatAt(size_t i) const {
  if (!view) return type == DataType::kFloat ? floats[i] : float(ints[i]);
  const uint8_t* p = view->data;
  switch (type) {
    case DataType::kFloat:
      return Load<float>(p + 4 * i);
    case DataType::kDouble:
      return float(Load<double>(p + 8 * i));
    case DataType::kFloat16:
      return HalfToFloat(Load<uint16_t>(p + 2 * i));
    default:
      return float(IntAt(i));
  }
}

int64_t Constant::IntAt(size_t i) const {
  if (!view) return ints[i];
  const uint8_t* p = view->data;
  switch (type) {
    case DataType::kInt8:
      return Load<int8_t>(p + i);
    case DataType::kUint8:
    case DataType::kBool:
      return Load<uint8_t>(p + i);
    case DataType::kInt16:
      return Load<int16_t>(p + 2 * i);
    case DataType::kUint16:
      return Load<uint16_t>(p + 2 * i);
    case DataType::kInt32:
      return Load<int32_t>(p + 4 * i);
    case DataType::kUint32:
      return Load<uint32_t>(p + 4 * i);
    case DataType::kInt64:
      return Load<int64_t>(p + 8 * i);
    default:
      QF_CHECK(false);
      return 0;
  }
}

std::string Constant::DimsString() const { return Shown(dims); }

StatusOr<int64_t> AttrInt(const Node& node, std::string_view name, int64_t fallback,
                          const std::string& label) {
  const Attribute* a = node.Find(name);
  if (!a) return fallback;
  if (a->kind != Attribute::Kind::kInt) {
    return InvalidArgument(label + ": attribute '" + std::string(name) +
                           "' must be an int, found " + AttributeKindName(a->kind));
  }
  return a->i;
}

StatusOr<float> AttrFloat(const Node& node, std::string_view name, float fallback,
                          const std::string& label) {
  const Attribute* a = node.Find(name);
  if (!a) return fallback;
  if (a->kind != Attribute::Kind::kFloat) {
    return InvalidArgument(label + ": attribute '" + std::string(name) +
                           "' must be a float, found " + AttributeKindName(a->kind));
  }
  return float(a->f);
}

StatusOr<std::string> AttrString(const Node& node, std::string_view name, std::string fallback,
                                 const std::string& label) {
  const Attribute* a = node.Find(name);
  if (!a) return fallback;
  if (a->kind != Attribute::Kind::kString) {
    return InvalidArgument(label + ": attribute '" + std::string(name) +
                           "' must be a string, found " + AttributeKindName(a->kind));
  }
  return a->s;
}

StatusOr<std::vector<int64_t>> AttrInts(const Node& node, std::string_view name,
                                        std::vector<int64_t> fallback, const std::string& label) {
  const Attribute* a = node.Find(name);
  if (!a) return fallback;
  if (a->kind != Attribute::Kind::kInts) {
    return InvalidArgument(label + ": attribute '" + std::string(name) + "' must be ints, found " +
                           AttributeKindName(a->kind));
  }
  return a->ints;
}

bool FoldableOp(std::string_view op) {
  for (const char* f : {"Constant", "ConstantOfShape", "Gather", "Unsqueeze", "Squeeze", "Concat",
                        "Cast", "Slice"}) {
    if (op == f) return true;
  }
  return false;
}

StatusOr<Constant> FoldNode(const Node& node, int64_t opset, const Graph& graph,
                            const std::vector<const Constant*>& inputs) {
  const std::string label = NodeLabel(node, opset);
  const std::string& op = node.op;
  if (op == "Constant") return FoldConstant(node, graph, label);
  const size_t required = op == "Concat"                 ? 1
                          : op == "Gather"               ? 2
                          : op == "Slice" && opset >= 10 ? 3
                                                         : 1;
  if (inputs.size() < required) {
    return InvalidArgument(label + ": expected at least " + std::to_string(required) + " inputs");
  }
  for (size_t i = 0; i < required; i++) {
    if (!inputs[i]) return InvalidArgument(label + ": input " + std::to_string(i) + " is absent");
  }
  if (op == "ConstantOfShape") return FoldConstantOfShape(node, graph, inputs, label);
  if (op == "Gather") return FoldGather(node, inputs, label);
  if (op == "Unsqueeze") return FoldUnsqueeze(node, opset, inputs, label);
  if (op == "Squeeze") return FoldSqueeze(node, opset, inputs, label);
  if (op == "Concat") return FoldConcat(node, inputs, label);
  if (op == "Cast") return FoldCast(node, inputs, label);
  if (op == "Slice") return FoldSlice(node, opset, inputs, label);
  return Unimplemented(label + ": not a foldable op");
}

StatusOr<Constant> FoldShape(const Node& node, int64_t opset, const std::vector<int64_t>& dims) {
  const std::string label = NodeLabel(node, opset);
  const int64_t rank = int64_t(dims.size());
  QF_ASSIGN_OR_RETURN(int64_t start, AttrInt(node, "start", 0, label));
  QF_ASSIGN_OR_RETURN(int64_t end, AttrInt(node, "end", rank, label));
  auto clamp = [rank](int64_t v) {
    if (v < 0) v = v < -rank ? 0 : v + rank;
    return v > rank ? rank : v;
  };
  start = clamp(start);
  end = clamp(end);
  std::vector<int64_t> out;
  for (int64_t i = start; i < end; i++) out.push_back(dims[size_t(i)]);
  const int64_t n = int64_t(out.size());
  return Constant::Ints({n}, std::move(out));
}

}  // namespace qf::onnx
