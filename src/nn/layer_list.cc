// JSON layer lists: a strict reader (every key checked, every error a JSON path) and a
// writer that spells out every option. Not a builder: Model::Create builds the chain.
#include "nn/layer_list.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "nn/activations.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/depthwise_conv2d.h"
#include "nn/pooling.h"
#include "nn/residual.h"

namespace qf::nn {
namespace {

constexpr int64_t kMaxUnits = 65536;  // dense units, conv filters
constexpr int64_t kMaxExtent = 4096;  // kernel, pool and stride extents, pads
constexpr int kMaxNesting = 16;       // residual / sequential levels (JSON depth 64 holds 16)
constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- reading -------------------------------------------------------------------------

Status CheckKeys(const Json& obj, const std::string& path, const std::string& type,
                 std::initializer_list<const char*> allowed) {
  for (const Json::Member& m : obj.AsObject()) {
    bool known = false;
    for (const char* k : allowed) known = known || m.first == k;
    if (known) continue;
    std::string list;
    for (const char* k : allowed) list += std::string(list.empty() ? "" : ", ") + k;
    return InvalidArgument(JsonPath(path, m.first) + ": unknown key (" + type + " takes " + list +
                           ")");
  }
  return OkStatus();
}

struct Extent2 {
  size_t h, w;
};

// An integer or an array [h, w] of integers in [lo, hi]; `fallback` when absent (or
// required when fallback is null).
StatusOr<Extent2> ReadExtent2(const Json& obj, const char* key, const std::string& path, int64_t lo,
                              int64_t hi, const Extent2* fallback) {
  const Json* v = obj.Find(key);
  const std::string at = JsonPath(path, key);
  if (!v) {
    if (fallback) return *fallback;
    return InvalidArgument(at + ": required key is missing");
  }
  auto in_range = [&](const Json& x, const std::string& where) -> StatusOr<size_t> {
    StatusOr<int64_t> n = ToInt(x, where);
    if (!n.ok()) return n.status();
    if (n.value() < lo || n.value() > hi) {
      return InvalidArgument(where + ": " + std::to_string(n.value()) +
                             " is outside the allowed range " + std::to_string(lo) + ".." +
                             std::to_string(hi));
    }
    return size_t(n.value());
  };
  if (v->is_number()) {
    StatusOr<size_t> n = in_range(*v, at);
    if (!n.ok()) return n.status();
    return Extent2{n.value(), n.value()};
  }
  if (v->is_array() && v->size() == 2) {
    StatusOr<size_t> h = in_range(v->AsArray()[0], JsonPath(at, size_t(0)));
    if (!h.ok()) return h.status();
    StatusOr<size_t> w = in_range(v->AsArray()[1], JsonPath(at, size_t(1)));
    if (!w.ok()) return w.status();
    return Extent2{h.value(), w.value()};
  }
  return InvalidArgument(at + ": expected an integer or [height, width], found " +
                         (v->is_array() ? "an array of " + std::to_string(v->size())
                                        : std::string(JsonTypeName(v->type()))));
}

StatusOr<Padding> ReadPadding(const Json& obj, const std::string& path) {
  const Json* v = obj.Find("padding");
  Padding p;
  if (!v) return p;  // valid
  const std::string at = JsonPath(path, "padding");
  if (v->is_string() && v->AsString() == "valid") return p;
  if (v->is_string() && v->AsString() == "same") {
    p.mode = Padding::Mode::kSame;
    return p;
  }
  if (v->is_array() && v->size() == 4) {
    size_t pads[4];
    for (size_t i = 0; i < 4; i++) {
      const std::string where = JsonPath(at, i);
      StatusOr<int64_t> n = ToInt(v->AsArray()[i], where);
      if (!n.ok()) return n.status();
      if (n.value() < 0 || n.value() > kMaxExtent) {
        return InvalidArgument(where + ": " + std::to_string(n.value()) +
                               " is outside the allowed range 0.." + std::to_string(kMaxExtent));
      }
      pads[i] = size_t(n.value());
    }
    p.mode = Padding::Mode::kExplicit;
    p.top = pads[0];
    p.left = pads[1];
    p.bottom = pads[2];
    p.right = pads[3];
    return p;
  }
  return InvalidArgument(
      at + ": expected \"valid\", \"same\" or [top, left, bottom, right], found " +
      (v->is_string() ? "\"" + v->AsString() + "\"" : std::string(JsonTypeName(v->type()))));
}

bool ValidBits(int64_t b) { return b == 2 || b == 3 || b == 4 || b == 8 || b == 32; }

StatusOr<QuantConfig> ReadQuant(const Json& obj, const std::string& path, const ModelSpec& spec) {
  StatusOr<int64_t> bits = GetIntOr(obj, "bits", spec.weight_bits, path);
  if (!bits.ok()) return bits.status();
  if (!ValidBits(bits.value())) {
    return InvalidArgument(JsonPath(path, "bits") + ": expected 2, 3, 4, 8 or 32 (float), got " +
                           std::to_string(bits.value()));
  }
  StatusOr<bool> per_channel = GetBoolOr(obj, "perChannel", spec.per_channel, path);
  if (!per_channel.ok()) return per_channel.status();
  QuantConfig q;
  q.weight_bits = int(bits.value());
  q.per_channel = per_channel.value();
  const quant::WeightScheme fallback = q.weight_bits == spec.weight_bits
                                           ? spec.weight_scheme
                                           : quant::WeightScheme::kUniform;
  QF_RETURN_IF_ERROR(SchemeKey(obj, "scheme", fallback, q.weight_bits, path, &q.scheme));
  const int activation_fallback = q.weight_bits == spec.weight_bits ? spec.activation_bits : 8;
  QF_ASSIGN_OR_RETURN(const int64_t activation_bits,
                      GetIntOr(obj, "activationBits", activation_fallback, path));
  if (activation_bits != 8 && (activation_bits != 4 || q.weight_bits == 32)) {
    return InvalidArgument(JsonPath(path, "activationBits") +
                           ": expected 8, or 4 with quantized weights, got " +
                           std::to_string(activation_bits));
  }
  q.activation_bits = int(activation_bits);
  return q;
}

// A number as float32 within [lo, hi] (hi may be +inf); `lo_open` excludes lo.
StatusOr<float> ReadFloat(const Json& obj, const char* key, const std::string& path, float fallback,
                          float lo, bool lo_open, float hi) {
  StatusOr<double> v = GetNumberOr(obj, key, double(fallback), path);
  if (!v.ok()) return v.status();
  const float f = float(v.value());
  if (!std::isfinite(f) || (lo_open ? !(f > lo) : !(f >= lo)) || !(f <= hi)) {
    std::string range = std::string(lo_open ? "(" : "[") + Json::Number(lo).Dump() + ", " +
                        (std::isinf(hi) ? "inf)" : Json::Number(hi).Dump() + "]");
    return InvalidArgument(JsonPath(path, key) + ": expected a float32 in " + range + ", got " +
                           Json::Number(v.value()).Dump());
  }
  return f;
}

class Reader {
 public:
  explicit Reader(const ModelSpec& spec) : spec_(spec) {}

