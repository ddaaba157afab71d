// Tests of retrain, l1sparse, salun, bs and oeu (SPEC §4): each method's defining
// property (retrain ignores the original weights, the L1 schedule, SalUn's frozen
// weights, FGSM neighbours, the orthogonal projection) and what each does to class-wise
// forgetting. The shared every-method checks live in methods_test.cc.
#include <catch.hpp>
#include <cmath>
#include <cstring>

#include "io/model_file.h"
#include "nn/state_snapshot.h"
#include "train/loss.h"
#include "train/synthetic.h"
#include "train/trainer.h"
#include "unlearn/bs.h"
#include "unlearn/forget.h"
#include "unlearn/oeu.h"
#include "unlearn/salun.h"
#include "unlearn/unlearn_test_util.h"

namespace qf::unlearn {
namespace {

using test_util::Fixture;
using test_util::MlpSpec;
using test_util::RunToEnd;
using test_util::TrainedClassForget;

double Loss(const EpochReport& report, const std::string& name) {
  for (const auto& [n, value] : report.losses) {
    if (n == name) return value;
  }
  FAIL("no loss term " << name);
  return 0;
}

bool SameBits(const Tensor& a, const Tensor& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

double MeanEntropy(nn::Model& model, const train::Dataset& data) {
  Tensor logits;
  model.Forward(data.x.data(), data.size(), &logits, nn::Mode::kEval);
  return train::SoftmaxEntropy(logits, nullptr);
}

double MeanCrossEntropy(nn::Model& model, const uint8_t* pixels, const Label* labels, size_t n) {
  Tensor logits;
  model.Forward(pixels, n, &logits, nn::Mode::kEval);
  return train::SoftmaxCrossEntropy(logits, labels, nullptr, 1.0f, nullptr);
}

TEST_CASE("retrain does not depend on the original weights", "[unlearn]") {
  Fixture a = TrainedClassForget(1, 2);
  Fixture b = TrainedClassForget(7, 1);  // same spec (and seed), different weights
  REQUIRE(!SameBits(a.model->params()[0]->value, b.model->params()[0]->value));
  ForgetRequest request{a.forget, a.retain, "retrain", {}};
  request.options.epochs = 2;
  request.options.batch_size = 32;
  request.options.lr = 0.05f;
  std::vector<EpochReport> ra, rb;
  auto from_a = RunToEnd(*a.model, request, &ra);
  auto from_b = RunToEnd(*b.model, request, &rb);
  const auto& pa = from_a->params();
  const auto& pb = from_b->params();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); i++) {
    INFO(pa[i]->name);
    CHECK(SameBits(pa[i]->value, pb[i]->value));
  }
  Tensor la, lb;
  from_a->Forward(a.retain.x.data(), a.retain.size(), &la, nn::Mode::kEval);
  from_b->Forward(a.retain.x.data(), a.retain.size(), &lb, nn::Mode::kEval);
  CHECK(SameBits(la, lb));
  CHECK(Loss(ra.back(), "retain_ce") == Loss(rb.back(), "retain_ce"));
  // It learned D_r, and class 0 (never seen) is not predicted.
  CHECK(train::Evaluate(*from_a, a.retain).accuracy > 0.85f);
  CHECK(train::Evaluate(*from_a, a.forget).accuracy < 0.1f);
}

double WeightL1(const nn::Model& model) {
  double sum = 0;
  for (const nn::Param* p : model.params()) {
    if (p->kind != nn::Param::Kind::kWeight) continue;
    for (float w : p->value.values()) sum += std::fabs(w);
  }
  return sum;
}

TEST_CASE("l1sparse adds a linearly decaying L1 penalty to ft", "[unlearn]") {
  Fixture f = TrainedClassForget();
  ForgetRequest request{f.forget, f.retain, "l1sparse", {}};
  request.options.epochs = 3;
  request.options.batch_size = 64;
  request.options.l1_alpha = 2e-3f;
  std::vector<EpochReport> reports;
  auto sparse = RunToEnd(*f.model, request, &reports);
  REQUIRE(reports.size() == 3);
  const double l1_first = Loss(reports[0], "l1"), l1_mid = Loss(reports[1], "l1");
  CHECK(l1_first > 0);
  // alpha: 2e-3, 1e-3, 0 (and ||w||_1 barely moves in between).
  CHECK(l1_mid == Approx(l1_first / 2).epsilon(0.05));
  CHECK(Loss(reports[2], "l1") == 0.0);
  CHECK(std::isfinite(Loss(reports[2], "retain_ce")));
  // The same run without the penalty (ft draws the same batches) ends with larger weights.
  request.method = "ft";
  std::vector<EpochReport> ft_reports;
  auto tuned = RunToEnd(*f.model, request, &ft_reports);
  INFO("L1 sparse " << WeightL1(*sparse) << " ft " << WeightL1(*tuned));
  CHECK(WeightL1(*sparse) < WeightL1(*tuned));
  // alpha 0 is exactly ft.
  request.method = "l1sparse";
  request.options.l1_alpha = 0;
  auto plain = RunToEnd(*f.model, request, &reports);
  for (size_t i = 0; i < plain->params().size(); i++) {
    CHECK(SameBits(plain->params()[i]->value, tuned->params()[i]->value));
  }
}

TEST_CASE("salun's saliency mask keeps the top fraction with one global threshold", "[unlearn]") {
  nn::Param w1, w2, bias;
  w1.kind = w2.kind = nn::Param::Kind::kWeight;
  bias.kind = nn::Param::Kind::kBias;
  w1.value = Tensor(Shape{4});
  w2.value = Tensor(Shape{6});
  bias.value = Tensor(Shape{3});
  const std::vector<nn::Param*> params{&w1, &bias, &w2};
  // |g|: w1 = 5 1 3 3, bias huge (ignored), w2 = -4 3 0 2 3 NaN.
  const std::vector<std::vector<float>> grads{
      {5, 1, 3, -3}, {100, 100, 100}, {-4, 3, 0, 2, 3, NAN}};
  auto masks = SaliencyMasks(params, grads, 0.5f);  // 5 of the 10 weights
  CHECK(masks[0] == std::vector<uint8_t>{1, 0, 1, 1});
  CHECK(masks[1] == std::vector<uint8_t>{0, 0, 0});
  // 5, 4, then four 3s for three places: the first ones by position (w1[2], w1[3], w2[1]).
  CHECK(masks[2] == std::vector<uint8_t>{1, 1, 0, 0, 0, 0});
  masks = SaliencyMasks(params, grads, 0.2f);
  CHECK(masks[0] == std::vector<uint8_t>{1, 0, 0, 0});
  CHECK(masks[2] == std::vector<uint8_t>{1, 0, 0, 0, 0, 0});
  masks = SaliencyMasks(params, grads, 1.0f);
  CHECK(masks[0] == std::vector<uint8_t>{1, 1, 1, 1});
  CHECK(masks[2] == std::vector<uint8_t>(6, 1));
  CHECK(masks[1] == std::vector<uint8_t>(3, 0));
}

TEST_CASE("salun moves only the salient weights", "[unlearn]") {
  Fixture f = TrainedClassForget();
  for (float ratio : {0.5f, 0.2f}) {
    INFO("ratio " << ratio);
    ForgetRequest request{f.forget, f.retain, "salun", {}};
    request.options.epochs = 2;
    request.options.batch_size = 32;
    request.options.salun_ratio = ratio;
    // The mask the method will compute: the same scan over the forget set, in order.
    auto clone = std::move(f.model->Copy()).value();
    MethodContext ctx;
    ctx.model = clone.get();
    ctx.forget = &f.forget;
    ctx.retain = &f.retain;
    ctx.options = request.options;
    std::vector<std::vector<float>> grads;
    BatchData batch;
    for (uint32_t lo = 0; lo < f.forget.size(); lo += 32) {
      std::vector<SampleRef> refs;
      for (uint32_t i = lo; i < std::min<uint32_t>(lo + 32, uint32_t(f.forget.size())); i++) {
        refs.push_back({true, i});
      }
      Gather(ctx, refs, &batch);
      AccumulateForgetGradient(ctx, batch, &grads);
    }
    const auto masks = SaliencyMasks(clone->params(), grads, ratio);

    std::vector<EpochReport> reports;
    auto result = RunToEnd(*f.model, request, &reports);
    // A forget's result has its shadow weights snapped to its grid, so the masked-out
    // weights are compared with the original's snapped to it: they kept their integer
    // values, and their float values are exactly those.
    auto snapped = std::move(f.model->Copy()).value();
    nn::SnapShadowWeights(*snapped);
    const auto& before = snapped->params();
    const auto& after = result->params();
    size_t weights = 0, kept = 0, moved = 0;
    for (size_t p = 0; p < before.size(); p++) {
      INFO(before[p]->name);
      if (before[p]->kind != nn::Param::Kind::kWeight) {
        CHECK(SameBits(before[p]->value, after[p]->value));  // biases, steps: frozen
        continue;
      }
      size_t frozen_changed = 0;
      for (size_t i = 0; i < before[p]->value.size(); i++) {
        const bool same =
            std::memcmp(&before[p]->value[i], &after[p]->value[i], sizeof(float)) == 0;
        weights++;
        if (masks[p][i]) {
          kept++;
          moved += !same;
        } else {
          frozen_changed += !same;
        }
      }
      CHECK(frozen_changed == 0);
    }
    CHECK(double(kept) == Approx(ratio * double(weights)).margin(0.5));
    // The masked-in weights did train: in two epochs, some 8-14 % changed integer value.
    CHECK(moved > kept / 25);
  }
}

TEST_CASE("bs's FGSM neighbours stay on the pixel grid within epsilon and raise the loss",
          "[unlearn]") {
  Fixture f = TrainedClassForget();
  const auto saved = io::SaveModel(*f.model);
  REQUIRE(saved.ok());
  const size_t n = f.retain.size(), d = f.retain.sample.size();
  std::vector<uint8_t> neighbours;
  FgsmNeighbours(*f.model, f.retain.x.data(), f.retain.y.data(), n, 0.1f, &neighbours);
  CHECK(io::SaveModel(*f.model).value() == saved.value());  // the attack moved nothing
  REQUIRE(neighbours.size() == n * d);
  size_t moved = 0;
  int max_delta = 0;
  for (size_t i = 0; i < n * d; i++) {
    const int delta = std::abs(int(neighbours[i]) - int(f.retain.x[i]));
    max_delta = std::max(max_delta, delta);
    moved += delta > 0;
  }
  CHECK(max_delta <= 26);  // round(0.1 * 255)
  CHECK(moved > n * d / 2);
  CHECK(MeanCrossEntropy(*f.model, neighbours.data(), f.retain.y.data(), n) >
        MeanCrossEntropy(*f.model, f.retain.x.data(), f.retain.y.data(), n) + 0.1);
  FgsmNeighbours(*f.model, f.retain.x.data(), f.retain.y.data(), n, 0.0f, &neighbours);
  CHECK(neighbours == f.retain.x);
}

TEST_CASE("oeu's projection leaves the forget gradient orthogonal to the retain gradient",
          "[unlearn]") {
  Rng rng(3);
  std::vector<float> r(1000), g(1000);
  for (size_t i = 0; i < r.size(); i++) {
    r[i] = rng.Uniform(-1, 1);
    g[i] = 0.5f * r[i] + rng.Uniform(-1, 1);
  }
  const std::vector<float> g0 = g;
  double dot0 = 0, gg = 0, rr = 0;
  for (size_t i = 0; i < r.size(); i++)
    dot0 += double(g[i]) * r[i], gg += double(g[i]) * g[i], rr += double(r[i]) * r[i];
  const double cosine = ProjectOrthogonal(r, &g);
  CHECK(cosine == Approx(dot0 / std::sqrt(gg * rr)).epsilon(1e-6));
  double dot = 0;
  for (size_t i = 0; i < r.size(); i++) dot += double(g[i]) * r[i];
  CHECK(std::fabs(dot) < 1e-4 * std::sqrt(gg * rr));
  // g' = g - c r for one c.
  const double c = (g0[0] - g[0]) / r[0];
  for (size_t i = 0; i < r.size(); i++) CHECK(g0[i] - g[i] == Approx(c * r[i]).margin(1e-5));
  // A zero retain gradient leaves g alone.
  std::vector<float> zero(1000, 0.0f);
  g = g0;
  CHECK(ProjectOrthogonal(zero, &g) == 0.0);
  CHECK(g == g0);
}

TEST_CASE("salun, bs and oeu forget class 0 and keep retain accuracy", "[unlearn]") {
  Fixture f = TrainedClassForget();
  REQUIRE(train::Evaluate(*f.model, f.forget).accuracy > 0.9f);
  const double entropy_before = MeanEntropy(*f.model, f.forget);
  for (const char* method : {"salun", "bs", "oeu"}) {
    INFO(method);
    ForgetRequest request{f.forget, f.retain, method, {}};
    request.options.epochs = 5;
    request.options.batch_size = 32;
    request.options.lr = 0.05f;
    if (std::string(method) == "bs") {
      // This synthetic model is robust to the default epsilon 0.1 (no forget sample's
      // neighbour crosses the boundary, so bs would only reinforce the true labels);
      // 0.3 of the input range moves every forget sample across.
      request.options.bs_epsilon = 0.3f;
      request.options.epochs = 2;
    }
    std::vector<EpochReport> reports;
    auto result = RunToEnd(*f.model, request, &reports);
    const float fa = train::Evaluate(*result, f.forget).accuracy;
    const float ra = train::Evaluate(*result, f.retain).accuracy;
    const double entropy = MeanEntropy(*result, f.forget);
    INFO("FA " << fa << " RA " << ra << " forget entropy " << entropy_before << " -> " << entropy);
    CHECK(fa < 0.5f);
    CHECK(ra > 0.85f);
    CHECK(reports.back().forget_accuracy == Approx(fa).margin(1e-6));
    if (std::string(method) == "bs") CHECK(Loss(reports[0], "relabelled") > 0.5);
    if (std::string(method) == "oeu") {
      CHECK(entropy > entropy_before + 0.5);  // what oeu maximizes
      CHECK(Loss(reports.back(), "forget_neg_entropy") < Loss(reports[0], "forget_neg_entropy"));
      const double cosine = Loss(reports[0], "cosine");
      CHECK(cosine >= -1.0);
      CHECK(cosine <= 1.0);
    }
  }
}

TEST_CASE("the new options are validated", "[unlearn]") {
  Fixture f = TrainedClassForget();
  auto refused = [&](ForgetRequest request, const std::string& fragment) {
    auto session = ForgetSession::Start(*f.model, std::move(request));
    REQUIRE(!session.ok());
    INFO(session.status().message());
    CHECK(session.status().code() == StatusCode::kInvalidArgument);
    CHECK(session.status().message().find(fragment) != std::string::npos);
  };
  ForgetRequest r{f.forget, f.retain, "l1sparse", {}};
  r.options.l1_alpha = -1;
  refused(r, "l1Alpha");
  r = {f.forget, f.retain, "salun", {}};
  r.options.salun_ratio = 0;
  refused(r, "salunRatio");
  r.options.salun_ratio = NAN;
  refused(r, "salunRatio");
  r = {f.forget, f.retain, "bs", {}};
  r.options.bs_epsilon = 2;
  refused(r, "bsEpsilon");
}

TEST_CASE("ga and bs run without a retain set; the others refuse to", "[unlearn]") {
  Fixture f = TrainedClassForget();
  for (const std::string& name : MethodNames()) {
    INFO(name);
    ForgetRequest request{f.forget, train::Dataset{f.retain.sample, {}, {}}, name, {}};
    request.options.epochs = 1;
    request.options.batch_size = 32;
    request.options.lr = 1e-3f;
    auto made = MakeMethod(name);
    REQUIRE(made.ok());
    if (made.value()->uses_retain()) {
      auto session = ForgetSession::Start(*f.model, std::move(request));
      REQUIRE_FALSE(session.ok());
      CHECK(session.status().code() == StatusCode::kInvalidArgument);
      CHECK(session.status().message() ==
            "retain is required by " + name +
                ": the training data that stays, or a sample of it (ga and bs run without it)");
    } else {
      std::vector<EpochReport> reports;
      auto result = RunToEnd(*f.model, std::move(request), &reports);
      REQUIRE(result);
      CHECK(reports.size() == 1);
    }
  }
  // Only ga and bs: a change here is a change of the documented API.
  std::vector<std::string> without;
  for (const std::string& name : MethodNames()) {
    if (!MakeMethod(name).value()->uses_retain()) without.push_back(name);
  }
  CHECK(without == std::vector<std::string>{"ga", "bs"});
}

}  // namespace
}  // namespace qf::unlearn
