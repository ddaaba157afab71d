// JS options to engine options.
#include "api/options.h"

#include <cmath>
#include <cstring>
#include <string>

namespace qf::api {

Status CheckKeys(const Json& obj, std::initializer_list<std::string_view> allowed,
                 std::string_view where) {
  for (const auto& [key, value] : obj.AsObject()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return InvalidArgument(JsonPath(where, key) + ": unknown option (known: " + list + ")");
    }
  }
  return OkStatus();
}

StatusOr<Json> ParseOptions(std::string_view json, std::string_view where) {
  StatusOr<Json> parsed = ParseJson(json);
  if (!parsed.ok()) return InvalidArgument(std::string(where) + ": " + parsed.status().message());
  if (!parsed.value().is_object())
    return InvalidArgument(std::string(where) + " must be an object");
  return parsed;
}

namespace {

// The keys fit() and forget() share: optimizer, momentum, nesterov, weightDecay, schedule.
Status ParseOptimization(const Json& o, train::OptimizerOptions* opt,
                         train::ScheduleOptions* schedule) {
  constexpr std::string_view kWhere = "options";
  QF_ASSIGN_OR_RETURN(opt->name, GetStringOr(o, "optimizer", opt->name, kWhere));
  QF_ASSIGN_OR_RETURN(const double momentum, GetNumberOr(o, "momentum", opt->momentum, kWhere));
  opt->momentum = float(momentum);
  QF_ASSIGN_OR_RETURN(opt->nesterov, GetBoolOr(o, "nesterov", opt->nesterov, kWhere));
  QF_ASSIGN_OR_RETURN(const double wd,
                      GetNumberOr(o, "weightDecay", opt->weight_decay, kWhere));
  opt->weight_decay = float(wd);
  if (const Json* s = o.Find("schedule")) {
    if (s->is_string()) {
      schedule->name = s->AsString();
    } else if (s->is_object()) {
      const std::string where = "options.schedule";
      QF_RETURN_IF_ERROR(CheckKeys(*s, {"name", "stepEpochs", "gamma"}, where));
      QF_ASSIGN_OR_RETURN(schedule->name, GetString(*s, "name", where));
      QF_ASSIGN_OR_RETURN(const int64_t step,
                          GetIntOr(*s, "stepEpochs", schedule->step_epochs, where));
      if (step < 1 || step > 100000) {
        return InvalidArgument("options.schedule.stepEpochs must be in [1, 100000]");
      }
      schedule->step_epochs = int(step);
      QF_ASSIGN_OR_RETURN(const double gamma, GetNumberOr(*s, "gamma", schedule->gamma, where));
      schedule->gamma = float(gamma);
    } else {
      return InvalidArgument("options.schedule must be a name or {name, stepEpochs, gamma}");
    }
  }
  return OkStatus();
}

// epochs, batchSize, lr, seed and shuffleWindow, range-checked.
Status ParseLoop(const Json& o, int* epochs, size_t* batch_size, float* lr, uint64_t* seed,
                 size_t* shuffle_window) {
  constexpr std::string_view kWhere = "options";
  QF_ASSIGN_OR_RETURN(const int64_t e, GetIntOr(o, "epochs", *epochs, kWhere));
  if (e < 1 || e > 100000)
    return InvalidArgument("options.epochs must be in [1, 100000], got " + std::to_string(e));
  QF_ASSIGN_OR_RETURN(const int64_t b, GetIntOr(o, "batchSize", int64_t(*batch_size), kWhere));
  if (b < 1 || b > 65536)
    return InvalidArgument("options.batchSize must be in [1, 65536], got " + std::to_string(b));
  QF_ASSIGN_OR_RETURN(const double l, GetNumberOr(o, "lr", *lr, kWhere));
  QF_ASSIGN_OR_RETURN(const int64_t s, GetIntOr(o, "seed", int64_t(*seed), kWhere));
  if (s < 0) return InvalidArgument("options.seed must be an integer >= 0");
  QF_ASSIGN_OR_RETURN(const int64_t w, GetIntOr(o, "shuffleWindow", 0, kWhere));
  if (w < 0 || w > int64_t(train::SampleStream::kMaxStreamSamples)) {
    return InvalidArgument("options.shuffleWindow must be in [0, 2^31] samples (0: the default)");
  }
  *shuffle_window = size_t(w);
  *epochs = int(e);
  *batch_size = size_t(b);
  *lr = float(l);
  *seed = uint64_t(s);
  return OkStatus();
}

// qmulSimilarity: a rule's name, or numClasses arrays of numClasses numbers (the rule
// "matrix"; ValidateUnlearnOptionsFor checks the size against the model).
Status ParseSimilarity(const Json& o, unlearn::UnlearnOptions* u) {
  const Json* s = o.Find("qmulSimilarity");
  if (!s) return OkStatus();
  if (s->is_string()) {
    u->qmul_similarity = s->AsString();
    if (u->qmul_similarity == "matrix") {
      return InvalidArgument(
          "options.qmulSimilarity: give the matrix itself (numClasses arrays of numClasses "
          "numbers), not the name 'matrix'");
    }
    return OkStatus();
  }
  const std::string kShape =
      "options.qmulSimilarity must be 'prediction', 'confusion', 'embedding' or a similarity "
      "matrix: an array of numClasses arrays of numClasses numbers";
  if (!s->is_array() || s->size() == 0) return InvalidArgument(kShape);
  const size_t rows = s->size();
  u->qmul_similarity = "matrix";
  u->qmul_similarity_matrix.clear();
  u->qmul_similarity_matrix.reserve(rows * rows);
  for (size_t y = 0; y < rows; y++) {
    const Json& row = s->AsArray()[y];
    const std::string where = JsonPath("options.qmulSimilarity", y);
    if (!row.is_array()) return InvalidArgument(where + " is not an array; " + kShape);
    if (row.size() != rows) {
      return InvalidArgument(where + " has " + std::to_string(row.size()) + " numbers, the matrix " +
                             std::to_string(rows) + " rows: it must be square (" + kShape + ")");
    }
    for (size_t j = 0; j < rows; j++) {
      const Json& v = row.AsArray()[j];
      if (!v.is_number()) {
        return InvalidArgument(JsonPath(where, j) + " must be a finite number, found " +
                               (v.is_null() ? std::string("null (NaN and Infinity become null in JSON)")
                                            : std::string(JsonTypeName(v.type()))));
      }
      u->qmul_similarity_matrix.push_back(v.AsNumber());
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<nn::PtqOptions> PtqOptionsFromJson(const Json& o) {
  constexpr std::string_view kWhere = "options";
  QF_RETURN_IF_ERROR(CheckKeys(o,
                               {"bits", "scheme", "activationBits", "edgeBits", "perChannel",
                                "method", "percentile", "maxSamples"},
                               kWhere));
  nn::PtqOptions p;
  // Ranges wide enough for every value nn::QuantizeAfterTraining checks and names.
  const auto int_or = [&](const char* key, int64_t fallback, int64_t lo, int64_t hi) {
    return o.Find(key) ? GetIntInRange(o, key, lo, hi, kWhere) : StatusOr<int64_t>(fallback);
  };
  QF_ASSIGN_OR_RETURN(const int64_t bits, int_or("bits", p.bits, 0, 64));
  QF_ASSIGN_OR_RETURN(const int64_t activation_bits,
                      int_or("activationBits", p.activation_bits, 0, 64));
  QF_ASSIGN_OR_RETURN(const int64_t edge_bits, int_or("edgeBits", p.edge_bits, 0, 64));
  QF_ASSIGN_OR_RETURN(const int64_t max_samples,
                      int_or("maxSamples", int64_t(p.max_samples), 1, int64_t(1) << 24));
  p.bits = int(bits);
  p.activation_bits = int(activation_bits);
  p.edge_bits = int(edge_bits);
  p.max_samples = size_t(max_samples);
  QF_ASSIGN_OR_RETURN(const std::string scheme, GetStringOr(o, "scheme", "uniform", kWhere));
  if (!quant::SchemeFromName(scheme, &p.scheme)) {
    return InvalidArgument("options.scheme: unknown weight scheme \"" + scheme +
                           "\" (expected uniform, asymmetric, pow2, apot or codebook)");
  }
  QF_ASSIGN_OR_RETURN(p.per_channel, GetBoolOr(o, "perChannel", p.per_channel, kWhere));
  QF_ASSIGN_OR_RETURN(const std::string method, GetStringOr(o, "method", "mse", kWhere));
  if (method == "minmax") {
    p.calibration = nn::Calibration::kMinMax;
  } else if (method == "percentile") {
    p.calibration = nn::Calibration::kPercentile;
  } else if (method == "mse") {
    p.calibration = nn::Calibration::kMse;
  } else {
    return InvalidArgument("options.method: expected 'minmax', 'percentile' or 'mse', got '" +
                           method + "'");
  }
  QF_ASSIGN_OR_RETURN(p.percentile, GetNumberOr(o, "percentile", p.percentile, kWhere));
  return p;
}

StatusOr<train::FitOptions> FitOptionsFromJson(const Json& o) {
  constexpr std::string_view kWhere = "options";
  QF_RETURN_IF_ERROR(CheckKeys(o,
                               {"epochs", "batchSize", "lr", "optimizer", "momentum", "nesterov",
                                "weightDecay", "schedule", "clipNorm", "augment", "seed", "shuffleWindow"},
                               kWhere));
  train::FitOptions f;
  QF_RETURN_IF_ERROR(ParseLoop(o, &f.epochs, &f.batch_size, &f.lr, &f.seed, &f.shuffle_window));
  QF_RETURN_IF_ERROR(ParseOptimization(o, &f.optimizer, &f.schedule));
  QF_ASSIGN_OR_RETURN(const double clip, GetNumberOr(o, "clipNorm", f.clip_norm, kWhere));
  f.clip_norm = float(clip);
  if (const Json* augment = o.Find("augment")) {
    const std::string where = "options.augment";
    if (!augment->is_object()) return InvalidArgument(where + " must be {cropPadding, flip}");
    QF_RETURN_IF_ERROR(CheckKeys(*augment, {"cropPadding", "flip"}, where));
    QF_ASSIGN_OR_RETURN(const int64_t pad, GetIntOr(*augment, "cropPadding", 0, where));
    if (pad < 0 || pad > 16) return InvalidArgument(where + ".cropPadding must be in [0, 16]");
    f.augment.crop_padding = size_t(pad);
    QF_ASSIGN_OR_RETURN(f.augment.flip, GetBoolOr(*augment, "flip", false, where));
  }
  QF_RETURN_IF_ERROR(train::ValidateFitOptions(f));
  return f;
}

StatusOr<unlearn::UnlearnOptions> UnlearnOptionsFromJson(const Json& o, std::string* method) {
  constexpr std::string_view kWhere = "options";
  QF_RETURN_IF_ERROR(
      CheckKeys(o,
                {"method", "epochs", "batchSize", "lr", "optimizer", "momentum", "nesterov",
                 "weightDecay", "schedule", "seed", "shuffleWindow", "qmulMode", "qmulRetainScanBatches",
                 "qmulScanMode", "qmulSimilarity", "l1Alpha", "salunRatio", "bsEpsilon", "until"},
                kWhere));
  QF_ASSIGN_OR_RETURN(*method, GetStringOr(o, "method", "qmul", kWhere));
  unlearn::UnlearnOptions u;
  QF_RETURN_IF_ERROR(ParseLoop(o, &u.epochs, &u.batch_size, &u.lr, &u.seed, &u.shuffle_window));
  QF_RETURN_IF_ERROR(ParseOptimization(o, &u.optimizer, &u.schedule));
  QF_ASSIGN_OR_RETURN(u.qmul_mode, GetStringOr(o, "qmulMode", u.qmul_mode, kWhere));
  QF_ASSIGN_OR_RETURN(const int64_t scan, GetIntOr(o, "qmulRetainScanBatches", 0, kWhere));
  if (scan < 0) return InvalidArgument("options.qmulRetainScanBatches must be >= 0 (0: all)");
  u.qmul_retain_scan_batches = size_t(scan);
  QF_ASSIGN_OR_RETURN(u.qmul_scan_mode, GetStringOr(o, "qmulScanMode", u.qmul_scan_mode, kWhere));
  QF_RETURN_IF_ERROR(ParseSimilarity(o, &u));
  QF_ASSIGN_OR_RETURN(const double l1, GetNumberOr(o, "l1Alpha", u.l1_alpha, kWhere));
  u.l1_alpha = float(l1);
  QF_ASSIGN_OR_RETURN(const double ratio, GetNumberOr(o, "salunRatio", u.salun_ratio, kWhere));
  u.salun_ratio = float(ratio);
  QF_ASSIGN_OR_RETURN(const double eps, GetNumberOr(o, "bsEpsilon", u.bs_epsilon, kWhere));
  u.bs_epsilon = float(eps);
  if (const Json* until = o.Find("until")) {
    if (until->is_string() && until->AsString() == "unseen") {
      u.until.kind = unlearn::StopRule::Kind::kUnseen;
    } else if (until->is_object()) {
      const std::string where = "options.until";
      QF_RETURN_IF_ERROR(CheckKeys(*until, {"forgetAccuracy"}, where));
      QF_ASSIGN_OR_RETURN(u.until.forget_accuracy, GetNumber(*until, "forgetAccuracy", where));
      u.until.kind = unlearn::StopRule::Kind::kForgetAccuracy;
    } else {
      return InvalidArgument(
          "options.until must be 'unseen' (sample requests, with options.holdout) or "
          "{ forgetAccuracy } (class requests)");
    }
  }
  QF_RETURN_IF_ERROR(unlearn::ValidateUnlearnOptions(u));
  return u;
}

Status CheckFinite(const uint8_t* x, size_t n, std::string_view what) {
  for (size_t i = 0; i < n; i++) {
    float v;
    std::memcpy(&v, x + 4 * i, 4);
    if (!std::isfinite(v)) {
      return InvalidArgument(std::string(what) + "[" + std::to_string(i) + "] is " +
                             (std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity") +
                             ": features must be finite numbers");
    }
  }
  return OkStatus();
}

StatusOr<std::vector<Label>> LabelsFromBuffer(const uint8_t* y, size_t n, DType type,
                                              std::string_view what) {
  std::vector<Label> labels(n);
  for (size_t i = 0; i < n; i++) {
    int64_t v;
    switch (type) {
      case DType::kUint8: v = y[i]; break;
      case DType::kUint16: {
        uint16_t u;
        std::memcpy(&u, y + 2 * i, 2);
        v = u;
        break;
      }
      case DType::kInt32: {
        int32_t s;
        std::memcpy(&s, y + 4 * i, 4);
        v = s;
        break;
      }
      default:
        return InvalidArgument(std::string(what) +
                               " must be a Uint8Array, a Uint16Array or an Int32Array of labels");
    }
    if (v < 0 || v >= int64_t(kMaxClasses)) {
      return InvalidArgument(std::string(what) + "[" + std::to_string(i) + "] = " +
                             std::to_string(v) + " is not a class: labels are in [0, " +
                             std::to_string(kMaxClasses) + ")");
    }
    labels[i] = Label(v);
  }
  return labels;
}

StatusOr<train::Dataset> DatasetFromBuffers(const uint8_t* x, size_t x_len, DType x_type,
                                            const uint8_t* y, size_t y_len, DType y_type,
                                            const Json& shape, std::string_view what) {
  const std::string name(what);
  if (x_type != DType::kUint8 && x_type != DType::kFloat32) {
    return InvalidArgument(name + ".x must be a Uint8Array (pixels) or a Float32Array (features)");
  }
  if (!shape.is_array() || shape.size() < 2) {
    return InvalidArgument(name + ".shape must be [n, ...sample dims], e.g. [n, 28, 28, 1]");
  }
  std::vector<size_t> dims;
  for (size_t i = 0; i < shape.size(); i++) {
    QF_ASSIGN_OR_RETURN(const int64_t d,
                        ToInt(shape.AsArray()[i], JsonPath(name + ".shape", i)));
    if (d < 0 || d > (int64_t(1) << 31))
      return InvalidArgument(JsonPath(name + ".shape", i) + " must be in [0, 2^31]");
    dims.push_back(size_t(d));
  }
  train::Dataset data;
  data.sample = Shape(std::vector<size_t>(dims.begin() + 1, dims.end()));
  data.input = x_type;
  const size_t n = dims[0];
  if (y_len != n) {
    return InvalidArgument(name + ".y has " + std::to_string(y_len) + " labels, " + name +
                           ".shape says n = " + std::to_string(n));
  }
  size_t needed = 1;
  bool overflow = false;
  for (size_t d : dims) overflow = overflow || __builtin_mul_overflow(needed, d, &needed);
  if (overflow || x_len != needed) {
    return InvalidArgument(
        name + ".x has " + std::to_string(x_len) + " values, " + name + ".shape " +
        Shape(dims).ToString() + " needs " +
        (overflow ? std::string("more than memory holds") : std::to_string(needed)));
  }
  if (x_type == DType::kFloat32) QF_RETURN_IF_ERROR(CheckFinite(x, x_len, name + ".x"));
  QF_ASSIGN_OR_RETURN(data.y, LabelsFromBuffer(y, y_len, y_type, name + ".y"));
  data.x.assign(x, x + x_len * SizeOf(x_type));
  return data;
}

}  // namespace qf::api
