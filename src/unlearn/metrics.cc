// Unlearning metrics.
#include "unlearn/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"
#include "quant/weight_grid.h"
#include "train/loss.h"
#include "train/trainer.h"

namespace qf::unlearn {
namespace {

Proportion Accuracy(const Tensor& probs, const train::Dataset& data) {
  return WilsonProportion(train::CountCorrect(probs, data.y.data()), data.size());
}

// Re-quantizes every quantized weight from its float shadow weights alone: its grid's
// parameters become what quant::FitGrid's least-squared-error rule gives (what a
// post-training quantizer given the float checkpoint would choose; for a codebook,
// k-means), the learned ones are dropped.
class StepRefitter final : public nn::StateVisitor {
 public:
  void Float(const std::string&, Tensor*, nn::FloatRule) override {}
  void Flag(const std::string&, bool*) override {}
  void Quantized(const nn::QuantizedWeightState& s) override {
    quant::FitGrid(s.weight->data(), quant::StepRule::kMse, s.grid);
  }
};

}  // namespace

StatusOr<Proportion> RequantizedForgetAccuracy(nn::Model& model, const train::Dataset& forget,
                                           const train::Dataset& calibration) {
  const size_t c = model.classes();
  QF_RETURN_IF_ERROR(train::ValidateDataset(forget, model.input_shape(), model.input_type(), c, "forget"));
  QF_RETURN_IF_ERROR(train::ValidateDataset(calibration, model.input_shape(), model.input_type(), c, "calibration"));
  QF_ASSIGN_OR_RETURN(std::unique_ptr<nn::Model> copy, model.Copy());
  StepRefitter refit;
  copy->CollectState(&refit);
  copy->OnParamsChanged();
  if (copy->BeginCalibration() > 0) {
    // Batches of one size: each weighs the same in the average.
    const size_t n = std::min(calibration.size(), kCalibrationSamples);
    const size_t batch = std::min(copy->eval_batch(), n);
    copy->ForwardInBatches(calibration.x.data(), n - n % batch, batch, nn::Mode::kCalibrate,
                           [](size_t, const Tensor&) {});
  }
  return Accuracy(PredictProbs(*copy, forget), forget);
}

namespace {

// Softmax rows of the model for `count` samples of `data` from `first` on, into rows
// `first`.. of `probs` ([data.size(), classes]), in evaluation batches of `batch`.
void PredictProbsInto(nn::Model& model, const train::Dataset& data, size_t first, size_t count,
                      size_t batch, Tensor* probs) {
  const size_t c = model.classes(), sample = model.sample_bytes();
  Tensor batch_probs;
  model.ForwardInBatches(data.x.data() + first * sample, count, batch, nn::Mode::kEval,
                         [&](size_t at, const Tensor& logits) {
                           train::Softmax(logits, &batch_probs);
                           std::copy(batch_probs.values().begin(), batch_probs.values().end(),
                                     probs->data() + (first + at) * c);
                         });
}

}  // namespace

Tensor PredictProbs(nn::Model& model, const train::Dataset& data) {
  Tensor probs(Shape{data.size(), model.classes()});
  PredictProbsInto(model, data, 0, data.size(), model.eval_batch(), &probs);
  return probs;
}

StatusOr<std::unique_ptr<MetricsSession>> MetricsSession::Start(nn::Model& model,
                                                                 const MetricsInputs& in) {
  if (!in.forget || !in.retain || !in.test) {
    return InvalidArgument("metrics need the forget, retain and test sets");
  }
  const size_t c = model.classes();
  QF_RETURN_IF_ERROR(train::ValidateDataset(*in.forget, model.input_shape(), model.input_type(), c, "forget"));
  QF_RETURN_IF_ERROR(train::ValidateDataset(*in.retain, model.input_shape(), model.input_type(), c, "retain"));
  QF_RETURN_IF_ERROR(train::ValidateDataset(*in.test, model.input_shape(), model.input_type(), c, "test"));
  std::unique_ptr<MetricsSession> s(new MetricsSession());
  s->model_ = &model;
  s->in_ = in;
  const train::Dataset* sets[3] = {in.forget, in.retain, in.test};
  const size_t batch = model.eval_batch();
  for (size_t k = 0; k < 3; k++) {
    s->probs_[k] = Tensor(Shape{sets[k]->size(), c});
    for (size_t first = 0; first < sets[k]->size(); first += batch) {
      s->batches_.push_back({k, first, std::min(batch, sets[k]->size() - first)});
    }
  }
  return s;
}

Status MetricsSession::Step(size_t max_units) {
  const train::Dataset* sets[3] = {in_.forget, in_.retain, in_.test};
  for (size_t unit = 0; unit < std::max<size_t>(1, max_units) && !done_; unit++) {
    if (batch_ < batches_.size()) {
      const Batch& b = batches_[batch_++];
      PredictProbsInto(*model_, *sets[b.set], b.first, b.count, b.count, &probs_[b.set]);
      if (batch_ == batches_.size()) QF_RETURN_IF_ERROR(StartAttack());
      continue;
    }
    attack_->Step(kSvmStepsPerUnit);
    if (attack_->done()) {
      metrics_.mia = attack_->result();
      done_ = true;
    }
  }
  return OkStatus();
}

// Once every set has its probabilities: the accuracies, and the attack's set-up.
Status MetricsSession::StartAttack() {
  const train::Dataset* sets[3] = {in_.forget, in_.retain, in_.test};
  metrics_.fa = Accuracy(probs_[0], *in_.forget);
  metrics_.ua = Complement(metrics_.fa);
  metrics_.ra = Accuracy(probs_[1], *in_.retain);
  metrics_.ta = Accuracy(probs_[2], *in_.test);
  MiaInputs mia;
  mia.num_features = MiaFeatureDims(in_.mia_feature);
  mia.seed = in_.seed;
  std::vector<float>* features[3] = {&mia.forget, &mia.retain, &mia.test};
  for (size_t k = 0; k < 3; k++) {
    QF_ASSIGN_OR_RETURN(*features[k],
                        ComputeMiaFeatures(probs_[k].data(), sets[k]->y.data(), sets[k]->size(),
                                           model_->classes(), in_.mia_feature));
  }
  QF_ASSIGN_OR_RETURN(attack_, MiaSession::Start(std::move(mia)));
  return OkStatus();
}

const Metrics& MetricsSession::result() const {
  QF_CHECK(done_);
  return metrics_;
}

StatusOr<Metrics> ComputeMetrics(nn::Model& model, const MetricsInputs& in) {
  QF_ASSIGN_OR_RETURN(const std::unique_ptr<MetricsSession> session,
                      MetricsSession::Start(model, in));
  while (!session->done()) QF_RETURN_IF_ERROR(session->Step(std::numeric_limits<size_t>::max()));
  return session->result();
}

double AverageGap(const Metrics& m, const Metrics& r) {
  double sum = std::fabs(m.fa.value - r.fa.value) + std::fabs(m.ra.value - r.ra.value) +
               std::fabs(m.ta.value - r.ta.value);
  if (!m.mia.available || !r.mia.available) return sum / 3.0;
  sum += std::fabs(m.mia.efficacy.value - r.mia.efficacy.value);
  return sum / 4.0;
}

double MeanJsDivergence(const Tensor& p, const Tensor& q) {
  const size_t n = p.shape()[0], c = p.shape()[1];
  if (n == 0) return 0.0;
  // KL terms with 0 log 0 = 0; the mixture is positive wherever p or q is.
  auto kl = [](double a, double mix) { return a > 0 ? a * std::log(a / mix) : 0.0; };
  double total = 0;
  for (size_t i = 0; i < n; i++) {
    double js = 0;
    for (size_t j = 0; j < c; j++) {
      const double a = p[i * c + j], b = q[i * c + j], mix = 0.5 * (a + b);
      js += 0.5 * kl(a, mix) + 0.5 * kl(b, mix);
    }
    total += js;
  }
  return total / double(n);
}

}  // namespace qf::unlearn
