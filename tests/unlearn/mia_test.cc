// MIA-efficacy: the three feature kinds against their formulas written out directly, input
// validation, and the attack on hand-made confidence sets where the forget samples look
// like the test set (efficacy near 1) or like the retain set (near 0).
#include "unlearn/mia.h"

#include <cmath>
#include <vector>

#include "core/random.h"
#include "io/io_test_util.h"
#include "test_util.h"

namespace qf::unlearn {
namespace {

// n softmax rows of `classes` from random logits scaled by `temperature`; labels in `labels`.
std::vector<float> SoftmaxRows(Rng& rng, size_t n, size_t classes, float temperature,
                               std::vector<uint8_t>* labels) {
  std::vector<float> p(n * classes);
  labels->resize(n);
  for (size_t i = 0; i < n; i++) {
    (*labels)[i] = uint8_t(rng.Below(uint32_t(classes)));
    double sum = 0;
    std::vector<double> e(classes);
    for (size_t j = 0; j < classes; j++) sum += e[j] = std::exp(temperature * rng.Normal());
    for (size_t j = 0; j < classes; j++) p[i * classes + j] = float(e[j] / sum);
  }
  return p;
}

TEST_CASE("mia features match their formulas", "[unlearn][mia]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  Rng rng(seed);
  const size_t n = 50, classes = 10;
  std::vector<uint8_t> y;
  std::vector<float> p = SoftmaxRows(rng, n, classes, 3.0f, &y);
  // Edge rows: a one-hot on the true class, a one-hot elsewhere, a uniform row.
  for (size_t j = 0; j < classes; j++) {
    p[0 * classes + j] = j == y[0] ? 1.0f : 0.0f;
    p[1 * classes + j] = j == (y[1] + 1u) % classes ? 1.0f : 0.0f;
    p[2 * classes + j] = 0.1f;
  }
  auto conf = ComputeMiaFeatures(p.data(), y.data(), n, classes, MiaFeature::kConfidence);
  auto entr = ComputeMiaFeatures(p.data(), y.data(), n, classes, MiaFeature::kEntropy);
  auto mentr = ComputeMiaFeatures(p.data(), y.data(), n, classes, MiaFeature::kModifiedEntropy);
  REQUIRE(conf.ok());
  REQUIRE(entr.ok());
  REQUIRE(mentr.ok());
  REQUIRE(conf.value().size() == n);
  REQUIRE(entr.value().size() == n);
  REQUIRE(mentr.value().size() == n);
  const double log_tiny = std::log(1e-30);
  for (size_t i = 0; i < n; i++) {
    INFO("sample " << i);
    const float* q = p.data() + i * classes;
    double h = 0, m = 0;
    for (size_t j = 0; j < classes; j++) {
      if (q[j] > 0) h += -q[j] * std::log(double(q[j]));
      if (j == y[i]) {
        m += -(1 - double(q[j])) * (q[j] > 0 ? std::log(double(q[j])) : log_tiny);
      } else {
        m += -double(q[j]) * (q[j] < 1 ? std::log(1 - double(q[j])) : log_tiny);
      }
    }
    CHECK(conf.value()[i] == q[y[i]]);
    CHECK(entr.value()[i] == Approx(h).margin(1e-6));
    CHECK(mentr.value()[i] == Approx(m).margin(1e-6).epsilon(1e-6));
  }
  CHECK(entr.value()[0] == 0.0f);
  CHECK(mentr.value()[0] == 0.0f);
  CHECK(entr.value()[1] == 0.0f);
  CHECK(mentr.value()[1] == Approx(-2 * log_tiny));  // -log(p_y = 0) - 1 * log(1 - 1)
  CHECK(entr.value()[2] == Approx(std::log(10.0)));
  CHECK(mentr.value()[2] == Approx(-0.9 * std::log(0.1) - 9 * 0.1 * std::log(0.9)));
  CHECK(MiaFeatureDims(MiaFeature::kModifiedEntropy) == 1);
  CHECK(std::string(MiaFeatureName(MiaFeature::kEntropy)) == "entropy");
  // No samples: nothing to compute, not an error.
  auto none = ComputeMiaFeatures(nullptr, nullptr, 0, classes, MiaFeature::kConfidence);
  REQUIRE(none.ok());
  CHECK(none.value().empty());
}

TEST_CASE("mia features reject bad probabilities and labels", "[unlearn][mia]") {
  std::vector<float> p = {0.25f, 0.75f, 0.5f, 0.5f};
  std::vector<uint8_t> y = {0, 1};
  const auto kind = MiaFeature::kConfidence;
  QF_REQUIRE_ERROR(ComputeMiaFeatures(p.data(), y.data(), 2, 0, kind), StatusCode::kInvalidArgument,
                   "classes");
  y[1] = 2;
  QF_REQUIRE_ERROR(ComputeMiaFeatures(p.data(), y.data(), 2, 2, kind), StatusCode::kInvalidArgument,
                   "label 2 of sample 1");
  y[1] = 1;
  p[3] = NAN;
  QF_REQUIRE_ERROR(ComputeMiaFeatures(p.data(), y.data(), 2, 2, kind), StatusCode::kInvalidArgument,
                   "sample 1, class 1) is not in [0, 1]");
  p[3] = 1.5f;
  QF_REQUIRE_ERROR(ComputeMiaFeatures(p.data(), y.data(), 2, 2, kind), StatusCode::kInvalidArgument,
                   "not in [0, 1]");
  p[3] = -0.1f;
  QF_REQUIRE_ERROR(ComputeMiaFeatures(p.data(), y.data(), 2, 2, kind), StatusCode::kInvalidArgument,
                   "not in [0, 1]");
  QF_REQUIRE_ERROR(ComputeMiaFeatures(nullptr, y.data(), 2, 2, kind), StatusCode::kInvalidArgument,
                   "null");
  QF_REQUIRE_ERROR(ComputeMiaFeatures(p.data(), y.data(), 2, 2, MiaFeature(7)),
                   StatusCode::kInvalidArgument, "unknown feature kind");
}

// Confidences: members near 1 (Beta(k, 1) with large k), non-members spread lower.
std::vector<float> Beta1(Rng& rng, size_t n, double k) {
  std::vector<float> v(n);
  for (float& x : v) x = float(std::pow(double(rng.Uniform()), 1.0 / k));
  return v;
}

TEST_CASE("mia efficacy: forget like test -> near 1, forget like retain -> near 0",
          "[unlearn][mia]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  Rng rng(seed);
  SECTION("separable") {
    MiaInputs in;
    for (float& x : in.retain = std::vector<float>(1000)) x = 1.0f - 0.05f * rng.Uniform();
    for (float& x : in.test = std::vector<float>(300)) x = 0.8f * rng.Uniform();
    in.seed = 11;
    for (float& x : in.forget = std::vector<float>(200)) x = 0.8f * rng.Uniform();
    auto forgotten = RunMiaAttack(in);
    REQUIRE(forgotten.ok());
    CHECK(forgotten.value().efficacy == 1.0);
    CHECK(forgotten.value().members == 300);  // subsampled to the test-set size
    CHECK(forgotten.value().non_members == 300);
    CHECK(forgotten.value().train_accuracy == 1.0);
    CHECK(forgotten.value().converged);
    for (float& x : in.forget) x = 1.0f - 0.05f * rng.Uniform();
    auto remembered = MiaEfficacy(in);
    REQUIRE(remembered.ok());
    CHECK(remembered.value() == 0.0);
  }
  SECTION("overlapping, as real confidences are") {
    MiaInputs in;
    in.retain = Beta1(rng, 3000, 20);
    in.test = Beta1(rng, 600, 2);
    in.forget = Beta1(rng, 500, 2);  // unlearned well: looks unseen
    auto forgotten = RunMiaAttack(in);
    REQUIRE(forgotten.ok());
    INFO("train accuracy " << forgotten.value().train_accuracy << ", support vectors "
                           << forgotten.value().support_vectors);
    CHECK(forgotten.value().efficacy > 0.6);
    CHECK(forgotten.value().efficacy <= 1.0);
    CHECK(forgotten.value().train_accuracy > 0.7);
    in.forget = Beta1(rng, 500, 20);  // not unlearned: looks like training data
    auto remembered = MiaEfficacy(in);
    REQUIRE(remembered.ok());
    CHECK(remembered.value() < 0.2);
    CHECK(remembered.value() >= 0.0);
  }
}

TEST_CASE("mia subsamples the retain set by seed and checks its inputs", "[unlearn][mia]") {
  Rng rng(3);
  MiaInputs in;
  in.retain = Beta1(rng, 900, 10);
  in.test = Beta1(rng, 200, 2);
  in.forget = Beta1(rng, 300, 4);
  in.seed = 5;
  auto a = RunMiaAttack(in);
  auto b = RunMiaAttack(in);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a.value().members == 200);
  CHECK(a.value().efficacy == b.value().efficacy);
  CHECK(a.value().support_vectors == b.value().support_vectors);
  // A different subset gives a (slightly) different attack, typically.
  bool any_different = false;
  for (uint64_t s = 6; s < 10 && !any_different; s++) {
    in.seed = s;
    auto c = RunMiaAttack(in);
    REQUIRE(c.ok());
    any_different = c.value().support_vectors != a.value().support_vectors ||
                    c.value().efficacy != a.value().efficacy;
  }
  CHECK(any_different);

