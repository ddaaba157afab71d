// The graph record reader: JSON keys checked one by one, tensor sections checked against
// the payload and their dims before anything points into it.
#include "onnx/graph.h"

#include <unordered_set>

#include "core/json.h"

namespace qf::onnx {
namespace {

struct TypeInfo {
  DataType type;
  const char* name;
  int bits;  // per element; 0 for STRING (no bytes)
};

constexpr TypeInfo kTypes[] = {
    {DataType::kUndefined, "UNDEFINED", 0},
    {DataType::kFloat, "FLOAT", 32},
    {DataType::kUint8, "UINT8", 8},
    {DataType::kInt8, "INT8", 8},
    {DataType::kUint16, "UINT16", 16},
    {DataType::kInt16, "INT16", 16},
    {DataType::kInt32, "INT32", 32},
    {DataType::kInt64, "INT64", 64},
    {DataType::kString, "STRING", 0},
    {DataType::kBool, "BOOL", 8},
    {DataType::kFloat16, "FLOAT16", 16},
    {DataType::kDouble, "DOUBLE", 64},
    {DataType::kUint32, "UINT32", 32},
    {DataType::kUint64, "UINT64", 64},
    {DataType::kComplex64, "COMPLEX64", 64},
    {DataType::kComplex128, "COMPLEX128", 128},
    {DataType::kBfloat16, "BFLOAT16", 16},
    {DataType::kFloat8E4M3FN, "FLOAT8E4M3FN", 8},
    {DataType::kFloat8E4M3FNUZ, "FLOAT8E4M3FNUZ", 8},
    {DataType::kFloat8E5M2, "FLOAT8E5M2", 8},
    {DataType::kFloat8E5M2FNUZ, "FLOAT8E5M2FNUZ", 8},
    {DataType::kUint4, "UINT4", 4},
    {DataType::kInt4, "INT4", 4},
};

const TypeInfo& Info(DataType type) {
  for (const TypeInfo& t : kTypes) {
    if (t.type == type) return t;
  }
  return kTypes[0];
}

Status CheckKeys(const Json& obj, std::string_view where,
                 std::initializer_list<std::string_view> known) {
  if (!obj.is_object()) {
    return InvalidArgument(std::string(where.empty() ? "record" : where) +
                           ": expected an object, found " + JsonTypeName(obj.type()));
  }
  for (const Json::Member& m : obj.AsObject()) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || m.first == k;
    if (!ok) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return InvalidArgument(JsonPath(where, m.first) + ": unknown key (expected " + list + ")");
    }
  }
  return OkStatus();
}

StatusOr<DataType> TypeKey(const Json& obj, std::string_view where, bool required) {
  QF_ASSIGN_OR_RETURN(const std::string name, required
                                                  ? GetString(obj, "type", where)
                                                  : GetStringOr(obj, "type", "UNDEFINED", where));
  DataType type;
  if (!DataTypeFromName(name, &type)) {
    return InvalidArgument(JsonPath(where, "type") + ": unknown data type \"" + name + "\"");
  }
  return type;
}

