// Forgetting until it looks forgotten: a stopping rule checked after every epoch of a
// forget, in place of a fixed number of epochs that users cannot guess.
//
// Sample requests ("unseen"): the forget samples should look like samples the model never
// trained on. The caller gives such samples (a held-out set from the same distribution);
// after each epoch the forget set's true-class confidences p_y are compared with the
// held-out set's by a two-sample Kolmogorov-Smirnov test, and the forget stops as soon as
// the test no longer tells them apart at the 5 % level (p >= kUnseenAlpha).
//
// Why this test, and not the membership attack's accuracy between the two sets: p_y is
// the feature the attack reads (MiaFeature::kConfidence), and the KS statistic compares
// its whole distribution without training anything. Its p-value is calibrated for any
// sizes, so "indistinguishable" means the same at 50 samples as at 5,000, while an
// attack trained on a few hundred 1-D points has an accuracy whose noise (±0.07 at 100
// per side) is as large as the differences a stopping rule must see, and which depends on
// its own seed and solver. The tolerance is the test's level: stopping at p >= 0.05 means
// that the remaining difference is one a test at 5 % cannot tell from chance at these
// sizes; with small sets that is a coarse bar, which is why both sets need at least
// kUnseenMinSamples samples.
//
// Class requests ("forgetAccuracy"): there are no held-out samples of a class forgotten
// whole; the forget stops once the forget set's accuracy is at most the target.
#pragma once

#include <cstddef>
#include <vector>

#include "core/status.h"
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
  // distributions of p_y, in [0, 1]), its p-value, and the mean p_y of each set.
  double ks = 0, p_value = 1;
  double forget_confidence = 0, holdout_confidence = 0;
};

// The two-sample KS statistic D = sup_x |F_a(x) - F_b(x)| of two samples (non-empty).
double KsStatistic(std::vector<float> a, std::vector<float> b);
// The asymptotic p-value of D for samples of sizes n and m (Stephens' correction of the
// effective size), in [0, 1].
double KsPValue(double d, size_t n, size_t m);

// The true-class confidence p_y of the model (eval mode) on each sample of `data`.
std::vector<float> TrueClassConfidences(nn::Model& model, const train::Dataset& data);

// Checks a rule's inputs: for kUnseen a held-out set with at least kUnseenMinSamples
// samples (and a forget set as large); for kForgetAccuracy a target in [0, 1]. A held-out
// set given to a rule that does not use it is an error too.
Status ValidateStopRule(const StopRule& rule, size_t forget, size_t holdout);

// The rule's reading on the model as it is now; `forget_accuracy` is the forget set's,
// already measured.
StopCheck CheckStopRule(const StopRule& rule, nn::Model& model, const train::Dataset& forget,
                        const train::Dataset& holdout, double forget_accuracy);

}  // namespace qf::unlearn
