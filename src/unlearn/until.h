// Forgetting until it looks forgotten: a stopping rule checked after every epoch of a
// forget, in place of a fixed number of epochs that users cannot guess.
//
// Sample requests ("unseen"): the forget samples should look like samples the model never
// trained on. The caller gives such samples (a held-out set from the same distribution);
// after each epoch two tests compare the forget set with the held-out set, and the forget
// stops as soon as neither tells them apart at the 5 % level (both p >= kUnseenAlpha):
//  - a two-sample Kolmogorov-Smirnov test on the true-class confidences p_y, the feature
//    the membership attack reads (MiaFeature::kConfidence): their whole distribution;
//  - a two-proportion z-test on accuracy: a model seldom misclassifies what it trained
//    on, and for small sets that is most of what gives them away. On lenet (4-bit, 10,000
//    images), the original model's forget set of 200 against 1,000 held-out images:
//    KS p = 0.06, while its accuracy (97 % against 89 %) gives p < 1e-6
//    (bench/UNLEARNING.md, "Forget until it looks unseen").
//
// Why tests, and not the membership attack's accuracy between the two sets: their
// p-values are calibrated for any sizes, so "indistinguishable" means the same at 50
// samples as at 5,000, while an attack trained on a few hundred 1-D points has an
// accuracy whose noise (±0.07 at 100 per side) is as large as the differences a stopping
// rule must see, and which depends on its own seed and solver. The tolerance is the
// tests' level: stopping at p >= 0.05 means that what difference remains is one these
// tests cannot tell from chance at these sizes. With small sets that is a coarse bar,
// which is why both sets need at least kUnseenMinSamples samples.
//
// Class requests ("forgetAccuracy"): there are no held-out samples of a class forgotten
// whole; the forget stops once the forget set's accuracy is at most the target.
#pragma once

#include <cstddef>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "nn/model.h"
#include "train/dataset.h"

namespace qf::unlearn {

// The level of the unseen test: stop when the KS p-value reaches it.
inline constexpr double kUnseenAlpha = 0.05;
// Each side's fewest samples for the unseen test.
inline constexpr size_t kUnseenMinSamples = 20;

struct StopRule {
  enum class Kind {
    kEpochs,          // the options' epochs, all of them (the default)
    kUnseen,          // until the forget set looks like the held-out set
    kForgetAccuracy,  // until the forget set's accuracy is at most forget_accuracy
  };
  Kind kind = Kind::kEpochs;
  double forget_accuracy = 0;  // kForgetAccuracy's target, in [0, 1]
};

// The rule's reading after one epoch (kForgetAccuracy's is the epoch's forget accuracy).
struct StopCheck {
  StopRule::Kind kind = StopRule::Kind::kEpochs;
  bool met = false;
  // kUnseen: the KS statistic D (the largest gap between the two sets' cumulative
  // distributions of p_y, in [0, 1]) and its p-value; the held-out set's accuracy and the
  // z-test's p-value for its difference from the forget set's; the mean p_y of each set.
  double ks = 0, ks_p_value = 1;
  double holdout_accuracy = 0, accuracy_p_value = 1;
  double forget_confidence = 0, holdout_confidence = 0;
};

// The two-sample KS statistic D = sup_x |F_a(x) - F_b(x)| of two samples (non-empty).
double KsStatistic(std::vector<float> a, std::vector<float> b);
// The asymptotic p-value of D for samples of sizes n and m (Stephens' correction of the
// effective size), in [0, 1].
double KsPValue(double d, size_t n, size_t m);

// The two-sided p-value of the pooled two-proportion z-test for k1 of n1 against k2 of n2
// (1 when the pooled proportion is 0 or 1: nothing tells them apart).
double TwoProportionPValue(size_t k1, size_t n1, size_t k2, size_t n2);

// Samples the rule puts through the model after an epoch besides the forget set (which
// the epoch report predicts anyway): kUnseen's `holdout` held-out samples, else none.
inline size_t StopRuleSamples(const StopRule& rule, size_t holdout) {
  return rule.kind == StopRule::Kind::kUnseen ? holdout : 0;
}

// Checks a rule's inputs: for kUnseen a held-out set with at least kUnseenMinSamples
// samples (and a forget set as large); for kForgetAccuracy a target in [0, 1]. A held-out
// set given to a rule that does not use it is an error too.
Status ValidateStopRule(const StopRule& rule, size_t forget, size_t holdout);

// The rule's reading on the model as it is now. `forget_probs` are the model's softmax
// rows on `forget` ([forget.size(), classes], eval mode: unlearn::PredictProbs), the one
// pass over the forget set an epoch makes, which its report reads too; kUnseen predicts
// `holdout` as well. Accuracies come from exact counts of argmax == label.
StopCheck CheckStopRule(const StopRule& rule, nn::Model& model, const train::Dataset& forget,
                        const Tensor& forget_probs, const train::Dataset& holdout);

}  // namespace qf::unlearn
