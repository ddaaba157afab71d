// The training loop.
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "train/loss.h"

namespace qf::train {

Status ValidateFitOptions(const FitOptions& o) {
  if (o.epochs < 1 || o.epochs > 100000) {
    return InvalidArgument("epochs must be an integer in [1, 100000], got " + std::to_string(o.epochs));
  }
  if (o.batch_size < 1 || o.batch_size > 65536) {
    return InvalidArgument("batchSize must be in [1, 65536], got " + std::to_string(o.batch_size));
  }
  if (!(o.lr > 0.0f && std::isfinite(o.lr))) {
    return InvalidArgument("lr must be a finite number > 0, got " + std::to_string(o.lr));
  }
  if (!(o.clip_norm >= 0.0f && std::isfinite(o.clip_norm))) {
    return InvalidArgument("clipNorm must be a finite number >= 0 (0: off)");
  }
  if (o.augment.crop_padding > 16) return InvalidArgument("cropPadding must be <= 16");
  return ValidateSchedule(o.schedule);
}

StatusOr<std::unique_ptr<Trainer>> Trainer::Create(nn::Model* model, const Dataset* data,
                                                   const FitOptions& options) {
  QF_RETURN_IF_ERROR(ValidateDataset(*data, model->input_shape(), model->input_type(), model->classes(), "dataset"));
  return Make(model, data, nullptr, options);
}

StatusOr<std::unique_ptr<Trainer>> Trainer::Create(nn::Model* model, SampleStream* stream,
                                                   FitOptions options) {
  QF_RETURN_IF_ERROR(CheckStream(*stream, *model, "dataset"));
  if (options.shuffle_window == 0) options.shuffle_window = kStreamWindow;
  QF_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer, Make(model, nullptr, stream, options));
  QF_RETURN_IF_ERROR(stream->Open(options.shuffle_window, options.batch_size, "dataset"));
  return trainer;
}

StatusOr<std::unique_ptr<Trainer>> Trainer::Make(nn::Model* model, const Dataset* data,
                                                 SampleStream* stream, const FitOptions& options) {
  QF_RETURN_IF_ERROR(ValidateFitOptions(options));
  if (options.augment.enabled() && (model->input_shape().rank() != 3 ||
                                    model->spec().input_layout != nn::InputLayout::kNHWC)) {
    return InvalidArgument("augmentation needs H x W x C inputs, the model takes " +
                           model->input_shape().ToString() +
                           (model->input_shape().rank() == 3 ? " (inputLayout 'nchw')" : ""));
  }
  StatusOr<std::unique_ptr<Optimizer>> optimizer = MakeOptimizer(options.optimizer);
  if (!optimizer.ok()) return optimizer.status();
  return std::unique_ptr<Trainer>(
      new Trainer(model, data, stream, options, std::move(optimizer).value()));
}

Trainer::Trainer(nn::Model* model, const Dataset* data, SampleStream* stream,
                 const FitOptions& options, std::unique_ptr<Optimizer> optimizer)
    : model_(model), data_(data), stream_(stream), options_(options),
      optimizer_(std::move(optimizer)), rng_(options.seed) {}

void Trainer::StartEpoch() {
  order_ = ShuffleOrder(stream_ ? stream_->size() : data_->size(), options_.shuffle_window, rng_);
  if (stream_) stream_->BeginPass();
  started_ = true;
  loss_sum_ = 0;
  seconds_ = 0;
  correct_ = seen_ = 0;
}

Status Trainer::Diverged(const std::string& what) {
  start_->Restore(*model_);
  spent_ = true;
  return Status(StatusCode::kFailedPrecondition,
                "training diverged: " + what + " at epoch " + std::to_string(epoch_ + 1) +
                    " (try a smaller lr); the model was restored to its state before training");
}

