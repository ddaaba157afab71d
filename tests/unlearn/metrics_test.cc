// Unlearning metrics: accuracies agree with the evaluation loop, MIA is wired to the
// attack, JS divergence and AG against their formulas, bad inputs refused.
#include "unlearn/metrics.h"

#include <catch.hpp>
#include <cmath>

#include "io/io_test_util.h"
#include "nn/model.h"
#include "train/synthetic.h"
#include "train/trainer.h"

namespace qf::unlearn {
namespace {

TEST_CASE("metrics on a trained model agree with evaluation", "[unlearn]") {
  nn::ModelSpec spec;
  spec.arch = "mlp";
  spec.input = Shape{12, 12, 1};
  spec.classes = 9;
  auto model = nn::Model::Create(spec);
  REQUIRE(model.ok());
  const train::Dataset retain = test::SyntheticImages(300, 12, 9, 1);
  const train::Dataset forget = test::SyntheticImages(40, 12, 9, 2);
  const train::Dataset test_set = test::SyntheticImages(200, 12, 9, 3);
  train::FitOptions o;
  o.epochs = 2;
  o.batch_size = 32;
  o.lr = 0.05f;
  REQUIRE(train::Fit(*model.value(), retain, o).ok());

  MetricsInputs in;
  in.forget = &forget;
  in.retain = &retain;
  in.test = &test_set;
  auto m = ComputeMetrics(*model.value(), in);
  REQUIRE(m.ok());
  CHECK(m.value().fa.value ==
        Approx(train::Evaluate(*model.value(), forget).accuracy).margin(1e-5));
  CHECK(m.value().ra.value ==
        Approx(train::Evaluate(*model.value(), retain).accuracy).margin(1e-5));
  CHECK(m.value().ta.value ==
        Approx(train::Evaluate(*model.value(), test_set).accuracy).margin(1e-5));
  CHECK(m.value().fa.n == 40);
  CHECK(m.value().ra.n == 300);
  CHECK(m.value().ta.n == 200);
  // Each interval holds its value.
  for (const Proportion& p : {m.value().fa, m.value().ra, m.value().ta}) {
    CHECK(p.low <= p.value);
    CHECK(p.value <= p.high);
  }
  CHECK(m.value().ua.value == Approx(1.0 - m.value().fa.value));
  CHECK(m.value().ua.low == Approx(1.0 - m.value().fa.high));
  REQUIRE(m.value().mia.available);
  CHECK(m.value().mia.efficacy.n == 40);
  CHECK(m.value().mia.efficacy.value >= 0.0);
  CHECK(m.value().mia.efficacy.value <= 1.0);
  CHECK(m.value().mia.members == 200);  // balanced: the test set's size
  CHECK(m.value().mia.non_members == 200);

  // The forget set was never trained on, like the test set: the attack calls most of it
  // non-member only if it can tell members apart at all; either way the same call with
  // the same seed gives the same number.
  auto again = ComputeMetrics(*model.value(), in);
  REQUIRE(again.ok());
  CHECK(again.value().mia.efficacy.value == m.value().mia.efficacy.value);

  // A test set too small for the attack: no MIA and a note why; the accuracies stand.
  std::vector<uint32_t> first(kMiaMinSamplesPerSide - 1);
  for (uint32_t i = 0; i < first.size(); i++) first[i] = i;
  const train::Dataset small_test = train::Subset(test_set, first);
  in.test = &small_test;
  auto few = ComputeMetrics(*model.value(), in);
  REQUIRE(few.ok());
  CHECK_FALSE(few.value().mia.available);
  CHECK(few.value().mia.note.find("not enough samples") != std::string::npos);
  CHECK(few.value().ta.n == first.size());
  CHECK(few.value().fa.value == m.value().fa.value);
  in.test = &test_set;

  // Stepped one unit at a time: the same numbers, and the counters say how far it got.
  auto session = MetricsSession::Start(*model.value(), in);
  REQUIRE(session.ok());
  MetricsSession& s = *session.value();
  CHECK(s.batches_total() >= 3);
  size_t steps = 0, last_batches = 0;
  while (!s.done()) {
    REQUIRE(s.Step(1).ok());
    CHECK(s.batches_done() >= last_batches);
    CHECK(s.batches_done() <= last_batches + 1);
    last_batches = s.batches_done();
    steps++;
  }
  CHECK(steps > s.batches_total());  // the attack took units of its own
  CHECK(s.result().fa.value == m.value().fa.value);
  CHECK(s.result().ta.value == m.value().ta.value);
  CHECK(s.result().mia.efficacy.value == m.value().mia.efficacy.value);
  CHECK(s.result().mia.attack_accuracy.value == m.value().mia.attack_accuracy.value);
  CHECK(s.forget_probs().shape()[0] == forget.size());

  in.test = nullptr;
  CHECK(!ComputeMetrics(*model.value(), in).ok());
  train::Dataset bad = forget;
  bad.y[0] = 9;
  in.test = &test_set;
  in.forget = &bad;
  auto refused = ComputeMetrics(*model.value(), in);
  REQUIRE(!refused.ok());
  CHECK(refused.status().message().find("forget.y[0]") != std::string::npos);
}

TEST_CASE("JS divergence and average gap follow their formulas", "[unlearn]") {
  Tensor p(Shape{2, 2}), q(Shape{2, 2});
  p[0] = 1.0f, p[1] = 0.0f, q[0] = 0.0f, q[1] = 1.0f;  // disjoint: ln 2
  p[2] = 0.5f, p[3] = 0.5f, q[2] = 0.5f, q[3] = 0.5f;  // equal: 0
  CHECK(MeanJsDivergence(p, q) == Approx(std::log(2.0) / 2));
  CHECK(MeanJsDivergence(p, p) == Approx(0.0).margin(1e-12));

  Metrics a, b;
  a.fa.value = 0.90, a.ra.value = 0.95, a.ta.value = 0.88, a.mia.efficacy.value = 0.10;
  b.fa.value = 0.80, b.ra.value = 0.97, b.ta.value = 0.87, b.mia.efficacy.value = 0.30;
  // Without an attack on either side, MIA is left out of the mean.
  CHECK(AverageGap(a, b) == Approx((0.10 + 0.02 + 0.01) / 3.0));
  a.mia.available = true;
  CHECK(AverageGap(a, b) == Approx((0.10 + 0.02 + 0.01) / 3.0));
  b.mia.available = true;
  CHECK(AverageGap(a, b) == Approx((0.10 + 0.02 + 0.01 + 0.20) / 4.0));
}

TEST_CASE("the deployment check re-estimates BatchNorm statistics on the retain set", "[unlearn]") {
  nn::ModelSpec spec;
  spec.arch = "resnet8";
  spec.input = Shape{12, 12, 1};
  spec.classes = 9;
  spec.weight_bits = 4;
  auto model = nn::Model::Create(spec);
  REQUIRE(model.ok());
  nn::Model& m = *model.value();
  const train::Dataset retain = test::SyntheticImages(600, 12, 9, 1);
  const train::Dataset forget = test::SyntheticImages(90, 12, 9, 2);
  train::FitOptions o;
  o.epochs = 3;
  o.batch_size = 32;
  o.lr = 0.05f;
  REQUIRE(train::Fit(m, retain, o).ok());
  const double fa = train::Evaluate(m, forget).accuracy;
  REQUIRE(fa > 0.6);
  // Running statistics that do not belong to the weights, as a learned grid's do once it
  // is replaced: every mean shifted, every variance shrunk.
  struct Skew final : nn::StateVisitor {
    void Float(const std::string& name, Tensor* t, nn::FloatRule) override {
      const auto ends = [&](const std::string& suffix) {
        return name.size() > suffix.size() &&
               name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
      };
      if (ends(".running_mean")) {
        for (float& v : t->values()) v += 3.0f;
      }
      if (ends(".running_var")) {
        for (float& v : t->values()) v *= 0.01f;
      }
    }
    void Flag(const std::string&, bool*) override {}
    void Quantized(const nn::QuantizedWeightState&) override {}
  } skew;
  m.CollectState(&skew);
  const double skewed = train::Evaluate(m, forget).accuracy;
  INFO("FA " << fa << ", with skewed statistics " << skewed);
  REQUIRE(skewed < fa - 0.3);
  auto requantized = RequantizedForgetAccuracy(m, forget, retain);
  REQUIRE(requantized.ok());
  INFO("requantized " << requantized.value().value);
  CHECK(requantized.value().value > fa - 0.1);
  CHECK(requantized.value().n == forget.size());
  // The model itself was only read.
  CHECK(train::Evaluate(m, forget).accuracy == skewed);
  // Bad calibration sets are refused.
  train::Dataset wrong = retain;
  wrong.y[0] = 9;
  QF_REQUIRE_ERROR(RequantizedForgetAccuracy(m, forget, wrong), StatusCode::kInvalidArgument,
                   "calibration");
}

}  // namespace
}  // namespace qf::unlearn
