// ModelSpec <-> JSON, with every key checked and named in errors. Not the layer list
// (nn/layer_list.cc) and not the model file (io/model_file.cc).
#include "nn/model_json.h"

#include <string>
#include <utility>
#include <vector>

#include "nn/layer_list.h"

namespace qf::nn {
namespace {

constexpr int64_t kMaxInputExtent = 4096;
constexpr size_t kMaxInputValues = size_t(1) << 24;
constexpr int64_t kMaxSeed = int64_t(1) << 53;

Status BitsKey(const Json& obj, const char* key, bool required, int fallback,
               std::string_view where, int* out) {
  StatusOr<int64_t> b =
      required ? GetInt(obj, key, where) : GetIntOr(obj, key, fallback, where);
  if (!b.ok()) return b.status();
  const int64_t v = b.value();
  if (!(v == 2 || v == 3 || v == 4 || v == 8 || v == 32)) {
    return InvalidArgument(JsonPath(where, key) + " must be 2, 3, 4, 8 or 32 (float), got " +
                           std::to_string(v));
  }
  *out = int(v);
  return OkStatus();
}

StatusOr<Shape> InputShapeKey(const Json& obj, std::string_view where) {
  StatusOr<const Json::Array*> dims = GetArray(obj, "inputShape", where);
  if (!dims.ok()) return dims.status();
  const std::string at = JsonPath(where, "inputShape");
  if (dims.value()->empty() || dims.value()->size() > 4) {
    return InvalidArgument(at + ": expected 1 to 4 dimensions, got " +
                           std::to_string(dims.value()->size()));
  }
  std::vector<size_t> shape;
  size_t values = 1;
  for (size_t i = 0; i < dims.value()->size(); i++) {
    const std::string dim = JsonPath(at, i);
    StatusOr<int64_t> d = ToInt((*dims.value())[i], dim);
    if (!d.ok()) return d.status();
    if (d.value() < 1 || d.value() > kMaxInputExtent) {
      return InvalidArgument(dim + ": " + std::to_string(d.value()) +
                             " is outside the allowed range 1.." + std::to_string(kMaxInputExtent));
    }
    shape.push_back(size_t(d.value()));
    values *= size_t(d.value());  // <= 4096^4 = 2^48: no overflow
  }
  if (values > kMaxInputValues) {
    return InvalidArgument(at + ": " + std::to_string(values) + " values per sample exceed " +
                           std::to_string(kMaxInputValues));
  }
  return Shape(std::move(shape));
}

// "preprocess": {"scale", "mean", "std"}, all optional, into the spec (whose input_type
// is read already: it decides scale's default).
Status PreprocessKey(const Json& obj, std::string_view where, ModelSpec* spec) {
  spec->input_scale = spec->input_type == DType::kUint8 ? 1.0 / 255.0 : 1.0;
  const Json* p = obj.Find("preprocess");
  if (!p) return OkStatus();
  const std::string at = JsonPath(where, "preprocess");
  if (!p->is_object()) {
    return InvalidArgument(at + ": expected an object {scale, mean, std}, found " +
                           JsonTypeName(p->type()));
  }
  for (const Json::Member& m : p->AsObject()) {
    if (m.first != "scale" && m.first != "mean" && m.first != "std") {
      return InvalidArgument(JsonPath(at, m.first) + ": unknown key (expected scale, mean, std)");
    }
  }
  QF_ASSIGN_OR_RETURN(const double scale, GetNumberOr(*p, "scale", spec->input_scale, at));
  spec->input_scale = scale;
  for (const auto& [key, out] : {std::pair<const char*, std::vector<double>*>{"mean", &spec->input_mean},
                                 {"std", &spec->input_std}}) {
    if (!p->Find(key)) continue;
    QF_ASSIGN_OR_RETURN(const Json::Array* values, GetArray(*p, key, at));
    out->clear();
    for (size_t i = 0; i < values->size(); i++) {
      if (!(*values)[i].is_number()) {
        return InvalidArgument(JsonPath(JsonPath(at, key), i) + ": expected a number, found " +
                               JsonTypeName((*values)[i].type()));
      }
      out->push_back((*values)[i].AsNumber());
    }
  }
  return OkStatus();
}

bool BuiltIn(const std::string& arch) {
  return arch == "mlp" || arch == "lenet" || arch == "resnet8" || arch == "mobilenetv2";
}

// Reads the spec's keys. `description`: a Describe() object, whose layers are required
// with every arch and returned through `layers` instead of stored for built-in archs.
Status ReadSpec(const Json& obj, std::string_view where, bool description, ModelSpec* spec,
                const Json** layers) {
  if (!obj.is_object()) {
    return InvalidArgument((where.empty() ? std::string("options") : std::string(where)) +
                           ": expected an object, found " + JsonTypeName(obj.type()));
  }
  static const char* const kKeys[] = {
      "arch",       "inputShape", "inputType",  "inputLayout", "inputNonNegative", "preprocess",
      "numClasses", "weightBits", "weightScheme", "activationBits", "edgeBits", "perChannel",
      "seed", "layers"};
  for (const Json::Member& m : obj.AsObject()) {
    bool known = false;
    for (const char* k : kKeys) known = known || m.first == k;
    if (!known) {
      return InvalidArgument(JsonPath(where, m.first) +
                             ": unknown key (expected arch, inputShape, inputType, inputLayout, "
                             "inputNonNegative, preprocess, numClasses, weightBits, weightScheme, activationBits, "
                             "edgeBits, perChannel, "
                             "seed, layers)");
    }
  }
  StatusOr<std::string> arch = GetString(obj, "arch", where);
  if (!arch.ok()) return arch.status();
  if (!BuiltIn(arch.value()) && arch.value() != "custom") {
    return InvalidArgument(JsonPath(where, "arch") +
                           " must be one of mlp, lenet, resnet8, mobilenetv2, custom; got '" +
                           arch.value() + "'");
  }
  spec->arch = arch.value();
  StatusOr<Shape> input = InputShapeKey(obj, where);
  if (!input.ok()) return input.status();
  spec->input = input.value();
  QF_ASSIGN_OR_RETURN(const std::string input_type, GetStringOr(obj, "inputType", "uint8", where));
  if (input_type != "uint8" && input_type != "float32") {
    return InvalidArgument(JsonPath(where, "inputType") +
                           " must be 'uint8' (pixels) or 'float32' (features), got '" +
                           input_type + "'");
  }
  spec->input_type = input_type == "uint8" ? DType::kUint8 : DType::kFloat32;
  QF_ASSIGN_OR_RETURN(const std::string layout, GetStringOr(obj, "inputLayout", "nhwc", where));
  if (layout != "nhwc" && layout != "nchw") {
    return InvalidArgument(JsonPath(where, "inputLayout") +
                           " must be 'nhwc' (channels last) or 'nchw' (channels first), got '" +
                           layout + "'");
  }
  if (layout == "nchw" && spec->input.rank() != 3) {
    return InvalidArgument(JsonPath(where, "inputLayout") +
                           ": 'nchw' needs a [C, H, W] inputShape, got " +
                           spec->input.ToString());
  }
  spec->input_layout = layout == "nchw" ? InputLayout::kNCHW : InputLayout::kNHWC;
  QF_RETURN_IF_ERROR(PreprocessKey(obj, where, spec));
  if (obj.Find("inputNonNegative")) {
    QF_ASSIGN_OR_RETURN(const bool non_negative, GetBoolOr(obj, "inputNonNegative", false, where));
    spec->input_non_negative = non_negative;
  }
  StatusOr<int64_t> classes = GetIntInRange(obj, "numClasses", 2, int64_t(kMaxClasses), where);
  if (!classes.ok()) return classes.status();
  spec->classes = size_t(classes.value());
  QF_RETURN_IF_ERROR(BitsKey(obj, "weightBits", true, 0, where, &spec->weight_bits));
  QF_RETURN_IF_ERROR(SchemeKey(obj, "weightScheme", quant::WeightScheme::kUniform,
                               spec->weight_bits, where, &spec->weight_scheme));
  QF_ASSIGN_OR_RETURN(const int64_t activation_bits, GetIntOr(obj, "activationBits", 8, where));
  if (activation_bits != 8 && (activation_bits != 4 || spec->weight_bits == 32)) {
    return InvalidArgument(JsonPath(where, "activationBits") + ": expected 8, or 4 with quantized weights, got " +
                           std::to_string(activation_bits) +
                           (spec->weight_bits == 32 ? " with float weights" : ""));
  }
  spec->activation_bits = int(activation_bits);
  QF_RETURN_IF_ERROR(BitsKey(obj, "edgeBits", false, 8, where, &spec->edge_bits));
  StatusOr<bool> per_channel = GetBoolOr(obj, "perChannel", true, where);
  if (!per_channel.ok()) return per_channel.status();
  spec->per_channel = per_channel.value();
  StatusOr<int64_t> seed = GetIntOr(obj, "seed", 1, where);
  if (!seed.ok()) return seed.status();
  if (seed.value() < 0 || seed.value() > kMaxSeed) {
    return InvalidArgument(JsonPath(where, "seed") + ": " + std::to_string(seed.value()) +
                           " is outside the allowed range 0..2^53");
  }
  spec->seed = uint64_t(seed.value());

  const Json* list = obj.Find("layers");
  const bool custom = spec->arch == "custom";
  if (!list && (custom || description)) {
    return InvalidArgument(JsonPath(where, "layers") + ": required" +
                           (description ? "" : " with arch \"custom\""));
  }
  if (list && !custom && !description) {
    return InvalidArgument(JsonPath(where, "layers") +
                           ": only allowed with arch \"custom\", got '" + spec->arch + "'");
  }
  if (list && !list->is_array()) {
    return InvalidArgument(JsonPath(where, "layers") + ": expected an array of layers, found " +
                           JsonTypeName(list->type()));
  }
  if (custom) spec->layers = *list;
  if (layers) *layers = list;
  return OkStatus();
}

}  // namespace

StatusOr<ModelSpec> ModelSpecFromJson(const Json& options, std::string_view where) {
  ModelSpec spec;
  QF_RETURN_IF_ERROR(ReadSpec(options, where, /*description=*/false, &spec, nullptr));
  return spec;
}

Json ModelSpecToJson(const ModelSpec& spec) {
  Json out = Json::MakeObject();
  out.Set("arch", Json::String(spec.arch));
  Json shape = Json::MakeArray();
  for (size_t d : spec.input.dims()) shape.Push(Json::Number(double(d)));
  out.Set("inputShape", std::move(shape));
  out.Set("inputType", Json::String(DTypeName(spec.input_type)));
  // Written only when it is not the default, so that NHWC descriptions read as before.
  if (spec.input_layout == InputLayout::kNCHW) out.Set("inputLayout", Json::String("nchw"));
  if (spec.input_non_negative) out.Set("inputNonNegative", Json::Bool(*spec.input_non_negative));
  Json preprocess = Json::MakeObject();
  preprocess.Set("scale", Json::Number(spec.input_scale));
  for (const auto& [key, values] : {std::pair<const char*, const std::vector<double>*>{"mean", &spec.input_mean},
                                    {"std", &spec.input_std}}) {
    if (values->empty()) continue;
    Json array = Json::MakeArray();
    for (double v : *values) array.Push(Json::Number(v));
    preprocess.Set(key, std::move(array));
  }
  out.Set("preprocess", std::move(preprocess));
  out.Set("numClasses", Json::Number(double(spec.classes)));
  out.Set("weightBits", Json::Number(spec.weight_bits));
  // Written only when it is not the default, so that uniform models read as before.
  if (spec.weight_scheme != quant::WeightScheme::kUniform) {
    out.Set("weightScheme", Json::String(quant::SchemeName(spec.weight_scheme)));
  }
  if (spec.activation_bits != 8) out.Set("activationBits", Json::Number(spec.activation_bits));
  out.Set("edgeBits", Json::Number(spec.edge_bits));
  out.Set("perChannel", Json::Bool(spec.per_channel));
  out.Set("seed", Json::Number(double(spec.seed)));
  if (spec.layers) out.Set("layers", *spec.layers);
  return out;
}

StatusOr<std::unique_ptr<Model>> ModelFromDescription(const Json& description,
                                                      std::string_view where,
                                                      size_t max_param_values,
                                                      bool legacy_pixel_grid) {
  ModelSpec spec;
  const Json* layers = nullptr;
  QF_RETURN_IF_ERROR(ReadSpec(description, where, /*description=*/true, &spec, &layers));
  spec.legacy_pixel_grid = legacy_pixel_grid && !PlainPixels(spec);
  const std::string layers_path = JsonPath(where, "layers");
  StatusOr<std::unique_ptr<Model>> model = Model::Create(spec, max_param_values);
  if (!model.ok()) {
    const Status& s = model.status();
    if (where.empty()) return s;
    // A custom model's messages start with "layers..."; put them under `where`.
    if (spec.arch == "custom" && s.message().rfind("layers", 0) == 0) {
      return Status(s.code(), std::string(where) + "." + s.message());
    }
    return Status(s.code(), std::string(where) + ": " + s.message());
  }
  if (spec.arch != "custom" && LayersToJson(model.value()->net()) != *layers) {
    return InvalidArgument(layers_path + ": does not match arch '" + spec.arch +
                           "' as this build defines it");
  }
  return model;
}

}  // namespace qf::nn
