// Losses: values against direct formulas, gradients against finite differences.
#include <catch.hpp>

#include <cmath>

#include "core/random.h"
#include "nn/gradcheck.h"
#include "train/loss.h"

namespace qf::train {
namespace {

Tensor RandomLogits(size_t n, size_t c, uint64_t seed) {
  Rng rng(seed);
  Tensor z(Shape{n, c});
  for (float& v : z.values()) v = rng.Uniform(-3.0f, 3.0f);
  return z;
}

template <typename LossFn>
void CheckLossGradient(Tensor z, LossFn loss) {
  Tensor grad;
  loss(z, &grad);
  const double eps = 1e-2;
  for (size_t i = 0; i < z.size(); i++) {
    const float saved = z[i];
    z[i] = float(saved + eps);
    const double plus = loss(z, nullptr);
    z[i] = float(saved - eps);
    const double minus = loss(z, nullptr);
    z[i] = saved;
    test::CheckGradient(grad[i], (plus - minus) / (2 * eps), {},  // at most 4.3e-6 off
                        "logit " + std::to_string(i));
  }
}

TEST_CASE("weighted cross-entropy: value and gradient", "[engine][train]") {
  const Tensor z = RandomLogits(4, 5, 1);
  const Label labels[] = {0, 3, 4, 1};
  const float weights[] = {0.5f, 2.0f, 0.0f, 1.0f};
  double want = 0;
  for (size_t i = 0; i < 4; i++) {
    double sum = 0;
    for (size_t j = 0; j < 5; j++) sum += std::exp(double(z[i * 5 + j]));
    want += weights[i] * (std::log(sum) - z[i * 5 + labels[i]]);
  }
  CHECK(SoftmaxCrossEntropy(z, labels, weights, 1.0f, nullptr) == Approx(want / 4));
  CHECK(SoftmaxCrossEntropy(z, labels, weights, -1.0f, nullptr) == Approx(-want / 4));
  for (float sign : {1.0f, -1.0f}) {
    CheckLossGradient(z, [&](const Tensor& t, Tensor* g) {
      return SoftmaxCrossEntropy(t, labels, weights, sign, g);
    });
  }
}

TEST_CASE("cross-entropy is stable for huge logits", "[engine][train]") {
  Tensor z(Shape{1, 3});
  z[0] = 1000.0f;
  z[1] = -1000.0f;
  z[2] = 0.0f;
  const Label label = 1;
  const float loss = SoftmaxCrossEntropy(z, &label, nullptr, 1.0f, nullptr);
  CHECK(std::isfinite(loss));
  CHECK(loss == Approx(2000.0f));
}

TEST_CASE("prediction entropy: value and gradient", "[engine][train]") {
  const Tensor z = RandomLogits(3, 4, 2);
  Tensor uniform(Shape{1, 4}, 0.7f);
  CHECK(SoftmaxEntropy(uniform, nullptr) == Approx(std::log(4.0)));
  CheckLossGradient(z, [&](const Tensor& t, Tensor* g) { return SoftmaxEntropy(t, g); });
}

TEST_CASE("L1 penalty applies to weights only", "[engine][train]") {
  nn::Param w{"w", nn::Param::Kind::kWeight, Tensor(Shape{3}), Tensor(Shape{3})};
  nn::Param b{"b", nn::Param::Kind::kBias, Tensor(Shape{1}, 5.0f), Tensor(Shape{1})};
  w.value[0] = -2.0f;
  w.value[1] = 0.0f;
  w.value[2] = 3.0f;
  CHECK(L1Penalty({&w, &b}, 0.1f) == Approx(0.5f));
  CHECK(w.grad[0] == Approx(-0.1f));
  CHECK(w.grad[1] == 0.0f);
  CHECK(w.grad[2] == Approx(0.1f));
  CHECK(b.grad[0] == 0.0f);
}

}  // namespace
}  // namespace qf::train
