// Shared machinery of the unlearning methods, the stepped epoch loop, and the registry.
#include "unlearn/method.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "train/loss.h"
#include "train/trainer.h"
#include "unlearn/method_factories.h"
#include "unlearn/metrics.h"

namespace qf::unlearn {

Status ValidateUnlearnOptions(const UnlearnOptions& o) {
  if (o.epochs < 1 || o.epochs > 10000) {
    return InvalidArgument("epochs must be in [1, 10000], got " + std::to_string(o.epochs));
  }
  if (o.batch_size < 1 || o.batch_size > 65536) {
    return InvalidArgument("batchSize must be in [1, 65536], got " + std::to_string(o.batch_size));
  }
  if (!(o.lr > 0.0f && std::isfinite(o.lr))) {
    return InvalidArgument("lr must be a finite number > 0, got " + std::to_string(o.lr));
  }
  if (o.qmul_mode != "mixed" && o.qmul_mode != "sequential") {
    return InvalidArgument("qmulMode must be 'mixed' or 'sequential', got '" + o.qmul_mode + "'");
  }
  if (o.qmul_scan_mode != "train" && o.qmul_scan_mode != "eval") {
    return InvalidArgument("qmulScanMode must be 'train' or 'eval', got '" + o.qmul_scan_mode +
                           "'");
  }
  const std::string& similarity = o.qmul_similarity;
  if (similarity != "prediction" && similarity != "confusion" && similarity != "embedding" &&
      similarity != "matrix") {
    return InvalidArgument(
        "qmulSimilarity must be 'prediction', 'confusion', 'embedding' or a numClasses x "
        "numClasses similarity matrix, got '" +
        similarity + "'");
  }
  if ((similarity == "matrix") != !o.qmul_similarity_matrix.empty()) {
    return InvalidArgument(similarity == "matrix"
                               ? "qmulSimilarity 'matrix' needs the matrix itself: give the "
                                 "numClasses x numClasses similarities as qmulSimilarity"
                               : "a qmulSimilarity matrix goes with the rule 'matrix', not '" +
                                     similarity + "'");
  }
  for (size_t i = 0; i < o.qmul_similarity_matrix.size(); i++) {
    if (!std::isfinite(o.qmul_similarity_matrix[i])) {
      return InvalidArgument("qmulSimilarity: the similarity at index " + std::to_string(i) +
                             " (row-major) is not a finite number");
    }
  }
  if (!(o.l1_alpha >= 0.0f && o.l1_alpha <= 1.0f)) {
    return InvalidArgument("l1Alpha must be in [0, 1], got " + std::to_string(o.l1_alpha));
  }
  if (!(o.salun_ratio > 0.0f && o.salun_ratio <= 1.0f)) {
    return InvalidArgument("salunRatio must be in (0, 1], got " + std::to_string(o.salun_ratio));
  }
  if (!(o.bs_epsilon >= 0.0f && o.bs_epsilon <= 1.0f)) {
    return InvalidArgument("bsEpsilon must be in [0, 1], got " + std::to_string(o.bs_epsilon));
  }
  QF_RETURN_IF_ERROR(train::ValidateSchedule(o.schedule));
  return train::MakeOptimizer(o.optimizer).status();
}

Status ValidateUnlearnOptionsFor(const UnlearnOptions& o, size_t classes) {
  const std::vector<double>& s = o.qmul_similarity_matrix;
  if (s.empty()) return OkStatus();
  if (s.size() != classes * classes) {
    const size_t rows = size_t(std::llround(std::sqrt(double(s.size()))));
    const std::string shape = rows * rows == s.size()
                                  ? std::to_string(rows) + " x " + std::to_string(rows)
                                  : std::to_string(s.size()) + " values";
    return InvalidArgument("qmulSimilarity is " + shape + ", the model has " +
                           std::to_string(classes) + " classes: it must be " +
                           std::to_string(classes) + " x " + std::to_string(classes));
  }
  // The similar label of class y is argmax over j != y of s[y][j]: a row with no entry
  // > 0 off the diagonal names no similar class.
  for (size_t y = 0; y < classes; y++) {
    bool named = false;
    for (size_t j = 0; j < classes; j++) named = named || (j != y && s[y * classes + j] > 0);
    if (!named) {
      return InvalidArgument("qmulSimilarity[" + std::to_string(y) +
                             "] has no similarity > 0 off the diagonal: it names no class "
                             "similar to class " +
                             std::to_string(y) + " (the diagonal, the class itself, is ignored)");
    }
  }
  return OkStatus();
}

std::optional<uint64_t> Method::PlannedSamples(const UnlearnOptions& options, size_t forget,
                                               size_t retain, size_t holdout) const {
  const std::optional<uint64_t> passes = PlannedPasses(options, forget, retain);
  if (!passes) return std::nullopt;
  return *passes + uint64_t(options.epochs) * StopRuleSamples(options.until, holdout);
}

StatusOr<std::unique_ptr<Method>> MakeMethod(const std::string& name) {
  if (name == "retrain") return MakeRetrain();
  if (name == "ft") return MakeFineTune();
  if (name == "ga") return MakeGradientAscent();
  if (name == "rl") return MakeRandomLabels();
  if (name == "l1sparse") return MakeL1Sparse();
  if (name == "salun") return MakeSalun();
  if (name == "bs") return MakeBoundaryShrink();
  if (name == "qmul") return MakeQmul();
  if (name == "oeu") return MakeOeu();
  std::string known;
  for (const std::string& n : MethodNames()) known += (known.empty() ? "" : ", ") + n;
  return InvalidArgument("method must be one of " + known + "; got '" + name + "'");
}

std::vector<std::string> MethodNames() {
  return {"retrain", "ft", "ga", "rl", "l1sparse", "salun", "bs", "qmul", "oeu"};
}

void Gather(const MethodContext& ctx, const Batch& batch, BatchData* out,
            const std::vector<Label>* forget_labels) {
  const size_t d = ctx.model->sample_bytes();
  out->n = batch.size();
  out->x.resize(batch.size() * d);
  out->y.resize(batch.size());
  for (size_t i = 0; i < batch.size(); i++) {
    if (!batch[i].forget && ctx.retain_stream) {
      ctx.retain_stream->Take(batch[i].index, out->x.data() + i * d, &out->y[i]);
      continue;
    }
    const train::Dataset& src = batch[i].forget ? *ctx.forget : *ctx.retain;
    const size_t at = size_t(batch[i].index) * d;
    std::copy(src.x.begin() + at, src.x.begin() + at + d, out->x.begin() + i * d);
    out->y[i] =
        batch[i].forget && forget_labels ? (*forget_labels)[batch[i].index] : src.y[batch[i].index];
  }
}

std::vector<SampleRef> AllOf(const train::Dataset& data, bool forget) {
  std::vector<SampleRef> refs(data.size());
  for (size_t i = 0; i < refs.size(); i++) refs[i] = {forget, uint32_t(i)};
  return refs;
}

size_t RetainSize(const MethodContext& ctx) {
  return ctx.retain_stream ? ctx.retain_stream->size() : ctx.retain->size();
}

std::vector<SampleRef> AllRetain(const MethodContext& ctx) {
  std::vector<SampleRef> refs(RetainSize(ctx));
  for (size_t i = 0; i < refs.size(); i++) refs[i] = {false, uint32_t(i)};
  return refs;
}

std::vector<SampleRef> ForgetThenRetain(const MethodContext& ctx) {
  std::vector<SampleRef> all = AllOf(*ctx.forget, true);
  const std::vector<SampleRef> retain = AllRetain(ctx);
  all.insert(all.end(), retain.begin(), retain.end());
  return all;
}

namespace {

// `samples` cut, in order, into batches of `bs` (the last may be smaller).
std::vector<Batch> Chunks(const std::vector<SampleRef>& samples, size_t bs) {
  std::vector<Batch> batches;
  for (size_t lo = 0; lo < samples.size(); lo += bs) {
    batches.emplace_back(samples.begin() + lo, samples.begin() + std::min(lo + bs, samples.size()));
  }
  return batches;
}

}  // namespace

std::vector<Batch> InOrderBatches(const MethodContext& ctx, const train::Dataset& data,
                                  bool forget) {
  return Chunks(AllOf(data, forget), ctx.options.batch_size);
}

std::vector<Batch> MakeBatches(MethodContext& ctx, std::vector<SampleRef> samples) {
  std::vector<SampleRef> forget, retain;
  for (const SampleRef& s : samples) (s.forget ? forget : retain).push_back(s);
  const size_t window = ctx.options.shuffle_window;
  if (window == 0 || window >= retain.size()) {
    ctx.rng.Shuffle(samples.data(), samples.size());
    return Chunks(samples, ctx.options.batch_size);
  }
  // D_r in the window's order, D_f shuffled, and which slots take which.
  const std::vector<uint32_t> order = train::ShuffleOrder(retain.size(), window, ctx.rng);
  ctx.rng.Shuffle(forget.data(), forget.size());
  std::vector<uint8_t> is_forget(samples.size(), 0);
  std::fill(is_forget.begin(), is_forget.begin() + forget.size(), 1);
  ctx.rng.Shuffle(is_forget.data(), is_forget.size());
  size_t f = 0, r = 0;
  for (size_t i = 0; i < samples.size(); i++) {
    samples[i] = is_forget[i] ? forget[f++] : retain[order[r++]];
  }
  return Chunks(samples, ctx.options.batch_size);
}

StatusOr<float> CrossEntropyStep(MethodContext& ctx, const BatchData& batch, float sign, float lr,
                                 Tensor* logits_out) {
  Tensor local, dlogits;
  Tensor& logits = logits_out ? *logits_out : local;
  ctx.model->Forward(batch.x.data(), batch.n, &logits, nn::Mode::kTrain);
  const float loss = train::SoftmaxCrossEntropy(
      logits, batch.y.data(), batch.weights.empty() ? nullptr : batch.weights.data(), sign,
      &dlogits);
  if (!std::isfinite(loss)) {
    return Status(StatusCode::kFailedPrecondition,
                  "unlearning diverged: the loss is not finite (try a smaller lr)");
  }
  train::ZeroGrads(ctx.model->params());
  ctx.model->Backward(dlogits);
  ctx.optimizer->Step(ctx.model->params(), lr);
  ctx.model->OnParamsChanged();
  return loss;
}

double GradientNorm(MethodContext& ctx, const BatchData& batch, nn::Mode mode,
                    std::vector<double>* per_tensor, std::vector<float>* sum) {
  Tensor logits, dlogits;
  ctx.model->Forward(batch.x.data(), batch.n, &logits, mode);
  train::SoftmaxCrossEntropy(logits, batch.y.data(), nullptr, 1.0f, &dlogits);
  train::ZeroGrads(ctx.model->params());
  ctx.model->Backward(dlogits);
  const std::vector<nn::Param*>& params = ctx.model->params();
  if (per_tensor) per_tensor->assign(params.size(), 0.0);
  if (sum && sum->empty()) {
    size_t values = 0;
    for (const nn::Param* p : params) values += p->grad.size();
    sum->assign(values, 0.0f);
  }
  double total = 0;
  size_t at = 0;
  for (size_t t = 0; t < params.size(); t++) {
    const std::vector<float>& g = params[t]->grad.values();
    double sq = 0;
    for (float v : g) sq += double(v) * v;
    total += std::sqrt(sq);
    if (per_tensor) (*per_tensor)[t] = std::sqrt(sq);
    if (sum) {
      for (size_t k = 0; k < g.size(); k++) (*sum)[at + k] += g[k];
      at += g.size();
    }
  }
  train::ZeroGrads(ctx.model->params());
  return total;
}

bool EpochCursor::Once() {
  const size_t pass = calls_++;
  if (suspended_ || pass != next_) return false;
  next_++;
  return true;
}

EpochCursor::Range EpochCursor::Batches(const std::vector<Batch>& batches) {
  const size_t pass = calls_++;
  if (suspended_ || pass != next_) return Range(nullptr, pass, &batches);
  if (batches.empty()) {  // nothing to run: done at once
    PassOver();
    return Range(nullptr, pass, &batches);
  }
  if (stream_ && !begun_) {
    begun_ = true;
    const auto reads_retain = [](const Batch& b) {
      return std::any_of(b.begin(), b.end(), [](const SampleRef& s) { return !s.forget; });
    };
    if (std::any_of(batches.begin(), batches.end(), reads_retain)) stream_->BeginPass();
  }
  return Range(this, pass, &batches);
}

bool EpochCursor::Arrived(const Batch& batch) {
  if (!stream_) return true;
  ids_.clear();
  for (const SampleRef& s : batch) {
    if (!s.forget) ids_.push_back(s.index);
  }
  return stream_->Missing(ids_.data(), ids_.size()) == 0;
}

bool EpochCursor::Running(size_t pass, const std::vector<Batch>& batches) {
  if (next_ != pass || batch_ >= batches.size()) return false;  // the pass is over
  if (!suspended_ && (budget_ == 0 || !Arrived(batches[batch_]))) suspended_ = true;
  return !suspended_;
}

void EpochCursor::Advance(const std::vector<Batch>& batches) {
  samples_ += batches[batch_].size();
  budget_--;
  if (++batch_ == batches.size()) PassOver();
}

void EpochCursor::Resume(size_t budget) {
  calls_ = 0;
  budget_ = budget;
  suspended_ = false;
}

Status CrossEntropyPass(MethodContext& ctx, EpochCursor& at, const std::vector<Batch>& batches,
                        const std::vector<Label>* forget_labels, float sign, float lr,
                        BatchData* data, LossMeter* meter) {
  for (const Batch& batch : at.Batches(batches)) {
    Gather(ctx, batch, data, forget_labels);
    QF_ASSIGN_OR_RETURN(const float loss, CrossEntropyStep(ctx, *data, sign, lr));
    meter->Add(loss);
  }
  return OkStatus();
}

void EpochMethod::FinishReport(MethodContext& ctx, const Tensor& forget_probs,
                               EpochReport* report) {
  const size_t n = ctx.forget->size();
  const size_t correct = train::CountCorrect(forget_probs, ctx.forget->y.data());
  report->forget_accuracy = n ? double(correct) / double(n) : 0.0;
}

Status EpochMethod::Begin(MethodContext& ctx) {
  epochs_ = ctx.options.epochs;
  epoch_ = 0;
  stopped_ = false;
  rule_samples_ = 0;
  cursor_.Reset();
  cursor_.ReadFrom(ctx.retain_stream);
  report_ = EpochReport();
  seconds_ = 0;
  return OkStatus();
}

Status EpochMethod::Step(MethodContext& ctx, size_t max_batches,
                         std::vector<EpochReport>* reports) {
  if (done() || max_batches == 0) return OkStatus();
  const auto start = std::chrono::steady_clock::now();
  const float lr = train::ScheduledLr(ctx.options.schedule, ctx.options.lr, epoch_, epochs_);
  cursor_.Resume(max_batches);
  QF_RETURN_IF_ERROR(RunEpoch(ctx, epoch_, lr, cursor_, &report_));
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!cursor_.finished()) return OkStatus();
  report_.epoch = ++epoch_;
  report_.lr = lr;
  const Tensor forget_probs = PredictProbs(*ctx.model, *ctx.forget);
  FinishReport(ctx, forget_probs, &report_);
  if (ctx.options.until.kind != StopRule::Kind::kEpochs) {
    report_.until =
        CheckStopRule(ctx.options.until, *ctx.model, *ctx.forget, forget_probs, *ctx.holdout);
    stopped_ = report_.until->met;
    rule_samples_ += StopRuleSamples(ctx.options.until, ctx.holdout->size());
  }
  report_.seconds = seconds_;
  reports->push_back(std::move(report_));
  report_ = EpochReport();
  seconds_ = 0;
  cursor_.NextEpoch();
  return OkStatus();
}

}  // namespace qf::unlearn