  // Appends the layers of the array `list` (found at `path`) to `out`.
  Status List(const Json& list, const std::string& path, int depth, Sequential* out) {
    if (!list.is_array()) {
      return InvalidArgument(path + ": expected an array of layers, found " +
                             JsonTypeName(list.type()));
    }
    if (depth > kMaxNesting) {
      return InvalidArgument(path + ": layers nested deeper than " + std::to_string(kMaxNesting) +
                             " levels");
    }
    for (size_t i = 0; i < list.size(); i++) {
      StatusOr<std::unique_ptr<Layer>> layer = One(list.AsArray()[i], JsonPath(path, i), depth);
      if (!layer.ok()) return layer.status();
      out->Add(std::move(layer).value());
    }
    return OkStatus();
  }

 private:
  StatusOr<std::unique_ptr<Layer>> One(const Json& obj, const std::string& path, int depth) {
    if (!obj.is_object()) {
      return InvalidArgument(path + ": expected a layer object, found " +
                             JsonTypeName(obj.type()));
    }
    StatusOr<std::string> type_or = GetString(obj, "type", path);
    if (!type_or.ok()) return type_or.status();
    const std::string& type = type_or.value();

    if (type == "dense") {
      QF_RETURN_IF_ERROR(CheckKeys(obj, path, type, {"type", "units", "bits", "perChannel", "scheme", "activationBits"}));
      StatusOr<int64_t> units = GetIntInRange(obj, "units", 1, kMaxUnits, path);
      if (!units.ok()) return units.status();
      StatusOr<QuantConfig> q = ReadQuant(obj, path, spec_);
      if (!q.ok()) return q.status();
      return std::unique_ptr<Layer>(new Dense(size_t(units.value()), q.value()));
    }
    if (type == "conv2d" || type == "depthwise_conv2d") {
      const bool dw = type == "depthwise_conv2d";
      if (dw) {
        QF_RETURN_IF_ERROR(CheckKeys(
            obj, path, type,
            {"type", "kernel", "stride", "padding", "bits", "perChannel", "scheme",
             "activationBits"}));
      } else {
        QF_RETURN_IF_ERROR(
            CheckKeys(obj, path, type,
                      {"type", "filters", "kernel", "stride", "padding", "bits", "perChannel",
                       "scheme", "activationBits"}));
      }
      int64_t filters = 0;
      if (!dw) {
        StatusOr<int64_t> f = GetIntInRange(obj, "filters", 1, kMaxUnits, path);
        if (!f.ok()) return f.status();
        filters = f.value();
      }
      StatusOr<Extent2> kernel = ReadExtent2(obj, "kernel", path, 1, kMaxExtent, nullptr);
      if (!kernel.ok()) return kernel.status();
      const Extent2 one{1, 1};
      StatusOr<Extent2> stride = ReadExtent2(obj, "stride", path, 1, kMaxExtent, &one);
      if (!stride.ok()) return stride.status();
      StatusOr<Padding> padding = ReadPadding(obj, path);
      if (!padding.ok()) return padding.status();
      StatusOr<QuantConfig> q = ReadQuant(obj, path, spec_);
      if (!q.ok()) return q.status();
      if (dw) {
        DepthwiseOptions o;
        o.kh = kernel.value().h;
        o.kw = kernel.value().w;
        o.stride_h = stride.value().h;
        o.stride_w = stride.value().w;
        o.padding = padding.value();
        return std::unique_ptr<Layer>(new DepthwiseConv2D(o, q.value()));
      }
      Conv2DOptions o;
      o.filters = size_t(filters);
      o.kh = kernel.value().h;
      o.kw = kernel.value().w;
      o.stride_h = stride.value().h;
      o.stride_w = stride.value().w;
      o.padding = padding.value();
      return std::unique_ptr<Layer>(new Conv2D(o, q.value()));
    }
    if (type == "batch_norm") {
      QF_RETURN_IF_ERROR(CheckKeys(obj, path, type, {"type", "momentum", "eps"}));
      StatusOr<float> momentum = ReadFloat(obj, "momentum", path, 0.1f, 0.0f, false, 1.0f);
      if (!momentum.ok()) return momentum.status();
      StatusOr<float> eps = ReadFloat(obj, "eps", path, 1e-5f, 0.0f, true, kInf);
      if (!eps.ok()) return eps.status();
      return std::unique_ptr<Layer>(new BatchNorm(momentum.value(), eps.value()));
    }
    if (type == "relu") {
      QF_RETURN_IF_ERROR(CheckKeys(obj, path, type, {"type", "cap"}));
      StatusOr<float> cap = ReadFloat(obj, "cap", path, std::numeric_limits<float>::max(), 0.0f,
                                      true, std::numeric_limits<float>::max());
      if (!cap.ok()) return cap.status();
      const bool capped = obj.Find("cap") != nullptr;
      return std::unique_ptr<Layer>(new Relu(capped ? cap.value() : kInf));
    }
    if (type == "relu6" || type == "flatten" || type == "global_avg_pool") {
      QF_RETURN_IF_ERROR(CheckKeys(obj, path, type, {"type"}));
      if (type == "relu6") return std::unique_ptr<Layer>(new Relu(6.0f));
      if (type == "flatten") return std::unique_ptr<Layer>(new Flatten());
      return std::unique_ptr<Layer>(new GlobalAvgPool());
    }
    if (type == "max_pool2d" || type == "avg_pool2d") {
      QF_RETURN_IF_ERROR(CheckKeys(obj, path, type, {"type", "pool", "stride", "padding"}));
      const Extent2 two{2, 2};
      StatusOr<Extent2> pool = ReadExtent2(obj, "pool", path, 1, kMaxExtent, &two);
      if (!pool.ok()) return pool.status();
      StatusOr<Extent2> stride = ReadExtent2(obj, "stride", path, 1, kMaxExtent, &pool.value());
      if (!stride.ok()) return stride.status();
      StatusOr<Padding> padding = ReadPadding(obj, path);
      if (!padding.ok()) return padding.status();
      Pool2DOptions o;
      o.kh = pool.value().h;
      o.kw = pool.value().w;
      o.stride_h = stride.value().h;
      o.stride_w = stride.value().w;
      o.padding = padding.value();
      if (type == "max_pool2d") return std::unique_ptr<Layer>(new MaxPool2D(o));
      return std::unique_ptr<Layer>(new AvgPool2D(o));
    }
    if (type == "residual") {
      QF_RETURN_IF_ERROR(CheckKeys(obj, path, type, {"type", "body", "shortcut"}));
      const Json* body_json = obj.Find("body");
      if (!body_json) return InvalidArgument(JsonPath(path, "body") + ": required key is missing");
      auto body = std::make_unique<Sequential>();
      QF_RETURN_IF_ERROR(List(*body_json, JsonPath(path, "body"), depth + 1, body.get()));
      auto shortcut = std::make_unique<Sequential>();
      if (const Json* s = obj.Find("shortcut")) {
        QF_RETURN_IF_ERROR(List(*s, JsonPath(path, "shortcut"), depth + 1, shortcut.get()));
      }
      return std::unique_ptr<Layer>(new Residual(std::move(body), std::move(shortcut)));
    }
    if (type == "sequential") {
      QF_RETURN_IF_ERROR(CheckKeys(obj, path, type, {"type", "layers"}));
      const Json* list = obj.Find("layers");
      if (!list) return InvalidArgument(JsonPath(path, "layers") + ": required key is missing");
      auto chain = std::make_unique<Sequential>();
      QF_RETURN_IF_ERROR(List(*list, JsonPath(path, "layers"), depth + 1, chain.get()));
      return std::unique_ptr<Layer>(std::move(chain));
    }
    return InvalidArgument(JsonPath(path, "type") + ": unknown layer type \"" + type +
                           "\" (expected dense, conv2d, depthwise_conv2d, batch_norm, relu, "
                           "relu6, flatten, max_pool2d, avg_pool2d, global_avg_pool, residual "
                           "or sequential)");
  }

