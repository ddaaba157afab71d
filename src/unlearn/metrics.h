// The standard unlearning metrics (SPEC §4, as the SalUn codebase computes them),
// measured on the deployed integer model: FA / UA on the forget set, RA on the retain
// set, TA on the test set, MIA-efficacy (each with its sample count and 95 % interval), and against a retrained reference the average
// gap AG and the Jensen-Shannon divergence of predictions on the forget set. Metrics
// only: nothing here changes a model.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "core/status.h"
#include "nn/model.h"
#include "train/dataset.h"
#include "unlearn/mia.h"

namespace qf::unlearn {

// Every accuracy and rate is a fraction in [0, 1] with its sample count and 95 % interval.
struct Metrics {
  Proportion fa;  // accuracy on the forget set
  Proportion ua;  // 1 - fa
  Proportion ra;  // accuracy on the retain set
  Proportion ta;  // accuracy on the test set
  // MIA-efficacy (mia.efficacy: forget samples the attack calls non-members), with the
  // attack's own accuracy; mia.available is false when the sets are too small for it.
  MiaResult mia;
};

struct MetricsInputs {
  const train::Dataset* forget = nullptr;
  const train::Dataset* retain = nullptr;
  const train::Dataset* test = nullptr;
  MiaFeature mia_feature = MiaFeature::kConfidence;
  uint64_t seed = 0;  // the MIA's member subsample
};

// Softmax probabilities [n, classes] of the model (eval mode) on a dataset.
Tensor PredictProbs(nn::Model& model, const train::Dataset& data);

StatusOr<Metrics> ComputeMetrics(nn::Model& model, const MetricsInputs& inputs);

// ComputeMetrics as resumable work, for callers that report progress or stop between
// steps. A unit of work is one evaluation batch of the forget, retain or test set, or
// kSvmStepsPerUnit SMO steps of the membership attack. `model` and the datasets `inputs`
// points at must stay alive and unchanged until the session is done or dropped.
class MetricsSession {
 public:
  static constexpr size_t kSvmStepsPerUnit = 1000;

  // Validates as ComputeMetrics does.
  static StatusOr<std::unique_ptr<MetricsSession>> Start(nn::Model& model,
                                                         const MetricsInputs& inputs);
  // Up to max_units units (at least one).
  Status Step(size_t max_units);
  bool done() const { return done_; }
  // Evaluation batches: done so far and in all; then the attack's SMO steps so far.
  size_t batches_done() const { return batch_; }
  size_t batches_total() const { return batches_.size(); }
  size_t svm_steps() const { return attack_ ? attack_->svm_steps() : 0; }
  // Requires done().
  const Metrics& result() const;
  // Softmax rows of the model on the forget set (for MeanJsDivergence).
  const Tensor& forget_probs() const { return probs_[0]; }

 private:
  MetricsSession() = default;
  Status StartAttack();

  nn::Model* model_ = nullptr;
  MetricsInputs in_;
  std::array<Tensor, 3> probs_;  // forget, retain, test
  // Every evaluation batch: (set, first sample, count).
  struct Batch {
    size_t set, first, count;
  };
  std::vector<Batch> batches_;
  size_t batch_ = 0;
  std::unique_ptr<MiaSession> attack_;  // from the end of the forward passes on
  Metrics metrics_;
  bool done_ = false;
};

// The deployment check (SPEC §4): FA of a copy of `model` re-quantized from its
// float shadow weights alone: every weight step is replaced by the least-squared-error
// step of its weights (quant::MseStep), as a post-training quantizer handed the float
// checkpoint would do. An FA well above the model's own means the forgetting lived in the
// learned quantization grid rather than in the weights, and would come back with the next
// re-quantization. Activation steps are kept. BatchNorm statistics belong to the grid
// they were measured under, so, as such a quantizer would, the copy re-estimates them
// (Mode::kCalibrate) on up to kCalibrationSamples samples of `calibration` (the retain
// set; never the forget set, whose statistics would favour it). `model` is only read.
inline constexpr size_t kCalibrationSamples = 4096;
StatusOr<Proportion> RequantizedForgetAccuracy(nn::Model& model, const train::Dataset& forget,
                                           const train::Dataset& calibration);

// Mean of |FA - FA_ref|, |RA - RA_ref|, |TA - TA_ref| and |MIA - MIA_ref| (fractions);
// the MIA term only when both attacks are available (else the mean of the other three).
double AverageGap(const Metrics& m, const Metrics& reference);

// Mean over samples of the Jensen-Shannon divergence (natural log, in [0, ln 2]) between
// two models' predicted distributions, rows of p and q ([n, classes] each).
double MeanJsDivergence(const Tensor& p, const Tensor& q);

}  // namespace qf::unlearn
