// The model file: writer and a loader that checks everything (framing, checksum, header
// keys, the tensor table against the architecture, every value) before it returns a
// model. Not a general container format: it holds exactly one nn::Model.
#include "io/model_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_map>

#include "io/inflate.h"
#include "core/json.h"
#include "kernels/bitpack/bitpack.h"
#include "nn/model_json.h"
#include "nn/quantizers.h"
#include "quant/weight_grid.h"

namespace qf::io {
namespace {

constexpr size_t kFixedBytes = 16;  // magic, version, header length
constexpr size_t kCrcBytes = 4;
constexpr size_t kAlign = 8;

size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}
uint32_t GetU32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
void PutF32(uint8_t* p, float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  PutU32(p, u);
}
float GetF32(const uint8_t* p) {
  const uint32_t u = GetU32(p);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

Status Corrupt(const std::string& what) { return DataLoss("model file: " + what); }

std::string Quote(const std::string& s) { return Json::String(s).Dump(); }

// ---- the model's state as a list of file tensors ---------------------------------------

struct Entry {
  std::string name;
  bool codes = false;  // role "codes" (else "float")
  Shape shape;
  int bits = 0;              // codes only
  Tensor* tensor = nullptr;  // float only: the layer's values
  nn::FloatRule rule = nn::FloatRule::kAny;
  size_t quantized = 0;  // codes only: index into StateList::quantized
  size_t length = 0;     // bytes in the payload
  size_t offset = 0;     // from the payload start
};

size_t EntryBytes(const Entry& e) {
  return e.codes ? kernels::PackedBytes(e.shape.size(), e.bits) : 4 * e.shape.size();
}

class StateList : public nn::StateVisitor {
 public:
  explicit StateList(bool shadow) : shadow_(shadow) {}

  void Float(const std::string& name, Tensor* value, nn::FloatRule rule) override {
    Add(name, false, value->shape(), 0, value, rule, 0);
  }
  void Quantized(const nn::QuantizedWeightState& s) override {
    quantized.push_back(s);
    Add(s.name + "_codes", true, Shape{s.grid.rows, s.grid.channels}, s.grid.bits, nullptr,
        nn::FloatRule::kAny, quantized.size() - 1);
    for (nn::Param* p : s.params) {
      const bool step = p->kind == nn::Param::Kind::kStep;
      Add(p->name, false, p->value.shape(), 0, &p->value,
          step ? nn::FloatRule::kPositive : nn::FloatRule::kAny, 0);
    }
    if (shadow_) Add(s.name, false, s.weight->shape(), 0, s.weight, nn::FloatRule::kAny, 0);
  }
  void Flag(const std::string& name, bool* value) override {
    flags.push_back(name);
    flag_values.push_back(*value);
  }
  void Input(nn::InputQuantizer* quantizer) override {
    narrow_inputs = narrow_inputs || quantizer->bits() != 8;
  }

  std::vector<Entry> entries;
  bool narrow_inputs = false;  // an input quantizer of fewer than 8 bits
  std::vector<nn::QuantizedWeightState> quantized;
  std::vector<std::string> flags;
  std::vector<bool> flag_values;

 private:
  void Add(const std::string& name, bool codes, const Shape& shape, int bits, Tensor* tensor,
           nn::FloatRule rule, size_t q) {
    Entry e;
    e.name = name;
    e.codes = codes;
    e.shape = shape;
    e.bits = bits;
    e.tensor = tensor;
    e.rule = rule;
    e.quantized = q;
    e.length = EntryBytes(e);
    entries.push_back(std::move(e));
  }
  bool shadow_;
};

// Writes the flags of a loaded file into the model (flag pointers live only per call).
class FlagWriter : public nn::StateVisitor {
 public:
  explicit FlagWriter(const std::unordered_map<std::string, bool>* values) : values_(values) {}
  void Float(const std::string&, Tensor*, nn::FloatRule) override {}
  void Quantized(const nn::QuantizedWeightState&) override {}
  void Flag(const std::string& name, bool* value) override { *value = values_->at(name); }

 private:
  const std::unordered_map<std::string, bool>* values_;
};

// "" when every value obeys `rule`, else what is wrong with the first that does not.
std::string CheckValues(const float* v, size_t n, nn::FloatRule rule) {
  for (size_t i = 0; i < n; i++) {
    if (!std::isfinite(v[i])) {
      return "value " + std::to_string(i) + " is " + (std::isnan(v[i]) ? "NaN" : "infinite");
    }
    if (rule == nn::FloatRule::kPositive && !(v[i] > 0.0f)) {
      return "value " + std::to_string(i) + " is " + std::to_string(v[i]) +
             ", but step sizes must be positive";
    }
    if (rule == nn::FloatRule::kNonNegative && v[i] < 0.0f) {
      return "value " + std::to_string(i) + " is " + std::to_string(v[i]) +
             ", but variances must not be negative";
    }
  }
  return {};
}

// The codes QuantizeToGrid(grid, weight) of a quantized layer.
std::vector<int8_t> CurrentCodes(const nn::QuantizedWeightState& q) {
  quant::GridTable table;
  quant::BuildTable(q.grid, &table);
  std::vector<int8_t> codes(q.weight->size());
  quant::QuantizeToGrid(q.grid, table, q.weight->data(), codes.data());
  return codes;
}

void PackCodes(const std::vector<int8_t>& codes, int bits, uint8_t* out) {
  if (kernels::StorageBits(bits) == 8) {
    std::memcpy(out, codes.data(), codes.size());
    return;
  }
  kernels::BitPackFor(kernels::BestIsa(), bits)(codes.size(), codes.data(), out);
}

// Unpacks n codes of `bits` bits, refusing set padding bits and out-of-range codes.
Status UnpackCodes(const uint8_t* packed, size_t n, int bits, const std::string& what,
                   std::vector<int8_t>* codes) {
  codes->resize(n);
  const int storage = kernels::StorageBits(bits);
  if (storage == 8) {
    std::memcpy(codes->data(), packed, n);
    return OkStatus();
  }
  const size_t per_byte = size_t(8 / storage), used = n % per_byte;
  if (used != 0) {
    const uint8_t last = packed[kernels::PackedBytes(n, bits) - 1];
    if ((last >> (used * size_t(storage))) != 0) {
      return Corrupt(what + ": non-zero padding bits after the last code");
    }
  }
  kernels::BitUnpackFor(kernels::BestIsa(), bits)(n, packed, codes->data());
  if (!kernels::CodesInRange(codes->data(), n, bits)) {
    const quant::QRange r = quant::SignedRange(bits);
    return Corrupt(what + ": codes outside the " + std::to_string(bits) + "-bit range [" +
                   std::to_string(r.qn) + ", " + std::to_string(r.qp) + "]");
  }
  return OkStatus();
}

// ---- loading: the header --------------------------------------------------------------

struct Header {
  const Json* model = nullptr;
  bool shadow = false;
  const Json* flags = nullptr;
  const Json::Array* tensors = nullptr;
  size_t payload_bytes = 0;
};

Status ReadHeader(const Json& h, Header* out) {
  if (!h.is_object()) return Corrupt("header: expected an object");
  for (const Json::Member& m : h.AsObject()) {
    const std::string& k = m.first;
    if (k != "writer" && k != "model" && k != "shadow" && k != "flags" && k != "tensors" &&
        k != "payloadBytes") {
      return Corrupt(JsonPath("header", k) + ": unknown key");
    }
  }
  if (const Json* w = h.Find("writer"); w && !w->is_string()) {
    return Corrupt("header.writer: expected a string");
  }
  StatusOr<const Json*> model = GetObject(h, "model", "header");
  if (!model.ok()) return Corrupt(model.status().message());
  out->model = model.value();
  StatusOr<bool> shadow = GetBool(h, "shadow", "header");
  if (!shadow.ok()) return Corrupt(shadow.status().message());
  out->shadow = shadow.value();
  StatusOr<const Json*> flags = GetObject(h, "flags", "header");
  if (!flags.ok()) return Corrupt(flags.status().message());
  out->flags = flags.value();
  StatusOr<const Json::Array*> tensors = GetArray(h, "tensors", "header");
  if (!tensors.ok()) return Corrupt(tensors.status().message());
  out->tensors = tensors.value();
  StatusOr<int64_t> payload = GetIntInRange(h, "payloadBytes", 0, int64_t(1) << 53, "header");
  if (!payload.ok()) return Corrupt(payload.status().message());
  out->payload_bytes = size_t(payload.value());
  return OkStatus();
}

// Matches the tensor table against the model's state: every entry named once, with the
// expected role, shape, bits and length, 8-aligned inside the payload. Sets offsets.
Status ReadTensorTable(const Json::Array& table, size_t payload_bytes, StateList* state) {
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < state->entries.size(); i++) index[state->entries[i].name] = i;
  std::vector<bool> seen(state->entries.size(), false);
  for (size_t t = 0; t < table.size(); t++) {
    const std::string at = JsonPath("header.tensors", t);
    const Json& j = table[t];
    if (!j.is_object()) return Corrupt(at + ": expected an object");
    for (const Json::Member& m : j.AsObject()) {
      const std::string& k = m.first;
      if (k != "name" && k != "role" && k != "shape" && k != "bits" && k != "offset" &&
          k != "length") {
        return Corrupt(JsonPath(at, k) + ": unknown key");
      }
    }
    StatusOr<std::string> name = GetString(j, "name", at);
    if (!name.ok()) return Corrupt(name.status().message());
    const auto found = index.find(name.value());
    if (found == index.end()) {
      return Corrupt(JsonPath(at, "name") + ": the model has no tensor " + Quote(name.value()));
    }
    if (seen[found->second]) {
      return Corrupt(JsonPath(at, "name") + ": " + Quote(name.value()) + " is listed twice");
    }
    seen[found->second] = true;
    Entry& e = state->entries[found->second];
    const std::string what = at + " (" + Quote(e.name) + ")";

    StatusOr<std::string> role = GetString(j, "role", at);
    if (!role.ok()) return Corrupt(role.status().message());
    const char* want_role = e.codes ? "codes" : "float";
    if (role.value() != want_role) {
      return Corrupt(what + ".role: expected \"" + want_role + "\", got " + Quote(role.value()));
    }
    StatusOr<const Json::Array*> shape = GetArray(j, "shape", at);
    if (!shape.ok()) return Corrupt(shape.status().message());
    bool same = shape.value()->size() == e.shape.rank();
    for (size_t d = 0; same && d < e.shape.rank(); d++) {
      const Json& dim = (*shape.value())[d];
      same = dim.is_number() && dim.AsNumber() == double(e.shape[d]);
    }
    if (!same) {
      return Corrupt(what + ".shape: " + j.Find("shape")->Dump() +
                     " does not match the architecture's " + e.shape.ToString());
    }
    const Json* bits = j.Find("bits");
    if (e.codes) {
      StatusOr<int64_t> b = GetInt(j, "bits", at);
      if (!b.ok()) return Corrupt(b.status().message());
      if (b.value() != e.bits) {
        return Corrupt(what + ".bits: " + std::to_string(b.value()) +
                       " does not match the layer's " + std::to_string(e.bits));
      }
    } else if (bits) {
      return Corrupt(what + ".bits: only codes have bits");
    }
    StatusOr<int64_t> offset = GetIntInRange(j, "offset", 0, int64_t(1) << 53, at);
    if (!offset.ok()) return Corrupt(offset.status().message());
    StatusOr<int64_t> length = GetIntInRange(j, "length", 0, int64_t(1) << 53, at);
    if (!length.ok()) return Corrupt(length.status().message());
    if (uint64_t(length.value()) != e.length) {
      return Corrupt(
          what + ".length: " + std::to_string(length.value()) + " bytes, but " +
          e.shape.ToString() +
          (e.codes ? " codes of " + std::to_string(e.bits) + " bits take " : " floats take ") +
          std::to_string(e.length));
    }
    if (offset.value() % int64_t(kAlign) != 0) {
      return Corrupt(what + ".offset: " + std::to_string(offset.value()) +
                     " is not a multiple of 8");
    }
    if (uint64_t(offset.value()) > payload_bytes ||
        uint64_t(length.value()) > payload_bytes - uint64_t(offset.value())) {
      return Corrupt(what + ": bytes [" + std::to_string(offset.value()) + ", " +
                     std::to_string(offset.value() + length.value()) +
                     ") lie outside the payload of " + std::to_string(payload_bytes) + " bytes");
    }
    e.offset = size_t(offset.value());
  }
  for (size_t i = 0; i < seen.size(); i++) {
    if (!seen[i]) {
      return Corrupt("header.tensors: no entry for " + Quote(state->entries[i].name) +
                     " of the model");
    }
  }
  return OkStatus();
}

// Sections must not overlap, and every payload byte outside them must be zero.
Status CheckPayloadCoverage(const std::vector<Entry>& entries, const uint8_t* payload,
                            size_t payload_bytes) {
  std::vector<const Entry*> order;
  for (const Entry& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](const Entry* a, const Entry* b) { return a->offset < b->offset; });
  size_t end = 0;  // of the sections so far
  const Entry* previous = nullptr;
  for (const Entry* e : order) {
    if (e->offset < end) {
      return Corrupt("header.tensors: " + Quote(e->name) + " overlaps " + Quote(previous->name));
    }
    for (size_t i = end; i < e->offset; i++) {
      if (payload[i] != 0)
        return Corrupt("non-zero padding byte in the payload at " + std::to_string(i));
    }
    end = e->offset + e->length;
    previous = e;
  }
  for (size_t i = end; i < payload_bytes; i++) {
    if (payload[i] != 0)
      return Corrupt("non-zero padding byte in the payload at " + std::to_string(i));
  }
  return OkStatus();
}

}  // namespace