  const ModelSpec& spec_;
};

// ---- writing -------------------------------------------------------------------------

// The shortest decimal that reads back (as double, then float) as exactly `f`: 0.1f is
// written 0.1, not 0.100000001490116.
Json FloatNumber(float f) {
  char buf[32];
  for (int digits = 1; digits <= 9; digits++) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, double(f));
    const double d = std::strtod(buf, nullptr);
    if (float(d) == f) return Json::Number(d);
  }
  return Json::Number(double(f));
}

Json Extent2Json(size_t h, size_t w) {
  if (h == w) return Json::Number(double(h));
  return Json::MakeArray({Json::Number(double(h)), Json::Number(double(w))});
}

Json PaddingJson(const Padding& p) {
  switch (p.mode) {
    case Padding::Mode::kValid:
      return Json::String("valid");
    case Padding::Mode::kSame:
      return Json::String("same");
    case Padding::Mode::kExplicit:
      break;
  }
  return Json::MakeArray({Json::Number(double(p.top)), Json::Number(double(p.left)),
                          Json::Number(double(p.bottom)), Json::Number(double(p.right))});
}

void SetQuant(const QuantConfig& q, Json* out) {
  out->Set("bits", Json::Number(q.weight_bits));
  out->Set("perChannel", Json::Bool(q.per_channel));
  // Written only when it is not the default, so that uniform layers read as before.
  if (q.scheme != quant::WeightScheme::kUniform) {
    out->Set("scheme", Json::String(quant::SchemeName(q.scheme)));
  }
  if (q.activation_bits != 8) out->Set("activationBits", Json::Number(q.activation_bits));
}

}  // namespace

