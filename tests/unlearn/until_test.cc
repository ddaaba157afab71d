// The stopping rules' statistics: the two-sample KS statistic against values worked out by
// hand, its p-value against tabulated quantiles of Kolmogorov's distribution, the test's
// level checked by simulation, the rules' validation, and the rules' readings from the
// forget-set probabilities they are given.
#include "unlearn/until.h"

#include <cmath>
#include <vector>

#include "core/random.h"
#include "test_util.h"
#include "train/trainer.h"
#include "unlearn/metrics.h"
#include "unlearn/unlearn_test_util.h"

namespace qf::unlearn {
namespace {

TEST_CASE("KS statistic: the largest gap between two empirical distributions",
          "[unlearn][until]") {
  CHECK(KsStatistic({1, 2, 3}, {4, 5, 6}) == 1.0);  // apart
  CHECK(KsStatistic({4, 5, 6}, {1, 2, 3}) == 1.0);
  CHECK(KsStatistic({1, 2, 3}, {3, 1, 2}) == 0.0);  // the same values, in any order
  // F_a steps by 1/4 at 1, 2, 3, 4; F_b by 1/2 at 2.5, 3.5: after 2, F_a = 1/2, F_b = 0.
  CHECK(KsStatistic({4, 1, 3, 2}, {2.5f, 3.5f}) == Approx(0.5));
  // Ties step together: after 1, F_a = 2/3 and F_b = 1/3; after 2 both are 1.
  CHECK(KsStatistic({1, 1, 2}, {1, 2, 2}) == Approx(1.0 / 3));
  // One sample inside the other's range.
  CHECK(KsStatistic({0.5f}, {0, 1}) == Approx(0.5));
}

TEST_CASE("KS p-value: Kolmogorov's distribution at its tabulated quantiles",
          "[unlearn][until]") {
  // With n = m = 200, lambda = (sqrt(100) + 0.12 + 0.11 / sqrt(100)) * D.
  const double scale = 10 + 0.12 + 0.011;
  const auto p = [&](double lambda) { return KsPValue(lambda / scale, 200, 200); };
  CHECK(p(1.3581) == Approx(0.05).margin(2e-4));  // the 5 % critical value
  CHECK(p(1.2238) == Approx(0.10).margin(2e-4));
  CHECK(p(1.6276) == Approx(0.01).margin(1e-4));
  CHECK(p(1.0) == Approx(0.2700).margin(2e-4));
  CHECK(p(0.5) == Approx(0.9639).margin(2e-4));  // the dual series' side of 1.18
  // The two series meet at 1.18; decreasing, from 1 at D = 0.
  CHECK(p(1.18 - 1e-9) == Approx(p(1.18 + 1e-9)).margin(1e-8));
  CHECK(KsPValue(0, 200, 200) == 1.0);
  double last = 1.0;
  for (double lambda = 0.05; lambda < 3; lambda += 0.05) {
    CHECK(p(lambda) <= last);
    last = p(lambda);
  }
  CHECK(last < 1e-6);
}

TEST_CASE("KS test: about 5 % of same-distribution pairs rejected at the 5 % level",
          "[unlearn][until]") {
  Rng rng(test::TestSeed());
  const int trials = 400;
  int rejected = 0;
  for (int t = 0; t < trials; t++) {
    std::vector<float> a(100), b(150);
    for (float& v : a) v = rng.Uniform();
    for (float& v : b) v = rng.Uniform();
    rejected += KsPValue(KsStatistic(a, b), a.size(), b.size()) < kUnseenAlpha;
  }
  // Binomial(400, 0.05): mean 20, sd 4.4; the asymptotic p-value is slightly conservative.
  CHECK(rejected >= 5);
  CHECK(rejected <= 36);
  // And a shift of about one standard deviation of U(0, 1) is found nearly always.
  int found = 0;
  for (int t = 0; t < 50; t++) {
    std::vector<float> a(100), b(150);
    for (float& v : a) v = rng.Uniform();
    for (float& v : b) v = rng.Uniform() + 0.3f;
    found += KsPValue(KsStatistic(a, b), a.size(), b.size()) < kUnseenAlpha;
  }
  CHECK(found >= 45);
}

TEST_CASE("two-proportion z-test: worked values and edges", "[unlearn][until]") {
  // 97 of 100 against 89 of 100: pooled 0.93, SE sqrt(0.93 * 0.07 * 0.02) = 0.036083,
  // z = 0.08 / SE = 2.2171, two-sided p = erfc(z / sqrt 2) = 0.02662.
  CHECK(TwoProportionPValue(97, 100, 89, 100) == Approx(0.02662).margin(1e-4));
  CHECK(TwoProportionPValue(89, 100, 97, 100) == TwoProportionPValue(97, 100, 89, 100));
  CHECK(TwoProportionPValue(50, 100, 500, 1000) == Approx(1.0));  // the same proportion
  CHECK(TwoProportionPValue(10, 10, 20, 20) == 1.0);               // nothing varies
  CHECK(TwoProportionPValue(0, 10, 0, 20) == 1.0);
  CHECK(TwoProportionPValue(3, 0, 5, 10) == 1.0);  // an empty side
  // More samples, the same gap: a smaller p.
  CHECK(TwoProportionPValue(970, 1000, 890, 1000) < 1e-9);
}

TEST_CASE("stopping rules: what each needs", "[unlearn][until]") {
  StopRule epochs;
  CHECK(ValidateStopRule(epochs, 5, 0).ok());
  CHECK(ValidateStopRule(epochs, 5, 30).code() == StatusCode::kInvalidArgument);
  StopRule unseen{StopRule::Kind::kUnseen};
  CHECK(ValidateStopRule(unseen, kUnseenMinSamples, kUnseenMinSamples).ok());
  CHECK(ValidateStopRule(unseen, kUnseenMinSamples, kUnseenMinSamples - 1).code() ==
        StatusCode::kInvalidArgument);
  CHECK(ValidateStopRule(unseen, kUnseenMinSamples - 1, 100).code() ==
        StatusCode::kInvalidArgument);
  for (double target : {0.0, 0.3, 1.0}) {
    CHECK(ValidateStopRule({StopRule::Kind::kForgetAccuracy, target}, 5, 0).ok());
  }
  for (double target : {-0.1, 1.5, std::nan("")}) {
    INFO(target);
    CHECK(ValidateStopRule({StopRule::Kind::kForgetAccuracy, target}, 5, 0).code() ==
          StatusCode::kInvalidArgument);
  }
  CHECK(ValidateStopRule({StopRule::Kind::kForgetAccuracy, 0.2}, 5, 30).code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("stopping rules: read the forget probabilities given, with exact counts",
          "[unlearn][until]") {
  const test_util::Fixture f = test_util::TrainedClassForget();
  std::vector<uint32_t> ids(40);
  for (uint32_t i = 0; i < ids.size(); i++) ids[i] = i;
  const train::Dataset holdout = train::Subset(f.retain, ids);
  // Forget rows made up, not the model's: the first 7 right (p_y 0.9), the rest wrong
  // (p_y 0.05, another class 0.9). A rule that predicted the forget set itself would read
  // the model's (this model gets most of class 0 right).
  const size_t n = f.forget.size(), c = f.model->classes(), right = 7;
  REQUIRE(n > 2 * right);
  Tensor probs(Shape{n, c});
  double confidence_sum = 0;
  for (size_t i = 0; i < n; i++) {
    const size_t y = f.forget.y[i];
    for (size_t j = 0; j < c; j++) probs[i * c + j] = 0.05f / float(c - 2);
    probs[i * c + y] = i < right ? 0.9f : 0.05f;
    if (i >= right) probs[i * c + (y + 1) % c] = 0.9f;
    confidence_sum += probs[i * c + y];
  }
  const StopCheck unseen =
      CheckStopRule({StopRule::Kind::kUnseen}, *f.model, f.forget, probs, holdout);
  const size_t holdout_right =
      train::CountCorrect(PredictProbs(*f.model, holdout), holdout.y.data());
  CHECK(unseen.kind == StopRule::Kind::kUnseen);
  CHECK(unseen.accuracy_p_value == TwoProportionPValue(right, n, holdout_right, holdout.size()));
  CHECK(unseen.holdout_accuracy == double(holdout_right) / double(holdout.size()));
  CHECK(unseen.forget_confidence == Approx(confidence_sum / double(n)));
  CHECK_FALSE(unseen.met);  // 7 of n right against most of the held-out set
  // forgetAccuracy: met at exactly right / n, not below it.
  const train::Dataset none;
  CHECK(CheckStopRule({StopRule::Kind::kForgetAccuracy, double(right) / double(n)}, *f.model,
                      f.forget, probs, none)
            .met);
  CHECK_FALSE(CheckStopRule({StopRule::Kind::kForgetAccuracy, double(right - 1) / double(n)},
                            *f.model, f.forget, probs, none)
                  .met);
}

}  // namespace
}  // namespace qf::unlearn
