// Shared machinery of the unlearning methods, the phased epoch loop, and the registry.
#include "unlearn/method.h"

#include <chrono>
#include <cmath>

#include "train/loss.h"
#include "train/trainer.h"
#include "unlearn/method_factories.h"

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

void Gather(const MethodContext& ctx, const std::vector<SampleRef>& batch,
            const std::function<uint8_t(uint32_t)>& forget_label, BatchData* out) {
  const size_t d = ctx.model->input_shape().size();
  out->n = batch.size();
  out->x.resize(batch.size() * d);
  out->y.resize(batch.size());
  for (size_t i = 0; i < batch.size(); i++) {
    const train::Dataset& src = batch[i].forget ? *ctx.forget : *ctx.retain;
    const size_t at = size_t(batch[i].index) * d;
    std::copy(src.x.begin() + at, src.x.begin() + at + d, out->x.begin() + i * d);
    out->y[i] =
        batch[i].forget && forget_label ? forget_label(batch[i].index) : src.y[batch[i].index];
  }
}

std::vector<SampleRef> AllOf(const train::Dataset& data, bool forget) {
  std::vector<SampleRef> refs(data.size());
  for (size_t i = 0; i < refs.size(); i++) refs[i] = {forget, uint32_t(i)};
  return refs;
}

namespace {

// `samples` cut, in order, into batches of `bs` (the last may be smaller).
std::vector<std::vector<SampleRef>> Chunks(const std::vector<SampleRef>& samples, size_t bs) {
  std::vector<std::vector<SampleRef>> batches;
  for (size_t lo = 0; lo < samples.size(); lo += bs) {
    batches.emplace_back(samples.begin() + lo, samples.begin() + std::min(lo + bs, samples.size()));
  }
  return batches;
}

// Batches of all of `data` in order, unshuffled (for scans that update nothing).
std::vector<std::vector<SampleRef>> InOrderBatches(const MethodContext& ctx,
                                                   const train::Dataset& data, bool forget) {
  return Chunks(AllOf(data, forget), ctx.options.batch_size);
}

}  // namespace

std::vector<std::vector<SampleRef>> MakeBatches(MethodContext& ctx,
                                                std::vector<SampleRef> samples) {
  ctx.rng.Shuffle(samples.data(), samples.size());
  return Chunks(samples, ctx.options.batch_size);
}

StatusOr<float> CrossEntropyStep(MethodContext& ctx, const BatchData& batch, float sign, float lr) {
  Tensor logits, dlogits;
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

double GradientNorm(MethodContext& ctx, const BatchData& batch) {
  Tensor logits, dlogits;
  ctx.model->Forward(batch.x.data(), batch.n, &logits, nn::Mode::kTrain);
  train::SoftmaxCrossEntropy(logits, batch.y.data(), nullptr, 1.0f, &dlogits);
  train::ZeroGrads(ctx.model->params());
  ctx.model->Backward(dlogits);
  double sum = 0;
  for (const nn::Param* p : ctx.model->params()) {
    double sq = 0;
    for (float g : p->grad.values()) sq += double(g) * g;
    sum += std::sqrt(sq);
  }
  train::ZeroGrads(ctx.model->params());
  return sum;
}

double ForgetAccuracy(MethodContext& ctx) {
  return train::Evaluate(*ctx.model, *ctx.forget).accuracy;
}

PhasedMethod::Phase PhasedMethod::CrossEntropyPhase(std::string name,
                                                    std::vector<std::vector<SampleRef>> batches,
                                                    std::function<uint8_t(uint32_t)> forget_label,
                                                    float sign, LossMeter* meter) {
  auto data = std::make_shared<BatchData>();
  return {std::move(name), std::move(batches),
          [=](MethodContext& ctx, const std::vector<SampleRef>& batch, float lr) -> Status {
            Gather(ctx, batch, forget_label, data.get());
            QF_ASSIGN_OR_RETURN(const float loss, CrossEntropyStep(ctx, *data, sign, lr));
            meter->Add(loss);
            return OkStatus();
          }};
}

PhasedMethod::Phase PhasedMethod::ForgetScanPhase(
    std::string name, const MethodContext& ctx,
    std::function<void(MethodContext&, const std::vector<SampleRef>&)> visit) {
  return {std::move(name), InOrderBatches(ctx, *ctx.forget, true),
          [visit = std::move(visit)](MethodContext& c, const std::vector<SampleRef>& batch, float) {
            visit(c, batch);
            return OkStatus();
          }};
}

Status PhasedMethod::Begin(MethodContext& ctx) {
  epochs_ = ctx.options.epochs;
  epoch_ = 0;
  planned_ = false;
  samples_run_ = 0;
  return OkStatus();
}

Status PhasedMethod::Step(MethodContext& ctx, size_t max_batches,
                          std::vector<EpochReport>* reports) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  size_t ran = 0;
  while (!done() && ran < max_batches) {
    if (!planned_) {
      phases_.clear();
      QF_RETURN_IF_ERROR(PlanEpoch(ctx, epoch_, &phases_));
      phase_ = batch_ = 0;
      planned_ = true;
    }
    const float lr = train::ScheduledLr(ctx.options.schedule, ctx.options.lr, epoch_, epochs_);
    if (phase_ < phases_.size()) {
      Phase& phase = phases_[phase_];
      if (batch_ < phase.batches.size()) {
        QF_RETURN_IF_ERROR(phase.run(ctx, phase.batches[batch_], lr));
        samples_run_ += phase.batches[batch_].size();
        batch_++;
        ran++;
      } else {
        phase_++;
        batch_ = 0;
      }
      continue;
    }
    seconds_ += elapsed();
    EpochReport report;
    report.epoch = ++epoch_;
    report.lr = lr;
    FinishEpoch(ctx, &report);
    report.forget_accuracy = ForgetAccuracy(ctx);
    report.seconds = seconds_;
    seconds_ = 0;
    reports->push_back(std::move(report));
    planned_ = false;
    return OkStatus();  // one report per call keeps reports and progress in step
  }
  seconds_ += elapsed();
  return OkStatus();
}

}  // namespace qf::unlearn