StatusOr<std::vector<std::string>> Strings(const Json& obj, std::string_view key,
                                           std::string_view where) {
  QF_ASSIGN_OR_RETURN(const Json::Array* items, GetArray(obj, key, where));
  std::vector<std::string> out;
  out.reserve(items->size());
  for (size_t i = 0; i < items->size(); i++) {
    QF_ASSIGN_OR_RETURN(std::string s, ToString((*items)[i], JsonPath(JsonPath(where, key), i)));
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<ValueInfo> ReadValueInfo(const Json& obj, const std::string& where) {
  QF_RETURN_IF_ERROR(CheckKeys(obj, where, {"name", "type", "shape"}));
  ValueInfo v;
  QF_ASSIGN_OR_RETURN(v.name, GetString(obj, "name", where));
  QF_ASSIGN_OR_RETURN(v.type, TypeKey(obj, where, false));
  const Json* shape = obj.Find("shape");
  if (!shape || shape->is_null()) return v;
  const std::string at = JsonPath(where, "shape");
  if (!shape->is_array()) {
    return InvalidArgument(at + ": expected an array or null, found " +
                           JsonTypeName(shape->type()));
  }
  v.has_shape = true;
  for (size_t i = 0; i < shape->size(); i++) {
    const Json& d = shape->AsArray()[i];
    Dim dim;
    if (d.is_string()) {
      dim.kind = Dim::Kind::kParam;
      dim.param = d.AsString();
    } else if (!d.is_null()) {
      QF_ASSIGN_OR_RETURN(dim.value, ToInt(d, JsonPath(at, i)));
      if (dim.value < 0) {
        return InvalidArgument(JsonPath(at, i) + ": a dimension must not be negative, got " +
                               std::to_string(dim.value));
      }
      dim.kind = Dim::Kind::kValue;
    }
    v.shape.push_back(std::move(dim));
  }
  return v;
}

StatusOr<TensorView> ReadTensor(const Json& obj, const std::string& where, const uint8_t* payload,
                                size_t len) {
  QF_RETURN_IF_ERROR(CheckKeys(
      obj, where, {"name", "type", "dims", "initializer", "offset", "length", "external"}));
  TensorView t;
  QF_ASSIGN_OR_RETURN(t.name, GetString(obj, "name", where));
  QF_ASSIGN_OR_RETURN(t.type, TypeKey(obj, where, true));
  QF_ASSIGN_OR_RETURN(t.initializer, GetBoolOr(obj, "initializer", false, where));
  QF_ASSIGN_OR_RETURN(const bool external, GetBoolOr(obj, "external", false, where));
  const std::string quoted = "tensor '" + t.name + "'";
  if (external) {
    return DataLoss(quoted +
                    " keeps its data in an external file, which the record does not "
                    "carry (save the model with its weights inside the .onnx file)");
  }
  if (t.type == DataType::kUndefined) {
    return InvalidArgument(JsonPath(where, "type") + ": " + quoted + " has no data type");
  }
  QF_ASSIGN_OR_RETURN(const Json::Array* dims, GetArray(obj, "dims", where));
  uint64_t count = 1;
  bool overflow = false;
  for (size_t i = 0; i < dims->size(); i++) {
    QF_ASSIGN_OR_RETURN(const int64_t d, ToInt((*dims)[i], JsonPath(JsonPath(where, "dims"), i)));
    if (d < 0) {
      return InvalidArgument(JsonPath(JsonPath(where, "dims"), i) + ": " + quoted +
                             " has a negative dimension " + std::to_string(d));
    }
    t.dims.push_back(d);
    overflow = overflow || __builtin_mul_overflow(count, uint64_t(d), &count);
  }
  QF_ASSIGN_OR_RETURN(const int64_t offset, GetInt(obj, "offset", where));
  QF_ASSIGN_OR_RETURN(const int64_t length, GetInt(obj, "length", where));
  if (offset < 0 || length < 0 || uint64_t(offset) > len ||
      uint64_t(length) > uint64_t(len) - uint64_t(offset)) {
    return DataLoss(quoted + ": bytes [" + std::to_string(offset) + ", " + std::to_string(offset) +
                    " + " + std::to_string(length) + ") lie outside the payload of " +
                    std::to_string(len) + " bytes");
  }
  if (offset % 8 != 0) {
    return DataLoss(quoted + ": its section starts at byte " + std::to_string(offset) +
                    ", not a multiple of 8");
  }
  const int bits = Info(t.type).bits;
  uint64_t need = 0;
  if (bits > 0 && !overflow) {
    uint64_t bit_count = 0;
    overflow = __builtin_mul_overflow(count, uint64_t(bits), &bit_count);
    need = bit_count / 8 + (bit_count % 8 != 0);
  }
  if (overflow || count > SIZE_MAX) {
    return DataLoss(quoted + ": its dims describe more elements than can be counted");
  }
  if (uint64_t(length) != need) {
    std::string shown;
    for (int64_t d : t.dims) shown += (shown.empty() ? "" : ", ") + std::to_string(d);
    return DataLoss(quoted + ": " + std::to_string(length) + " bytes, but dims [" + shown +
                    "] of " + DataTypeName(t.type) + " need " + std::to_string(need));
  }
  t.count = size_t(count);
  t.bytes = size_t(length);
  t.data = length > 0 ? payload + offset : nullptr;
  return t;
}

StatusOr<Attribute> ReadAttribute(const Json& obj, const std::string& where, size_t tensors) {
  QF_RETURN_IF_ERROR(
      CheckKeys(obj, where, {"i", "f", "s", "t", "ints", "floats", "strings", "unsupported"}));
  if (obj.size() != 1) {
    return InvalidArgument(where +
                           ": expected exactly one of i, f, s, t, ints, floats, strings, "
                           "unsupported; found " +
                           std::to_string(obj.size()) + " keys");
  }
  const std::string& key = obj.AsObject()[0].first;
  const Json& v = obj.AsObject()[0].second;
  const std::string at = JsonPath(where, key);
  Attribute a;
  if (key == "i") {
    a.kind = Attribute::Kind::kInt;
    QF_ASSIGN_OR_RETURN(a.i, ToInt(v, at));
  } else if (key == "f") {
    a.kind = Attribute::Kind::kFloat;
    QF_ASSIGN_OR_RETURN(a.f, ToNumber(v, at));
  } else if (key == "s" || key == "unsupported") {
    a.kind = key == "s" ? Attribute::Kind::kString : Attribute::Kind::kUnsupported;
    QF_ASSIGN_OR_RETURN(a.s, ToString(v, at));
  } else if (key == "t") {
    a.kind = Attribute::Kind::kTensor;
    QF_ASSIGN_OR_RETURN(const int64_t t, ToInt(v, at));
    if (t < 0 || uint64_t(t) >= tensors) {
      return InvalidArgument(at + ": tensor index " + std::to_string(t) + " is outside 0.." +
                             std::to_string(int64_t(tensors) - 1));
    }
    a.t = size_t(t);
  } else {
    if (!v.is_array()) {
      return InvalidArgument(at + ": expected an array, found " + JsonTypeName(v.type()));
    }
    a.kind = key == "ints"     ? Attribute::Kind::kInts
             : key == "floats" ? Attribute::Kind::kFloats
                               : Attribute::Kind::kStrings;
    for (size_t i = 0; i < v.size(); i++) {
      const std::string item = JsonPath(at, i);
      if (a.kind == Attribute::Kind::kInts) {
        QF_ASSIGN_OR_RETURN(const int64_t n, ToInt(v.AsArray()[i], item));
        a.ints.push_back(n);
      } else if (a.kind == Attribute::Kind::kFloats) {
        QF_ASSIGN_OR_RETURN(const double f, ToNumber(v.AsArray()[i], item));
        a.floats.push_back(f);
      } else {
        QF_ASSIGN_OR_RETURN(std::string s, ToString(v.AsArray()[i], item));
        a.strings.push_back(std::move(s));
      }
    }
  }
  return a;
}

StatusOr<Node> ReadNode(const Json& obj, const std::string& where, size_t tensors) {
  QF_RETURN_IF_ERROR(CheckKeys(obj, where, {"name", "op", "domain", "inputs", "outputs", "attrs"}));
  Node n;
  QF_ASSIGN_OR_RETURN(n.name, GetStringOr(obj, "name", "", where));
  QF_ASSIGN_OR_RETURN(n.op, GetString(obj, "op", where));
  QF_ASSIGN_OR_RETURN(n.domain, GetStringOr(obj, "domain", "", where));
  QF_ASSIGN_OR_RETURN(n.inputs, Strings(obj, "inputs", where));
  QF_ASSIGN_OR_RETURN(n.outputs, Strings(obj, "outputs", where));
  if (const Json* attrs = obj.Find("attrs")) {
    const std::string at = JsonPath(where, "attrs");
    if (!attrs->is_object()) {
      return InvalidArgument(at + ": expected an object, found " + JsonTypeName(attrs->type()));
    }
    for (const Json::Member& m : attrs->AsObject()) {
      QF_ASSIGN_OR_RETURN(Attribute a, ReadAttribute(m.second, JsonPath(at, m.first), tensors));
      n.attrs.emplace_back(m.first, std::move(a));
    }
  }
  return n;
}

}  // namespace

const char* DataTypeName(DataType type) { return Info(type).name; }

bool DataTypeFromName(std::string_view name, DataType* type) {
  for (const TypeInfo& t : kTypes) {
    if (name == t.name) {
      *type = t.type;
      return true;
    }
  }
  return false;
}

bool DataTypeFromInt(int64_t value, DataType* type) {
  for (const TypeInfo& t : kTypes) {
    if (int64_t(t.type) == value) {
      *type = t.type;
      return true;
    }
  }
  return false;
}

const char* AttributeKindName(Attribute::Kind kind) {
  switch (kind) {
    case Attribute::Kind::kInt:
      return "int";
    case Attribute::Kind::kFloat:
      return "float";
    case Attribute::Kind::kString:
      return "string";
    case Attribute::Kind::kTensor:
      return "tensor";
    case Attribute::Kind::kInts:
      return "ints";
    case Attribute::Kind::kFloats:
      return "floats";
    case Attribute::Kind::kStrings:
      return "strings";
    case Attribute::Kind::kUnsupported:
      return "unsupported";
  }
  return "?";
}

const Attribute* Node::Find(std::string_view attr) const {
  for (const auto& [name, a] : attrs) {
    if (name == attr) return &a;
  }
  return nullptr;
}

int64_t Graph::Opset(std::string_view domain) const {
  if (domain == "ai.onnx") domain = "";
  for (const auto& [d, v] : opsets) {
    if (d == domain || (domain.empty() && d == "ai.onnx")) return v;
  }
  return -1;
}

StatusOr<Graph> ParseGraphRecord(std::string_view json, const uint8_t* payload, size_t len) {
  if (payload == nullptr && len != 0) return InvalidArgument("payload: null with a length");
  QF_ASSIGN_OR_RETURN(const Json record, ParseJson(json));
  QF_RETURN_IF_ERROR(CheckKeys(
      record, "",
      {"irVersion", "opsets", "producer", "graphName", "inputs", "outputs", "tensors", "nodes"}));
  Graph g;
  QF_ASSIGN_OR_RETURN(g.ir_version, GetIntOr(record, "irVersion", 0, ""));
  QF_ASSIGN_OR_RETURN(g.producer, GetStringOr(record, "producer", "", ""));
  QF_ASSIGN_OR_RETURN(g.name, GetStringOr(record, "graphName", "", ""));
  QF_ASSIGN_OR_RETURN(const Json* opsets, GetObject(record, "opsets", ""));
  for (const Json::Member& m : opsets->AsObject()) {
    QF_ASSIGN_OR_RETURN(const int64_t v, ToInt(m.second, JsonPath("opsets", m.first)));
    g.opsets.emplace_back(m.first, v);
  }
  for (const char* key : {"inputs", "outputs"}) {
    QF_ASSIGN_OR_RETURN(const Json::Array* items, GetArray(record, key, ""));
    for (size_t i = 0; i < items->size(); i++) {
      QF_ASSIGN_OR_RETURN(ValueInfo v, ReadValueInfo((*items)[i], JsonPath(key, i)));
      (key[0] == 'i' ? g.inputs : g.outputs).push_back(std::move(v));
    }
  }
  QF_ASSIGN_OR_RETURN(const Json::Array* tensors, GetArray(record, "tensors", ""));
  std::unordered_set<std::string> initializers;
  for (size_t i = 0; i < tensors->size(); i++) {
    QF_ASSIGN_OR_RETURN(TensorView t,
                        ReadTensor((*tensors)[i], JsonPath("tensors", i), payload, len));
    if (t.initializer && !initializers.insert(t.name).second) {
      return InvalidArgument(JsonPath("tensors", i) + ": a second initializer named '" + t.name +
                             "'");
    }
    g.tensors.push_back(std::move(t));
  }
  QF_ASSIGN_OR_RETURN(const Json::Array* nodes, GetArray(record, "nodes", ""));
  for (size_t i = 0; i < nodes->size(); i++) {
    QF_ASSIGN_OR_RETURN(Node n, ReadNode((*nodes)[i], JsonPath("nodes", i), g.tensors.size()));
    g.nodes.push_back(std::move(n));
  }
  return g;
}

}  // namespace qf::onnx