  // Fewer retain than test samples: all of them are members.
  in.retain.resize(150);
  auto small = RunMiaAttack(in);
  REQUIRE(small.ok());
  CHECK(small.value().members == 150);
  CHECK(small.value().non_members == 200);

  // End to end from softmax rows, with the entropy feature.
  std::vector<uint8_t> yr, yt, yf;
  const std::vector<float> pr = SoftmaxRows(rng, 400, 10, 6.0f, &yr);
  const std::vector<float> pt = SoftmaxRows(rng, 200, 10, 1.0f, &yt);
  const std::vector<float> pf = SoftmaxRows(rng, 100, 10, 1.0f, &yf);
  MiaInputs e;
  e.retain = ComputeMiaFeatures(pr.data(), yr.data(), 400, 10, MiaFeature::kEntropy).value();
  e.test = ComputeMiaFeatures(pt.data(), yt.data(), 200, 10, MiaFeature::kEntropy).value();
  e.forget = ComputeMiaFeatures(pf.data(), yf.data(), 100, 10, MiaFeature::kEntropy).value();
  auto entropy_mia = MiaEfficacy(e);
  REQUIRE(entropy_mia.ok());
  CHECK(entropy_mia.value() > 0.8);  // sharp (low-entropy) rows are members; forget is flat