StatusOr<std::optional<EpochStats>> Trainer::Step(size_t max_batches) {
  if (spent_) return Status(StatusCode::kFailedPrecondition, "this training run diverged and ended");
  if (done()) return std::optional<EpochStats>();
  if (!start_) start_.emplace(*model_);
  const size_t n = stream_ ? stream_->size() : data_->size(), bs = options_.batch_size;
  const size_t d = model_->sample_bytes(), batches = (n + bs - 1) / bs;
  const float lr = ScheduledLr(options_.schedule, options_.lr, epoch_, options_.epochs);
  const auto start = std::chrono::steady_clock::now();
  for (size_t step = 0; step < max_batches && batch_ < batches; step++, batch_++) {
    if (!started_) StartEpoch();
    const size_t lo = batch_ * bs, m = std::min(bs, n - lo);
    if (stream_ && stream_->Missing(order_.data() + lo, m) > 0) break;  // to be pushed
    batch_x_.resize(m * d);
    batch_y_.resize(m);
    for (size_t i = 0; i < m; i++) {
      const uint32_t id = order_[lo + i];
      if (stream_) {
        stream_->Take(id, batch_x_.data() + i * d, &batch_y_[i]);
        continue;
      }
      std::copy(data_->x.begin() + size_t(id) * d, data_->x.begin() + size_t(id + 1) * d,
                batch_x_.begin() + i * d);
      batch_y_[i] = data_->y[id];
    }
    if (options_.augment.enabled()) {
      const Shape& s = model_->input_shape();
      Augment(options_.augment, m, s[0], s[1], s[2], SizeOf(model_->input_type()), batch_x_.data(),
              rng_);
    }
    model_->Forward(batch_x_.data(), m, &logits_, nn::Mode::kTrain);
    const float loss = SoftmaxCrossEntropy(logits_, batch_y_.data(), nullptr, 1.0f, &dlogits_);
    if (!std::isfinite(loss)) return Diverged("the loss is not finite");
    ZeroGrads(model_->params());
    model_->Backward(dlogits_);
    if (options_.clip_norm > 0) ClipGradNorm(model_->params(), options_.clip_norm);
    optimizer_->Step(model_->params(), lr);
    model_->OnParamsChanged();
    loss_sum_ += double(loss) * double(m);
    correct_ += CountCorrect(logits_, batch_y_.data());
    seen_ += m;
  }
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (batch_ < batches) return std::optional<EpochStats>();
  if (!nn::StateIsFinite(*model_)) return Diverged("a weight is not finite");
  batch_ = 0;
  started_ = false;
  epoch_++;
  EpochStats stats;
  stats.epoch = epoch_;
  stats.loss = float(loss_sum_ / double(seen_));
  stats.accuracy = float(double(correct_) / double(seen_));
  stats.lr = lr;
  stats.seconds = seconds_;
  return std::optional<EpochStats>(stats);
}

StatusOr<std::vector<EpochStats>> Fit(nn::Model& model, const Dataset& data,
                                      const FitOptions& options,
                                      const std::function<bool(const EpochStats&)>& progress) {
  StatusOr<std::unique_ptr<Trainer>> trainer = Trainer::Create(&model, &data, options);
  if (!trainer.ok()) return trainer.status();
  std::vector<EpochStats> history;
  while (!trainer.value()->done()) {
    StatusOr<std::optional<EpochStats>> step = trainer.value()->Step(SIZE_MAX);
    if (!step.ok()) return step.status();
    if (!step.value()) continue;
    history.push_back(*step.value());
    if (progress && !progress(history.back())) break;
  }
  return history;
}

size_t CountCorrect(const Tensor& logits, const Label* labels) {
  const size_t n = logits.shape()[0], c = logits.shape()[1];
  size_t correct = 0;
  for (size_t i = 0; i < n; i++) {
    const float* z = logits.data() + i * c;
    size_t best = 0;
    for (size_t j = 1; j < c; j++) {
      if (z[j] > z[best]) best = j;
    }
    correct += best == labels[i];
  }
  return correct;
}

EvalResult Evaluate(nn::Model& model, const Dataset& data, size_t batch_size) {
  batch_size = std::max<size_t>(1, std::min(batch_size, model.eval_batch()));
  const size_t n = data.size();
  double loss = 0;
  size_t correct = 0;
  model.ForwardInBatches(data.x.data(), n, batch_size, nn::Mode::kEval,
                         [&](size_t first, const Tensor& logits) {
                           const Label* y = data.y.data() + first;
                           loss += double(SoftmaxCrossEntropy(logits, y, nullptr, 1.0f, nullptr)) *
                                   double(logits.shape()[0]);
                           correct += CountCorrect(logits, y);
                         });
  EvalResult result;
  result.accuracy = n ? float(double(correct) / double(n)) : 0.0f;
  result.loss = n ? float(loss / double(n)) : 0.0f;
  return result;
}

}  // namespace qf::train
