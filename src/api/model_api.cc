// Model entry points: validation, then the engine.
#include "api/model_api.h"

#include "api/options.h"
#include "io/inflate.h"
#include "io/json.h"
#include "io/model_file.h"
#include "nn/model_json.h"

namespace qf::api {
namespace {

// Largest accepted decompressed IDX file (Fashion-MNIST's largest is 47 MB).
constexpr size_t kMaxIdxBytes = size_t(512) << 20;

Status CheckSample(const nn::Model& model, const train::Dataset& data, std::string_view what) {
  return train::ValidateDataset(data, model.input_shape(), model.classes(), std::string(what));
}

}  // namespace

StatusOr<ModelHandle> ModelHandle::Create(std::string_view options_json) {
  QF_ASSIGN_OR_RETURN(const io::Json options, ParseOptions(options_json, "options"));
  QF_ASSIGN_OR_RETURN(const nn::ModelSpec spec, nn::ModelSpecFromJson(options));
  QF_ASSIGN_OR_RETURN(std::unique_ptr<nn::Model> model, nn::Model::Create(spec));
  ModelHandle handle;
  handle.model_ = std::move(model);
  return handle;
}

StatusOr<ModelHandle> ModelHandle::Load(const uint8_t* bytes, size_t size) {
  QF_ASSIGN_OR_RETURN(std::unique_ptr<nn::Model> model, io::LoadModel(bytes, size));
  ModelHandle handle;
  handle.model_ = std::move(model);
  return handle;
}

StatusOr<std::vector<uint8_t>> ModelHandle::Save(bool with_shadow) const {
  io::SaveOptions options;
  options.include_shadow = with_shadow;
  return io::SaveModel(*model_, options);
}

std::string ModelHandle::Describe() const { return model_->Describe().Dump(); }

Status ModelHandle::Predict(const uint8_t* x, size_t x_len, size_t n, float* logits) const {
  const size_t per_sample = sample_size();
  if (n == 0) return InvalidArgument("n must be >= 1");
  if (x_len != n * per_sample) {
    return InvalidArgument("x has " + std::to_string(x_len) + " values, " + std::to_string(n) +
                           " samples of shape " + model_->input_shape().ToString() + " need " +
                           std::to_string(n * per_sample));
  }
  Tensor out;
  constexpr size_t kBatch = 256;  // bounds the activation memory of a big request
  for (size_t lo = 0; lo < n; lo += kBatch) {
    const size_t m = std::min(kBatch, n - lo);
    model_->Forward(x + lo * per_sample, m, &out, nn::Mode::kEval);
    std::copy(out.values().begin(), out.values().end(), logits + lo * model_->classes());
  }
  return OkStatus();
}

StatusOr<std::string> ModelHandle::Evaluate(const uint8_t* x, size_t x_len, const uint8_t* y,
                                            size_t y_len, std::string_view shape_json) const {
  QF_ASSIGN_OR_RETURN(const io::Json shape, io::ParseJson(shape_json));
  QF_ASSIGN_OR_RETURN(const train::Dataset data,
                      DatasetFromBuffers(x, x_len, y, y_len, shape, "dataset"));
  QF_RETURN_IF_ERROR(CheckSample(*model_, data, "dataset"));
  const train::EvalResult r = train::Evaluate(*model_, data);
  io::Json out = io::Json::MakeObject();
  out.Set("accuracy", io::Json::Number(r.accuracy));
  out.Set("loss", io::Json::Number(r.loss));
  return out.Dump();
}

StatusOr<FitSession> ModelHandle::StartFit(const uint8_t* x, size_t x_len, const uint8_t* y,
                                           size_t y_len, std::string_view shape_json,
                                           std::string_view options_json) {
  QF_ASSIGN_OR_RETURN(const io::Json options, ParseOptions(options_json, "options"));
  QF_ASSIGN_OR_RETURN(const train::FitOptions fit, FitOptionsFromJson(options));
  QF_ASSIGN_OR_RETURN(const io::Json shape, io::ParseJson(shape_json));
  QF_ASSIGN_OR_RETURN(train::Dataset data,
                      DatasetFromBuffers(x, x_len, y, y_len, shape, "dataset"));
  FitSession session;
  session.model_ = model_;
  session.data_ = std::make_unique<train::Dataset>(std::move(data));
  QF_ASSIGN_OR_RETURN(session.trainer_,
                      train::Trainer::Create(model_.get(), session.data_.get(), fit));
  return session;
}

StatusOr<std::string> FitSession::Step(size_t max_batches) {
  QF_ASSIGN_OR_RETURN(const std::optional<train::EpochStats> epoch, trainer_->Step(max_batches));
  io::Json out = io::Json::MakeObject();
  out.Set("done", io::Json::Bool(trainer_->done()));
  if (epoch) {
    io::Json e = io::Json::MakeObject();
    e.Set("epoch", io::Json::Number(epoch->epoch));
    e.Set("loss", io::Json::Number(epoch->loss));
    e.Set("accuracy", io::Json::Number(epoch->accuracy));
    e.Set("lr", io::Json::Number(epoch->lr));
    e.Set("seconds", io::Json::Number(epoch->seconds));
    out.Set("epoch", std::move(e));
  } else {
    out.Set("epoch", io::Json::Null());
  }
  return out.Dump();
}

StatusOr<io::IdxArray> ParseIdxBytes(const uint8_t* bytes, size_t size) {
  std::vector<uint8_t> inflated;
  if (io::LooksGzipped(bytes, size)) {
    QF_ASSIGN_OR_RETURN(inflated, io::Gunzip(bytes, size, kMaxIdxBytes));
    bytes = inflated.data();
    size = inflated.size();
  }
  return io::ParseIdx(bytes, size);
}

}  // namespace qf::api