// ---- saving ---------------------------------------------------------------------------

StatusOr<std::vector<uint8_t>> SaveModel(nn::Model& model, const SaveOptions& options) {
  StateList state(options.include_shadow);
  model.CollectState(&state);
  for (const Entry& e : state.entries) {
    if (e.codes) continue;
    const std::string bad = CheckValues(e.tensor->data(), e.tensor->size(), e.rule);
    if (!bad.empty()) {
      return FailedPrecondition("cannot save the model: " + e.name + " " + bad);
    }
  }
  std::vector<std::vector<int8_t>> codes;
  for (const nn::QuantizedWeightState& q : state.quantized) {
    const std::string bad = CheckValues(q.weight->data(), q.weight->size(), nn::FloatRule::kAny);
    if (!bad.empty()) return FailedPrecondition("cannot save the model: " + q.name + " " + bad);
    codes.push_back(CurrentCodes(q));
  }

  size_t payload_bytes = 0;
  Json table = Json::MakeArray();
  for (Entry& e : state.entries) {
    e.offset = AlignUp(payload_bytes);
    payload_bytes = e.offset + e.length;
    Json t = Json::MakeObject();
    t.Set("name", Json::String(e.name));
    t.Set("role", Json::String(e.codes ? "codes" : "float"));
    Json shape = Json::MakeArray();
    for (size_t d : e.shape.dims()) shape.Push(Json::Number(double(d)));
    t.Set("shape", std::move(shape));
    if (e.codes) t.Set("bits", Json::Number(e.bits));
    t.Set("offset", Json::Number(double(e.offset)));
    t.Set("length", Json::Number(double(e.length)));
    table.Push(std::move(t));
  }
  Json flags = Json::MakeObject();
  for (size_t i = 0; i < state.flags.size(); i++) {
    flags.Set(state.flags[i], Json::Bool(state.flag_values[i]));
  }
  Json header = Json::MakeObject();
  header.Set("writer", Json::String(std::string("qforget ") + QF_VERSION));
  header.Set("model", model.Describe());
  header.Set("shadow", Json::Bool(options.include_shadow));
  header.Set("flags", std::move(flags));
  header.Set("tensors", std::move(table));
  header.Set("payloadBytes", Json::Number(double(payload_bytes)));
  const std::string text = header.Dump();
  if (text.size() > UINT32_MAX) return ResourceExhausted("model file header exceeds 4 GB");

  const size_t payload_start = AlignUp(kFixedBytes + text.size());
  std::vector<uint8_t> out(payload_start + payload_bytes + kCrcBytes, 0);
  std::memcpy(out.data(), kModelFileMagic, 8);
  const bool grids = std::any_of(state.quantized.begin(), state.quantized.end(), [](const auto& q) {
    return q.grid.scheme != quant::WeightScheme::kUniform;
  });
  PutU32(out.data() + 8, FileVersion(model.spec(), grids || state.narrow_inputs));
  PutU32(out.data() + 12, uint32_t(text.size()));
  std::memcpy(out.data() + kFixedBytes, text.data(), text.size());
  uint8_t* payload = out.data() + payload_start;
  for (const Entry& e : state.entries) {
    uint8_t* p = payload + e.offset;
    if (e.codes) {
      PackCodes(codes[e.quantized], e.bits, p);
    } else {
      for (size_t i = 0; i < e.tensor->size(); i++) PutF32(p + 4 * i, (*e.tensor)[i]);
    }
  }
  const size_t body = out.size() - kCrcBytes;
  PutU32(out.data() + body, Crc32(out.data(), body));
  return out;
}

