// Model entry points: validation, then the engine.
#include "api/model_api.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "api/options.h"
#include "io/inflate.h"
#include "core/json.h"
#include "io/model_file.h"
#include "nn/model_json.h"
#include "onnx/graph.h"
#include "onnx/import.h"
#include "unlearn/metrics.h"

namespace qf::api {
namespace {

// Largest accepted decompressed IDX file (Fashion-MNIST's largest is 47 MB).
constexpr size_t kMaxIdxBytes = size_t(512) << 20;

// The dataset's copy: its samples (at most 4 bytes each), and its labels as Labels.
uint64_t Bytes(const DatasetBuffers& b) {
  return uint64_t(b.x_len) * (b.x_type == "uint8" ? 1 : 4) + uint64_t(b.y_len) * sizeof(Label);
}

// What evaluating `samples` samples allocates: one inference batch, of the largest size
// or of all of them when fewer.
uint64_t EvalBatchBytes(const nn::Model& model, uint64_t samples) {
  const size_t batch = size_t(std::clamp<uint64_t>(samples, 1, model.eval_batch()));
  return model.BatchBytes(batch, nn::Mode::kEval);
}

StatusOr<train::Dataset> ToDataset(const DatasetBuffers& b, std::string_view what) {
  QF_ASSIGN_OR_RETURN(const Json shape, ParseJson(b.shape_json));
  const std::string name(what);
  QF_ASSIGN_OR_RETURN(const DType x_type, ParseDType(b.x_type, name + ".x's type"));
  QF_ASSIGN_OR_RETURN(const DType y_type, ParseDType(b.y_type, name + ".y's type"));
  return DatasetFromBuffers(b.x, b.x_len, x_type, b.y, b.y_len, y_type, shape, what);
}

}  // namespace

StatusOr<ModelHandle> ModelHandle::Create(std::string_view options_json) {
  QF_ASSIGN_OR_RETURN(const Json options, ParseOptions(options_json, "options"));
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

StatusOr<ModelHandle> ModelHandle::ImportOnnx(std::string_view record_json, const uint8_t* payload,
                                              size_t payload_len, std::string_view options_json) {
  QF_ASSIGN_OR_RETURN(const Json options, ParseOptions(options_json, "options"));
  QF_ASSIGN_OR_RETURN(const onnx::Graph graph,
                      onnx::ParseGraphRecord(record_json, payload, payload_len));
  QF_ASSIGN_OR_RETURN(onnx::ImportResult imported, onnx::ImportGraph(graph, options));
  ModelHandle handle;
  handle.model_ = std::move(imported.model);
  handle.import_report_ = imported.report.Dump();
  return handle;
}

StatusOr<std::vector<uint8_t>> ModelHandle::Save(bool with_shadow) const {
  QF_ASSIGN_OR_RETURN(const MemoryReservation memory, ReserveMemory(model_->StateBytes(), "save"));
  io::SaveOptions options;
  options.include_shadow = with_shadow;
  return io::SaveModel(*model_, options);
}

StatusOr<onnx::ExportedGraph> ModelHandle::ExportOnnx(std::string_view options_json) const {
  QF_ASSIGN_OR_RETURN(const Json options_value, ParseOptions(options_json, "options"));
  QF_ASSIGN_OR_RETURN(const onnx::ExportOptions options,
                      onnx::ExportOptionsFromJson(options_value));
  // The payload is about the size of the weights in float, the JSON smaller than that.
  QF_ASSIGN_OR_RETURN(const MemoryReservation memory,
                      ReserveMemory(model_->StateBytes(), "exportOnnx"));
  return onnx::ExportOnnx(*model_, options);
}

std::string ModelHandle::Describe() const { return model_->Describe().Dump(); }

StatusOr<size_t> ModelHandle::CheckSamples(const uint8_t* x, size_t x_len,
                                           std::string_view x_type_name, std::string_view name) const {
  QF_ASSIGN_OR_RETURN(const DType x_type, ParseDType(x_type_name, std::string(name) + "'s type"));
  if (x_type != model_->input_type()) {
    return InvalidArgument(std::string(name) + " holds " + DTypeName(x_type) + " values, the model takes " +
                           DTypeName(model_->input_type()) +
                           (model_->input_type() == DType::kUint8 ? " (pixels: a Uint8Array)"
                                                                  : " (features: a Float32Array)"));
  }
  const size_t per_sample = sample_size();
  if (x_len == 0 || x_len % per_sample != 0) {
    return InvalidArgument(std::string(name) + " has " + std::to_string(x_len) +
                           " values: not a whole, non-zero number of samples of shape " +
                           model_->input_shape().ToString() + " (" + std::to_string(per_sample) +
                           " values each)");
  }
  if (x_type == DType::kFloat32) QF_RETURN_IF_ERROR(CheckFinite(x, x_len, name));
  return x_len / per_sample;
}

StatusOr<std::vector<float>> ModelHandle::Predict(const uint8_t* x, size_t x_len,
                                                  std::string_view x_type) const {
  QF_ASSIGN_OR_RETURN(const size_t n, CheckSamples(x, x_len, x_type));
  const size_t batch = std::min(n, model_->eval_batch());  // bounds a big request's memory
  const uint64_t out_bytes = uint64_t(n) * model_->classes() * sizeof(float);
  QF_ASSIGN_OR_RETURN(const MemoryReservation memory,
                      ReserveMemory(out_bytes + model_->BatchBytes(batch, nn::Mode::kEval),
                                    "predict of " + std::to_string(n) + " samples"));
  std::vector<float> logits(n * model_->classes());
  model_->ForwardInBatches(x, n, batch, nn::Mode::kEval, [&](size_t first, const Tensor& out) {
    std::copy(out.values().begin(), out.values().end(), logits.begin() + first * model_->classes());
  });
  return logits;
}

Status ModelHandle::CheckDataset(const DatasetBuffers& buffers, std::string_view name) const {
  QF_ASSIGN_OR_RETURN(const MemoryReservation memory,
                      ReserveMemory(Bytes(buffers), "checking " + std::string(name)));
  QF_ASSIGN_OR_RETURN(const train::Dataset data, ToDataset(buffers, name));
  return train::ValidateDataset(data, model_->input_shape(), model_->input_type(), model_->classes(), std::string(name));
}

StatusOr<ModelHandle> ModelHandle::Quantize(const uint8_t* x, size_t x_len,
                                            std::string_view x_type,
                                            std::string_view options_json) const {
  QF_ASSIGN_OR_RETURN(const Json options, ParseOptions(options_json, "options"));
  QF_ASSIGN_OR_RETURN(const nn::PtqOptions ptq, PtqOptionsFromJson(options));
  QF_ASSIGN_OR_RETURN(const size_t n, CheckSamples(x, x_len, x_type, "options.calibration"));
  // The new model with its training state, and one calibration batch.
  const size_t batch = std::min({n, ptq.max_samples, model_->eval_batch()});
  QF_ASSIGN_OR_RETURN(const MemoryReservation memory,
                      ReserveMemory(model_->StateBytes() + model_->BatchBytes(batch, nn::Mode::kEval),
                                    "quantize"));
  QF_ASSIGN_OR_RETURN(std::unique_ptr<nn::Model> quantized,
                      nn::QuantizeAfterTraining(*model_, ptq, x, n));
  ModelHandle handle;
  handle.model_ = std::move(quantized);
  return handle;
}

StatusOr<std::string> ModelHandle::Evaluate(const DatasetBuffers& buffers) const {
  QF_ASSIGN_OR_RETURN(
      const MemoryReservation memory,
      ReserveMemory(Bytes(buffers) + EvalBatchBytes(*model_, buffers.y_len), "evaluate"));
  QF_ASSIGN_OR_RETURN(const train::Dataset data, ToDataset(buffers, "dataset"));
  QF_RETURN_IF_ERROR(
      train::ValidateDataset(data, model_->input_shape(), model_->input_type(), model_->classes(), "dataset"));
  const train::EvalResult r = train::Evaluate(*model_, data);
  Json out = Json::MakeObject();
  out.Set("accuracy", Json::Number(r.accuracy));
  out.Set("loss", Json::Number(r.loss));
  return out.Dump();
}

StatusOr<FitSession> ModelHandle::NewFitSession(uint64_t data_bytes,
                                                std::string_view options_json,
                                                train::FitOptions* fit) const {
  QF_ASSIGN_OR_RETURN(const Json options, ParseOptions(options_json, "options"));
  QF_ASSIGN_OR_RETURN(*fit, FitOptionsFromJson(options));
  // The data, the model's state as it was (restored on divergence) and the optimizer's,
  // one training batch.
  FitSession session;
  QF_ASSIGN_OR_RETURN(session.memory_,
                      ReserveMemory(data_bytes + 2 * model_->StateBytes() +
                                        model_->BatchBytes(fit->batch_size, nn::Mode::kTrain),
                                    "fit"));
  session.model_ = model_;
  return session;
}

StatusOr<FitSession> ModelHandle::StartFit(const DatasetBuffers& buffers,
                                           std::string_view options_json) {
  train::FitOptions fit;
  QF_ASSIGN_OR_RETURN(FitSession session, NewFitSession(Bytes(buffers), options_json, &fit));
  QF_ASSIGN_OR_RETURN(train::Dataset data, ToDataset(buffers, "dataset"));
  session.data_ = std::make_unique<train::Dataset>(std::move(data));
  QF_ASSIGN_OR_RETURN(session.trainer_,
                      train::Trainer::Create(model_.get(), session.data_.get(), fit));
  return session;
}

StatusOr<FitSession> ModelHandle::StartFit(const StreamHandle& data,
                                           std::string_view options_json) {
  train::FitOptions fit;
  // The epoch's order (the stream reserves its window itself).
  QF_ASSIGN_OR_RETURN(FitSession session, NewFitSession(uint64_t(data.size()) * sizeof(uint32_t),
                                                        options_json, &fit));
  session.stream_ = data.stream_;
  QF_ASSIGN_OR_RETURN(session.trainer_,
                      train::Trainer::Create(model_.get(), session.stream_.get(), fit));
  return session;
}

StreamHandle ModelHandle::OpenStream() const {
  StreamHandle handle;
  handle.stream_ = std::make_shared<train::SampleStream>(model_->input_shape(),
                                                         model_->input_type(), model_->classes());
  return handle;
}

Status StreamHandle::Push(const DatasetBuffers& batch, std::string_view name) {
  QF_ASSIGN_OR_RETURN(const MemoryReservation memory,
                      ReserveMemory(Bytes(batch), std::string(name)));
  QF_ASSIGN_OR_RETURN(const train::Dataset data, ToDataset(batch, name));
  return stream_->Push(data, std::string(name));
}

Status StreamHandle::End(std::string_view name) { return stream_->End(std::string(name)); }

std::string StreamHandle::Demand() const {
  const train::SampleStream::Demand d = stream_->demand();
  Json out = Json::MakeObject();
  out.Set("pass", Json::Number(double(d.pass)));
  out.Set("from", Json::Number(double(d.from)));
  out.Set("count", Json::Number(double(d.count)));
  return out.Dump();
}

namespace {

// {value, n, low, high}: a fraction with its sample count and 95 % interval.
Json ProportionJson(const unlearn::Proportion& p) {
  Json out = Json::MakeObject();
  out.Set("value", Json::Number(p.value));
  out.Set("n", Json::Number(double(p.n)));
  out.Set("low", Json::Number(p.low));
  out.Set("high", Json::Number(p.high));
  return out;
}

// {accuracy, informative, members, nonMembers, note}: what the membership attack could
// do with these sets (accuracy null and a note when the sets were too small for it).
Json MiaAttackJson(const unlearn::MiaResult& r) {
  Json out = Json::MakeObject();
  out.Set("accuracy", r.available ? ProportionJson(r.attack_accuracy) : Json::Null());
  out.Set("informative", Json::Bool(r.informative));
  out.Set("members", Json::Number(double(r.members)));
  out.Set("nonMembers", Json::Number(double(r.non_members)));
  out.Set("note", r.note.empty() ? Json::Null() : Json::String(r.note));
  return out;
}

Json ReportJson(const unlearn::EpochReport& r, size_t classes) {
  Json out = Json::MakeObject();
  out.Set("epoch", Json::Number(r.epoch));
  out.Set("lr", Json::Number(r.lr));
  out.Set("seconds", Json::Number(r.seconds));
  Json losses = Json::MakeObject();
  for (const auto& [name, value] : r.losses) losses.Set(name, Json::Number(value));
  out.Set("losses", std::move(losses));
  out.Set("forgetAccuracy", Json::Number(r.forget_accuracy));
  if (r.qmul) {
    Json q = Json::MakeObject();
    const unlearn::QmulEpoch& m = *r.qmul;
    q.Set("similarity", Json::String(m.similarity));
    q.Set("gForget", Json::Number(m.g_forget));
    q.Set("gRetain", Json::Number(m.g_retain));
    q.Set("wForget", Json::Number(m.w_forget));
    q.Set("wRetain", Json::Number(m.w_retain));
    Json rows = Json::MakeArray();
    for (size_t y = 0; y < classes; y++) {
      Json row = Json::MakeArray();
      for (size_t j = 0; j < classes; j++) {
        row.Push(Json::Number(m.similar_labels[y * classes + j]));
      }
      rows.Push(std::move(row));
    }
    q.Set("similarLabels", std::move(rows));
    q.Set("similarFallbacks", Json::Number(m.similarity_fallbacks));
    Json layers = Json::MakeArray();
    for (const unlearn::QmulEpoch::LayerNorms& l : m.layers) {
      Json layer = Json::MakeObject();
      layer.Set("layer", Json::String(l.layer));
      layer.Set("type", Json::String(l.type));
      layer.Set("gForget", Json::Number(l.g_forget));
      layer.Set("gRetain", Json::Number(l.g_retain));
      layers.Push(std::move(layer));
    }
    q.Set("gByLayer", std::move(layers));
    q.Set("gradientCosine",
          std::isfinite(m.gradient_cosine) ? Json::Number(m.gradient_cosine) : Json::Null());
    q.Set("movedToSimilar", Json::Number(m.moved_to_similar));
    q.Set("retainAccuracy", Json::Number(m.retain_accuracy));
    Json warnings = Json::MakeArray();
    for (const auto& [kind, message] : m.warnings) {
      Json w = Json::MakeObject();
      w.Set("kind", Json::String(kind));
      w.Set("message", Json::String(message));
      warnings.Push(std::move(w));
    }
    q.Set("warnings", std::move(warnings));
    out.Set("qmul", std::move(q));
  }
  if (r.until) {  // kForgetAccuracy's reading is forgetAccuracy above
    Json u = Json::MakeObject();
    const bool unseen = r.until->kind == unlearn::StopRule::Kind::kUnseen;
    u.Set("criterion", Json::String(unseen ? "unseen" : "forgetAccuracy"));
    u.Set("met", Json::Bool(r.until->met));
    if (unseen) {
      u.Set("ks", Json::Number(r.until->ks));
      u.Set("ksPValue", Json::Number(r.until->ks_p_value));
      u.Set("holdoutAccuracy", Json::Number(r.until->holdout_accuracy));
      u.Set("accuracyPValue", Json::Number(r.until->accuracy_p_value));
      u.Set("forgetConfidence", Json::Number(r.until->forget_confidence));
      u.Set("holdoutConfidence", Json::Number(r.until->holdout_confidence));
    }
    out.Set("until", std::move(u));
  }
  return out;
}

}  // namespace

StatusOr<ForgetHandle> ModelHandle::StartForget(const DatasetBuffers& forget,
                                                const DatasetBuffers& retain,
                                                const DatasetBuffers& holdout,
                                                std::string_view options_json) {
  return StartForgetOn(forget, &retain, nullptr, holdout, options_json);
}

StatusOr<ForgetHandle> ModelHandle::StartForget(const DatasetBuffers& forget,
                                                const StreamHandle& retain,
                                                const DatasetBuffers& holdout,
                                                std::string_view options_json) {
  return StartForgetOn(forget, nullptr, retain.stream_, holdout, options_json);
}

StatusOr<ForgetHandle> ModelHandle::StartForgetOn(
    const DatasetBuffers& forget, const DatasetBuffers* retain,
    std::shared_ptr<train::SampleStream> retain_stream, const DatasetBuffers& holdout,
    std::string_view options_json) {
  QF_ASSIGN_OR_RETURN(const Json options, ParseOptions(options_json, "options"));
  unlearn::ForgetRequest request;
  QF_ASSIGN_OR_RETURN(request.options, UnlearnOptionsFromJson(options, &request.method));
  // The sets' copies and the subsets methods gather from them (a streamed retain set: the
  // batch lists of its samples; the stream reserves its window itself); the working copy
  // of the model, a second one (retrain's fresh model, a mask, a snapshot) and the
  // optimizer's state; a training batch and an evaluation batch (methods evaluate the
  // forget set); Q-MUL's similar-label counts, a classes x classes table per epoch report
  // and one in progress, its confusion counts (another), and the forget and retain scans'
  // summed gradients (a float per parameter value each).
  const uint64_t classes = model_->classes();
  const uint64_t similar_labels =
      request.method == "qmul" ? (uint64_t(request.options.epochs) + 2) * classes * classes * 4 +
                                     2 * 4 * uint64_t(model_->cost().params)
                               : 0;
  const uint64_t retain_bytes = retain ? Bytes(*retain)
                                       : uint64_t(retain_stream->size()) * sizeof(unlearn::SampleRef);
  ForgetHandle handle;
  QF_ASSIGN_OR_RETURN(
      handle.memory_,
      ReserveMemory(3 * (Bytes(forget) + retain_bytes) + 2 * Bytes(holdout) + 3 * model_->StateBytes() +
                        model_->BatchBytes(request.options.batch_size, nn::Mode::kTrain) +
                        EvalBatchBytes(*model_, forget.y_len) + similar_labels,
                    "forget (" + request.method + ")"));
  QF_ASSIGN_OR_RETURN(request.forget, ToDataset(forget, "forget"));
  if (retain) {
    QF_ASSIGN_OR_RETURN(request.retain, ToDataset(*retain, "retain"));
  }
  request.retain_stream = std::move(retain_stream);
  QF_ASSIGN_OR_RETURN(request.holdout, ToDataset(holdout, "holdout"));
  handle.method_ = request.method;
  handle.forgotten_ = request.forget.size();
  handle.classes_ = model_->classes();
  QF_ASSIGN_OR_RETURN(handle.session_, unlearn::ForgetSession::Start(*model_, std::move(request)));
  return handle;
}

Status ModelHandle::CommitForget(ForgetHandle& forget) {
  if (!forget.session_ || !forget.session_->done()) {
    return FailedPrecondition("the forget session has not finished");
  }
  forget.previous_ = std::exchange(model_, forget.session_->TakeResult());
  forget.session_.reset();
  forget.memory_ = MemoryReservation();  // the session's memory is free again
  return OkStatus();
}

Status ModelHandle::RevertForget(ForgetHandle& forget) {
  if (!forget.previous_) return FailedPrecondition("the forget session was not committed");
  model_ = std::move(forget.previous_);
  return OkStatus();
}

StatusOr<std::string> ForgetHandle::Step(size_t max_batches) {
  if (!session_) return FailedPrecondition("the forget session was committed already");
  std::vector<unlearn::EpochReport> reports;
  QF_RETURN_IF_ERROR(session_->Step(max_batches, &reports));
  Json out = Json::MakeObject();
  out.Set("done", Json::Bool(session_->done()));
  Json epochs = Json::MakeArray();
  for (const auto& r : reports) epochs.Push(ReportJson(r, classes_));
  out.Set("epochs", std::move(epochs));
  return out.Dump();
}

StatusOr<MetricsJob> ModelHandle::StartMetrics(const DatasetBuffers& forget,
                                                const DatasetBuffers& retain,
                                                const DatasetBuffers& test,
                                                const ModelHandle* reference,
                                                std::string_view options_json) const {
  QF_ASSIGN_OR_RETURN(const Json options, ParseOptions(options_json, "options"));
  QF_RETURN_IF_ERROR(CheckKeys(options, {"miaFeature", "seed", "requantize"}, "options"));
  QF_ASSIGN_OR_RETURN(const bool requantize,
                      GetBoolOr(options, "requantize", false, "options"));
  QF_ASSIGN_OR_RETURN(const std::string feature,
                      GetStringOr(options, "miaFeature", "confidence", "options"));
  QF_ASSIGN_OR_RETURN(const int64_t seed, GetIntOr(options, "seed", 0, "options"));
  MetricsJob job;
  if (feature == "confidence") {
    job.inputs_.mia_feature = unlearn::MiaFeature::kConfidence;
  } else if (feature == "entropy") {
    job.inputs_.mia_feature = unlearn::MiaFeature::kEntropy;
  } else if (feature == "modifiedEntropy") {
    job.inputs_.mia_feature = unlearn::MiaFeature::kModifiedEntropy;
  } else {
    return InvalidArgument(
        "options.miaFeature must be 'confidence', 'entropy' or 'modifiedEntropy'");
  }
  if (seed < 0) return InvalidArgument("options.seed must be >= 0");
  job.inputs_.seed = uint64_t(seed);
  if (reference && (reference->model_->classes() != model_->classes() ||
                    reference->model_->input_shape() != model_->input_shape() ||
                    reference->model_->input_type() != model_->input_type())) {
    return InvalidArgument("reference must take the same inputs and classes as the model");
  }
  // The three sets' copies, per-sample predictions of both models, the membership
  // attack's SVM (features and a kernel-row cache of at most 64 MiB), an evaluation batch.
  const uint64_t sets = Bytes(forget) + Bytes(retain) + Bytes(test);
  const uint64_t samples = uint64_t(forget.y_len) + retain.y_len + test.y_len;
  const uint64_t svm = std::min(4 * samples * samples, uint64_t(64) << 20);
  QF_ASSIGN_OR_RETURN(
      job.memory_,
      ReserveMemory(sets + 16 * samples * model_->classes() + svm +
                        EvalBatchBytes(*model_, samples) + (requantize ? model_->StateBytes() : 0),
                    "metrics"));
  job.sets_ = std::make_unique<std::array<train::Dataset, 3>>();
  auto& [f, r, t] = *job.sets_;
  QF_ASSIGN_OR_RETURN(f, ToDataset(forget, "forget"));
  QF_ASSIGN_OR_RETURN(r, ToDataset(retain, "retain"));
  QF_ASSIGN_OR_RETURN(t, ToDataset(test, "test"));
  job.inputs_.forget = &f;
  job.inputs_.retain = &r;
  job.inputs_.test = &t;
  job.model_ = model_;
  if (reference) job.reference_ = reference->model_;
  job.requantize_ = requantize;
  QF_ASSIGN_OR_RETURN(job.session_, unlearn::MetricsSession::Start(*model_, job.inputs_));
  return job;
}

StatusOr<std::string> MetricsJob::Step(size_t max_units) {
  if (!done_) {
    QF_RETURN_IF_ERROR(session_->Step(max_units));
    if (session_->done()) {
      std::unique_ptr<unlearn::MetricsSession> finished = std::move(session_);
      if (stage_ == "model") {
        metrics_ = finished->result();
        if (reference_) {
          stage_ = "reference";
          QF_ASSIGN_OR_RETURN(session_, unlearn::MetricsSession::Start(*reference_, inputs_));
          forget_probs_ = finished->forget_probs();
        }
      } else {
        reference_metrics_ = finished->result();
        js_ = unlearn::MeanJsDivergence(forget_probs_, finished->forget_probs());
      }
      if (!session_) {
        if (requantize_) {
          stage_ = "requantize";  // one unit: a copy of the model over D_f and the calibration
          QF_ASSIGN_OR_RETURN(requantized_, unlearn::RequantizedForgetAccuracy(
                                                *model_, *inputs_.forget, *inputs_.retain));
        }
        done_ = true;
      }
    }
  }
  Json out = Json::MakeObject();
  out.Set("done", Json::Bool(done_));
  out.Set("stage", Json::String(stage_));
  Json batches = Json::MakeArray();
  batches.Push(Json::Number(double(session_ ? session_->batches_done() : 0)));
  batches.Push(Json::Number(double(session_ ? session_->batches_total() : 0)));
  out.Set("batches", std::move(batches));
  out.Set("svmSteps", Json::Number(double(session_ ? session_->svm_steps() : 0)));
  return out.Dump();
}

StatusOr<std::string> MetricsJob::Result() const {
  if (!done_) return FailedPrecondition("the metrics are not done");
  const unlearn::Metrics& m = *metrics_;
  Json out = Json::MakeObject();
  out.Set("FA", ProportionJson(m.fa));
  out.Set("UA", ProportionJson(m.ua));
  out.Set("RA", ProportionJson(m.ra));
  out.Set("TA", ProportionJson(m.ta));
  out.Set("MIA", m.mia.available ? ProportionJson(m.mia.efficacy) : Json::Null());
  out.Set("miaAttack", MiaAttackJson(m.mia));
  if (requantized_) out.Set("FARequantized", ProportionJson(*requantized_));
  if (reference_metrics_) {
    out.Set("AG", Json::Number(unlearn::AverageGap(m, *reference_metrics_)));
    out.Set("JS", Json::Number(js_));
  }
  return out.Dump();
}

StatusOr<std::string> FitSession::Step(size_t max_batches) {
  QF_ASSIGN_OR_RETURN(const std::optional<train::EpochStats> epoch, trainer_->Step(max_batches));
  Json out = Json::MakeObject();
  out.Set("done", Json::Bool(trainer_->done()));
  if (epoch) {
    Json e = Json::MakeObject();
    e.Set("epoch", Json::Number(epoch->epoch));
    e.Set("loss", Json::Number(epoch->loss));
    e.Set("accuracy", Json::Number(epoch->accuracy));
    e.Set("lr", Json::Number(epoch->lr));
    e.Set("seconds", Json::Number(epoch->seconds));
    out.Set("epoch", std::move(e));
  } else {
    out.Set("epoch", Json::Null());
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

StatusOr<uint64_t> PlannedForgetSamples(std::string_view options_json, size_t forget, size_t retain,
                                        size_t holdout) {
  QF_ASSIGN_OR_RETURN(const Json options, ParseOptions(options_json, "options"));
  std::string name;
  QF_ASSIGN_OR_RETURN(const unlearn::UnlearnOptions unlearn_options,
                      UnlearnOptionsFromJson(options, &name));
  QF_RETURN_IF_ERROR(unlearn::ValidateUnlearnOptions(unlearn_options));
  QF_ASSIGN_OR_RETURN(const std::unique_ptr<unlearn::Method> method, unlearn::MakeMethod(name));
  const std::optional<uint64_t> samples =
      method->PlannedSamples(unlearn_options, forget, retain, holdout);
  if (!samples) return Unimplemented("the cost of method '" + name + "' is not known before it runs");
  return *samples;
}

StatusOr<unlearn::ScenarioSplit> ResolveScenario(const uint8_t* labels, size_t n,
                                                 std::string_view type_name,
                                                 const std::string& spec, size_t classes,
                                                 uint64_t seed) {
  QF_ASSIGN_OR_RETURN(const DType type, ParseDType(type_name, "labels' type"));
  QF_ASSIGN_OR_RETURN(std::vector<Label> values, LabelsFromBuffer(labels, n, type, "labels"));
  return unlearn::ResolveScenario(spec, values, classes, seed);
}

}  // namespace qf::api
