// Stopping rules for forget (until.h).
#include "unlearn/until.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "train/trainer.h"
#include "unlearn/metrics.h"

namespace qf::unlearn {
namespace {

// Q(lambda) = P(K > lambda) for Kolmogorov's distribution K:
//   Q = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2),
// which converges in a few terms for lambda >= 1.18; below, its dual form
//   1 - Q = sqrt(2 pi) / lambda * sum_{j>=1} exp(-(2j-1)^2 pi^2 / (8 lambda^2))
// does (four terms of either leave an error under 1e-10).
double KolmogorovQ(double lambda) {
  constexpr double kPi = 3.14159265358979323846;
  if (lambda <= 0) return 1;
  if (lambda < 1.18) {
    const double y = std::exp(-kPi * kPi / (8 * lambda * lambda));
    const double y8 = std::pow(y, 8);
    const double sum = y * (1 + y8 * (1 + y8 * y8 * (1 + y8 * y8 * y8)));  // y + y^9 + y^25 + y^49
    return std::clamp(1 - std::sqrt(2 * kPi) / lambda * sum, 0.0, 1.0);
  }
  const double x = std::exp(-2 * lambda * lambda);
  return std::clamp(2 * (x - std::pow(x, 4) + std::pow(x, 9) - std::pow(x, 16)), 0.0, 1.0);
}

double Mean(const std::vector<float>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

// True-class confidences p_y of softmax rows `probs` of `data`, and how many of its samples
// they get right.
struct Reading {
  std::vector<float> confidence;
  size_t correct = 0;
};
Reading Read(const Tensor& probs, const train::Dataset& data) {
  const size_t c = probs.shape()[1];
  Reading r;
  r.confidence.resize(data.size());
  for (size_t i = 0; i < data.size(); i++) r.confidence[i] = probs[i * c + data.y[i]];
  r.correct = train::CountCorrect(probs, data.y.data());
  return r;
}

}  // namespace

double KsStatistic(std::vector<float> a, std::vector<float> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const double n = double(a.size()), m = double(b.size());
  double d = 0;
  size_t i = 0, j = 0;
  // At each distinct value, both cumulative distributions step past every sample equal
  // to it (ties step together), then their gap is read.
  while (i < a.size() && j < b.size()) {
    const float v = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= v) i++;
    while (j < b.size() && b[j] <= v) j++;
    d = std::max(d, std::fabs(double(i) / n - double(j) / m));
  }
  return d;
}

double KsPValue(double d, size_t n, size_t m) {
  if (n == 0 || m == 0) return 1;
  const double ne = double(n) * double(m) / double(n + m), root = std::sqrt(ne);
  return KolmogorovQ((root + 0.12 + 0.11 / root) * d);
}

double TwoProportionPValue(size_t k1, size_t n1, size_t k2, size_t n2) {
  if (n1 == 0 || n2 == 0) return 1;
  const double pooled = double(k1 + k2) / double(n1 + n2);
  const double se = std::sqrt(pooled * (1 - pooled) * (1.0 / double(n1) + 1.0 / double(n2)));
  if (se == 0) return 1;
  const double z = (double(k1) / double(n1) - double(k2) / double(n2)) / se;
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

Status ValidateStopRule(const StopRule& rule, size_t forget, size_t holdout) {
  switch (rule.kind) {
    case StopRule::Kind::kEpochs:
      if (holdout > 0) {
        return InvalidArgument(
            "options.holdout is for options.until 'unseen' (samples the model never trained on, "
            "which the forget set should come to look like)");
      }
      return OkStatus();
    case StopRule::Kind::kForgetAccuracy:
      if (!(rule.forget_accuracy >= 0 && rule.forget_accuracy <= 1)) {
        return InvalidArgument("options.until.forgetAccuracy must be a fraction in [0, 1], got " +
                               std::to_string(rule.forget_accuracy));
      }
      if (holdout > 0) {
        return InvalidArgument(
            "options.holdout is for options.until 'unseen'; until { forgetAccuracy } needs none");
      }
      return OkStatus();
    case StopRule::Kind::kUnseen:
      if (holdout < kUnseenMinSamples || forget < kUnseenMinSamples) {
        return InvalidArgument(
            "options.until 'unseen' compares the forget set with held-out samples "
            "(options.holdout: samples of its kind the model never trained on) and needs at least " +
            std::to_string(kUnseenMinSamples) + " of each; got " + std::to_string(holdout) +
            " held-out and " + std::to_string(forget) +
            " forget sample(s) (for fewer, run a fixed number of epochs)");
      }
      return OkStatus();
  }
  return InvalidArgument("unknown stopping rule");
}

StopCheck CheckStopRule(const StopRule& rule, nn::Model& model, const train::Dataset& forget,
                        const Tensor& forget_probs, const train::Dataset& holdout) {
  StopCheck check;
  check.kind = rule.kind;
  if (rule.kind == StopRule::Kind::kEpochs) return check;
  const Reading f = Read(forget_probs, forget);
  if (rule.kind == StopRule::Kind::kForgetAccuracy) {
    check.met = double(f.correct) / double(forget.size()) <= rule.forget_accuracy;
  } else if (rule.kind == StopRule::Kind::kUnseen) {
    const Reading h = Read(PredictProbs(model, holdout), holdout);
    check.forget_confidence = Mean(f.confidence);
    check.holdout_confidence = Mean(h.confidence);
    check.ks = KsStatistic(f.confidence, h.confidence);
    check.ks_p_value = KsPValue(check.ks, forget.size(), holdout.size());
    check.holdout_accuracy = double(h.correct) / double(holdout.size());
    check.accuracy_p_value =
        TwoProportionPValue(f.correct, forget.size(), h.correct, holdout.size());
    check.met = check.ks_p_value >= kUnseenAlpha && check.accuracy_p_value >= kUnseenAlpha;
  }
  return check;
}

}  // namespace qf::unlearn