Status SchemeKey(const Json& obj, const char* key, quant::WeightScheme fallback, int bits,
                 std::string_view where, quant::WeightScheme* out) {
  if (!obj.Find(key)) {
    *out = fallback;
  } else {
    QF_ASSIGN_OR_RETURN(const std::string name, GetString(obj, key, where));
    if (!quant::SchemeFromName(name, out)) {
      return InvalidArgument(JsonPath(where, key) + ": unknown weight scheme \"" + name +
                             "\" (expected uniform, asymmetric, pow2, apot or codebook)");
    }
  }
  if (bits == 32) {
    if (*out == quant::WeightScheme::kUniform || !obj.Find(key)) {
      *out = quant::WeightScheme::kUniform;
      return OkStatus();
    }
    return InvalidArgument(JsonPath(where, key) + ": " + quant::SchemeName(*out) +
                           " needs quantized weights (2, 3, 4 or 8 bits), not float");
  }
  const std::string why = quant::SchemeBitsError(*out, bits);
  if (!why.empty()) return InvalidArgument(JsonPath(where, key) + ": " + why);
  return OkStatus();
}

StatusOr<std::unique_ptr<Sequential>> LayersFromJson(const Json& layers, const ModelSpec& spec,
                                                     std::string_view where) {
  if (!ValidBits(spec.weight_bits)) {
    return InvalidArgument("weightBits must be 2, 3, 4, 8 or 32 (float), got " +
                           std::to_string(spec.weight_bits));
  }
  auto net = std::make_unique<Sequential>();
  Reader reader(spec);
  QF_RETURN_IF_ERROR(reader.List(layers, std::string(where), 0, net.get()));
  return net;
}