// ---- loading --------------------------------------------------------------------------

StatusOr<std::unique_ptr<nn::Model>> LoadModel(const uint8_t* bytes, size_t size) {
  if (bytes == nullptr || size < kFixedBytes + kCrcBytes) {
    return Corrupt("truncated: " + std::to_string(size) + " bytes, fewer than the " +
                   std::to_string(kFixedBytes + kCrcBytes) + " of an empty file");
  }
  if (std::memcmp(bytes, kModelFileMagic, 8) != 0) {
    return Corrupt("not a qforget model file (the first 8 bytes are not \"QFMODEL\\0\")");
  }
  const uint32_t version = GetU32(bytes + 8);
  if (version > kModelFileVersion) {
    return Unimplemented("model file format version " + std::to_string(version) +
                         " is newer than this build of qforget reads (version " +
                         std::to_string(kModelFileVersion) + "); update qforget to load it");
  }
  if (version == 0) return Corrupt("format version 0 does not exist");
  const size_t header_bytes = GetU32(bytes + 12);
  if (header_bytes > size - kFixedBytes - kCrcBytes) {
    return Corrupt("truncated or corrupted: a header of " + std::to_string(header_bytes) +
                   " bytes does not fit the " + std::to_string(size) + "-byte file");
  }
  const uint32_t stored_crc = GetU32(bytes + size - kCrcBytes);
  const uint32_t crc = Crc32(bytes, size - kCrcBytes);
  if (crc != stored_crc) {
    return Corrupt("checksum mismatch (the file is corrupted or truncated)");
  }

  StatusOr<Json> parsed =
      ParseJson(std::string_view(reinterpret_cast<const char*>(bytes + kFixedBytes), header_bytes));
  if (!parsed.ok()) return Corrupt("header: " + parsed.status().message());
  Header h;
  QF_RETURN_IF_ERROR(ReadHeader(parsed.value(), &h));
  const size_t payload_start = AlignUp(kFixedBytes + header_bytes);
  if (payload_start > size - kCrcBytes || h.payload_bytes != size - kCrcBytes - payload_start) {
    return Corrupt("header.payloadBytes: " + std::to_string(h.payload_bytes) +
                   " does not match the file size " + std::to_string(size));
  }
  for (size_t i = kFixedBytes + header_bytes; i < payload_start; i++) {
    if (bytes[i] != 0)
      return Corrupt("non-zero padding byte after the header at " + std::to_string(i));
  }
  const uint8_t* payload = bytes + payload_start;

  // Every value of a valid file is stored in >= 1/4 byte: that bounds what the header
  // may make us allocate.
  const size_t budget = h.payload_bytes > SIZE_MAX / 4 ? SIZE_MAX : 4 * h.payload_bytes;
  StatusOr<std::unique_ptr<nn::Model>> built =
      nn::ModelFromDescription(*h.model, "header.model", budget,
                               /*legacy_pixel_grid=*/version <= kModelFileVersion2);
  if (!built.ok()) return Corrupt(built.status().message());
  nn::Model& model = *built.value();

  StateList state(h.shadow);
  model.CollectState(&state);
  std::unordered_map<std::string, bool> flags;
  for (const Json::Member& m : h.flags->AsObject()) {
    if (std::find(state.flags.begin(), state.flags.end(), m.first) == state.flags.end()) {
      return Corrupt(JsonPath("header.flags", m.first) + ": the model has no such flag");
    }
    if (!m.second.is_bool())
      return Corrupt(JsonPath("header.flags", m.first) + ": expected true or false");
    flags[m.first] = m.second.AsBool();
  }
  for (const std::string& name : state.flags) {
    if (!flags.count(name)) return Corrupt(JsonPath("header.flags", name) + ": missing");
  }
  QF_RETURN_IF_ERROR(ReadTensorTable(*h.tensors, h.payload_bytes, &state));
  QF_RETURN_IF_ERROR(CheckPayloadCoverage(state.entries, payload, h.payload_bytes));

  // Floats first (steps and shadow weights are needed by the codes below).
  for (const Entry& e : state.entries) {
    if (e.codes) continue;
    const uint8_t* p = payload + e.offset;
    for (size_t i = 0; i < e.tensor->size(); i++) (*e.tensor)[i] = GetF32(p + 4 * i);
    const std::string bad = CheckValues(e.tensor->data(), e.tensor->size(), e.rule);
    if (!bad.empty()) return Corrupt(Quote(e.name) + ": " + bad);
  }
  std::vector<int8_t> codes;
  for (const Entry& e : state.entries) {
    if (!e.codes) continue;
    const nn::QuantizedWeightState& q = state.quantized[e.quantized];
    QF_RETURN_IF_ERROR(
        UnpackCodes(payload + e.offset, e.shape.size(), e.bits, Quote(e.name), &codes));
    if (!h.shadow) {
      // The shadow weights start on the grid.
      quant::GridTable table;
      quant::BuildTable(q.grid, &table);
      quant::DequantizeGrid(q.grid, table, codes.data(), q.weight->data());
      const std::string bad = CheckValues(q.weight->data(), q.weight->size(), nn::FloatRule::kAny);
      if (!bad.empty()) return Corrupt(Quote(e.name) + ": code x step " + bad);
    }
    // With shadow weights the codes must be theirs; without, each code's weight must
    // quantize back to the code (it does for uniform grids with any finite, positive step
    // that keeps it finite; pow2's unused code and a codebook's repeated levels do not).
    const std::vector<int8_t> requantized = CurrentCodes(q);
    if (requantized != codes) {
      const size_t i = size_t(std::mismatch(codes.begin(), codes.end(), requantized.begin()).first -
                              codes.begin());
      return Corrupt(Quote(e.name) + ": code " + std::to_string(i) + " (" +
                     std::to_string(codes[i]) + ") disagrees with " +
                     (h.shadow ? "its shadow weight and grid (" : "its grid (") +
                     std::to_string(requantized[i]) + ")");
    }
  }
  FlagWriter writer(&flags);
  model.CollectState(&writer);
  model.OnParamsChanged();
  return std::move(built).value();
}

}  // namespace qf::io
