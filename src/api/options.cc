// JS options to engine options.
#include "api/options.h"

#include <string>

namespace qf::api {

using io::Json;

Status CheckKeys(const Json& obj, std::initializer_list<std::string_view> allowed,
                 std::string_view where) {
  for (const auto& [key, value] : obj.AsObject()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return InvalidArgument(io::JsonPath(where, key) + ": unknown option (known: " + list + ")");
    }
  }
  return OkStatus();
}

StatusOr<Json> ParseOptions(std::string_view json, std::string_view where) {
  StatusOr<Json> parsed = io::ParseJson(json);
  if (!parsed.ok()) return InvalidArgument(std::string(where) + ": " + parsed.status().message());
  if (!parsed.value().is_object())
    return InvalidArgument(std::string(where) + " must be an object");
  return parsed;
}

StatusOr<train::FitOptions> FitOptionsFromJson(const Json& o) {
  constexpr std::string_view kWhere = "options";
  QF_RETURN_IF_ERROR(CheckKeys(o,
                               {"epochs", "batchSize", "lr", "optimizer", "momentum", "nesterov",
                                "weightDecay", "schedule", "clipNorm", "augment", "seed"},
                               kWhere));
  train::FitOptions f;
  QF_ASSIGN_OR_RETURN(const int64_t epochs, io::GetIntOr(o, "epochs", f.epochs, kWhere));
  QF_ASSIGN_OR_RETURN(const int64_t batch,
                      io::GetIntOr(o, "batchSize", int64_t(f.batch_size), kWhere));
  if (epochs < 1 || epochs > 100000)
    return InvalidArgument("options.epochs must be in [1, 100000], got " + std::to_string(epochs));
  if (batch < 1 || batch > 65536)
    return InvalidArgument("options.batchSize must be in [1, 65536], got " + std::to_string(batch));
  f.epochs = int(epochs);
  f.batch_size = size_t(batch);
  QF_ASSIGN_OR_RETURN(const double lr, io::GetNumberOr(o, "lr", f.lr, kWhere));
  f.lr = float(lr);
  QF_ASSIGN_OR_RETURN(f.optimizer.name, io::GetStringOr(o, "optimizer", f.optimizer.name, kWhere));
  QF_ASSIGN_OR_RETURN(const double momentum,
                      io::GetNumberOr(o, "momentum", f.optimizer.momentum, kWhere));
  f.optimizer.momentum = float(momentum);
  QF_ASSIGN_OR_RETURN(f.optimizer.nesterov,
                      io::GetBoolOr(o, "nesterov", f.optimizer.nesterov, kWhere));
  QF_ASSIGN_OR_RETURN(const double wd,
                      io::GetNumberOr(o, "weightDecay", f.optimizer.weight_decay, kWhere));
  f.optimizer.weight_decay = float(wd);
  QF_ASSIGN_OR_RETURN(const double clip, io::GetNumberOr(o, "clipNorm", f.clip_norm, kWhere));
  f.clip_norm = float(clip);
  QF_ASSIGN_OR_RETURN(const int64_t seed, io::GetIntOr(o, "seed", int64_t(f.seed), kWhere));
  if (seed < 0) return InvalidArgument("options.seed must be an integer >= 0");
  f.seed = uint64_t(seed);
  if (const Json* schedule = o.Find("schedule")) {
    if (schedule->is_string()) {
      f.schedule.name = schedule->AsString();
    } else if (schedule->is_object()) {
      const std::string where = "options.schedule";
      QF_RETURN_IF_ERROR(CheckKeys(*schedule, {"name", "stepEpochs", "gamma"}, where));
      QF_ASSIGN_OR_RETURN(f.schedule.name, io::GetString(*schedule, "name", where));
      QF_ASSIGN_OR_RETURN(const int64_t step,
                          io::GetIntOr(*schedule, "stepEpochs", f.schedule.step_epochs, where));
      if (step < 1 || step > 100000)
        return InvalidArgument("options.schedule.stepEpochs must be in [1, 100000]");
      f.schedule.step_epochs = int(step);
      QF_ASSIGN_OR_RETURN(const double gamma,
                          io::GetNumberOr(*schedule, "gamma", f.schedule.gamma, where));
      f.schedule.gamma = float(gamma);
    } else {
      return InvalidArgument("options.schedule must be a name or {name, stepEpochs, gamma}");
    }
  }
  if (const Json* augment = o.Find("augment")) {
    const std::string where = "options.augment";
    if (!augment->is_object()) return InvalidArgument(where + " must be {cropPadding, flip}");
    QF_RETURN_IF_ERROR(CheckKeys(*augment, {"cropPadding", "flip"}, where));
    QF_ASSIGN_OR_RETURN(const int64_t pad, io::GetIntOr(*augment, "cropPadding", 0, where));
    if (pad < 0 || pad > 16) return InvalidArgument(where + ".cropPadding must be in [0, 16]");
    f.augment.crop_padding = size_t(pad);
    QF_ASSIGN_OR_RETURN(f.augment.flip, io::GetBoolOr(*augment, "flip", false, where));
  }
  QF_RETURN_IF_ERROR(train::ValidateFitOptions(f));
  return f;
}

StatusOr<train::Dataset> DatasetFromBuffers(const uint8_t* x, size_t x_len, const uint8_t* y,
                                            size_t y_len, const Json& shape,
                                            std::string_view what) {
  const std::string name(what);
  if (!shape.is_array() || shape.size() < 2) {
    return InvalidArgument(name + ".shape must be [n, ...sample dims], e.g. [n, 28, 28, 1]");
  }
  std::vector<size_t> dims;
  for (size_t i = 0; i < shape.size(); i++) {
    QF_ASSIGN_OR_RETURN(const int64_t d,
                        io::ToInt(shape.AsArray()[i], io::JsonPath(name + ".shape", i)));
    if (d < 0 || d > (int64_t(1) << 31))
      return InvalidArgument(io::JsonPath(name + ".shape", i) + " must be in [0, 2^31]");
    dims.push_back(size_t(d));
  }
  train::Dataset data;
  data.sample = Shape(std::vector<size_t>(dims.begin() + 1, dims.end()));
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
  data.x.assign(x, x + x_len);
  data.y.assign(y, y + y_len);
  return data;
}

}  // namespace qf::api
