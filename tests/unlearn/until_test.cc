// The stopping rules' statistics: the two-sample KS statistic against values worked out by
// hand, its p-value against tabulated quantiles of Kolmogorov's distribution, the test's
// level checked by simulation, and the rules' validation.
#include "unlearn/until.h"

#include <cmath>
#include <vector>

#include "core/random.h"
#include "test_util.h"

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

}  // namespace
}  // namespace qf::unlearn