  MiaInputs bad = in;
  bad.test.clear();
  QF_REQUIRE_ERROR(MiaEfficacy(bad), StatusCode::kInvalidArgument, "the test set is empty");
  bad = in;
  bad.forget.clear();
  QF_REQUIRE_ERROR(MiaEfficacy(bad), StatusCode::kInvalidArgument, "the forget set is empty");
  bad = in;
  bad.retain.clear();
  QF_REQUIRE_ERROR(MiaEfficacy(bad), StatusCode::kInvalidArgument, "the retain set is empty");
  bad = in;
  bad.forget[7] = NAN;
  QF_REQUIRE_ERROR(MiaEfficacy(bad), StatusCode::kInvalidArgument,
                   "feature 0 of forget sample 7 is not finite");
  bad = in;
  bad.num_features = 0;
  QF_REQUIRE_ERROR(MiaEfficacy(bad), StatusCode::kInvalidArgument, "num_features");
  bad = in;
  bad.num_features = 7;  // 150 retain values are not a multiple of 7
  QF_REQUIRE_ERROR(MiaEfficacy(bad), StatusCode::kInvalidArgument, "not a multiple");
  bad = in;
  bad.svm.c = -1;
  QF_REQUIRE_ERROR(MiaEfficacy(bad), StatusCode::kInvalidArgument, "C must be positive");
}

}  // namespace
}  // namespace qf::unlearn