Json LayerToJson(const Layer& layer) {
  Json out = Json::MakeObject();
  out.Set("type", Json::String(layer.type()));
  if (const auto* d = dynamic_cast<const Dense*>(&layer)) {
    out.Set("units", Json::Number(double(d->units())));
    SetQuant(d->quant(), &out);
  } else if (const auto* c = dynamic_cast<const Conv2D*>(&layer)) {
    const Conv2DOptions& o = c->options();
    out.Set("filters", Json::Number(double(o.filters)));
    out.Set("kernel", Extent2Json(o.kh, o.kw));
    out.Set("stride", Extent2Json(o.stride_h, o.stride_w));
    out.Set("padding", PaddingJson(o.padding));
    SetQuant(c->quant(), &out);
  } else if (const auto* dw = dynamic_cast<const DepthwiseConv2D*>(&layer)) {
    const DepthwiseOptions& o = dw->options();
    out.Set("kernel", Extent2Json(o.kh, o.kw));
    out.Set("stride", Extent2Json(o.stride_h, o.stride_w));
    out.Set("padding", PaddingJson(o.padding));
    SetQuant(dw->quant(), &out);
  } else if (const auto* bn = dynamic_cast<const BatchNorm*>(&layer)) {
    out.Set("momentum", FloatNumber(bn->momentum()));
    out.Set("eps", FloatNumber(bn->eps()));
  } else if (const auto* r = dynamic_cast<const Relu*>(&layer)) {
    // type() is "relu" for no cap and "relu6" for any cap; only 6 may say so.
    if (!std::isinf(r->cap()) && r->cap() != 6.0f) {
      out.Set("type", Json::String("relu"));
      out.Set("cap", FloatNumber(r->cap()));
    }
  } else if (const auto* p = dynamic_cast<const Pool2D*>(&layer)) {
    const Pool2DOptions& o = p->options();
    out.Set("pool", Extent2Json(o.kh, o.kw));
    out.Set("stride", Extent2Json(o.stride_h, o.stride_w));
    out.Set("padding", PaddingJson(o.padding));
  } else if (const auto* res = dynamic_cast<const Residual*>(&layer)) {
    out.Set("body", LayersToJson(res->body()));
    if (!res->identity_shortcut()) out.Set("shortcut", LayersToJson(res->shortcut()));
  } else if (const auto* seq = dynamic_cast<const Sequential*>(&layer)) {
    out.Set("layers", LayersToJson(*seq));
  } else {
    // Flatten and GlobalAvgPool have no options. Any other layer class must be added
    // above and to the reader: a description that cannot be read back is a bug.
    const std::string type = layer.type();
    QF_CHECK(type == "flatten" || type == "global_avg_pool");
  }
  return out;
}

Json LayersToJson(const Sequential& net) {
  Json out = Json::MakeArray();
  for (size_t i = 0; i < net.size(); i++) out.Push(LayerToJson(net.layer(i)));
  return out;
}

std::string LayerPathFromName(std::string_view name, std::string_view where) {
  if (name.empty()) return {};
  std::string out(where);
  bool in_list = true;  // the next number indexes a list (else: a nested chain's layers)
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view token = name.substr(start, end - start);
    if (token.empty()) return {};
    if (token.find_first_not_of("0123456789") == std::string_view::npos) {
      out += std::string(in_list ? "" : ".layers") + "[" + std::string(token) + "]";
      in_list = false;
    } else if (!in_list && (token == "body" || token == "shortcut")) {
      out += "." + std::string(token);
      in_list = true;
    } else {
      return {};
    }
    start = end + 1;
  }
  return in_list ? std::string() : out;
}

Status RenameLayerInStatus(const Status& status, std::string_view where) {
  const std::string& m = status.message();
  const size_t colon = m.find(": ");
  if (colon == std::string::npos) return status;
  const std::string path = LayerPathFromName(std::string_view(m).substr(0, colon), where);
  if (path.empty()) return status;
  return Status(status.code(), path + m.substr(colon));
}

}  // namespace qf::nn
