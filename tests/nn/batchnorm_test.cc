// BatchNorm: the batch-statistics gradient against finite differences, running
// statistics against hand-computed momentum updates, eval mode and the folded affine.
#include "nn/batchnorm.h"

#include <cmath>
#include <vector>

#include "nn/gradcheck.h"

namespace qf::nn {
namespace {

// Builds `bn` for `sample` and gives gamma and beta values away from 1 and 0.
void BuildWithAffine(BatchNorm& bn, const Shape& sample, Rng& rng) {
  REQUIRE(bn.Build(sample, BuildInfo{"bn"}).ok());
  bn.Init(rng);
  for (float& g : bn.gamma().value.values()) {
    g = (rng.Uniform() < 0.5f ? -1.0f : 1.0f) * rng.Uniform(0.5f, 1.5f);
  }
  for (float& b : bn.beta().value.values()) b = rng.Uniform(-1.0f, 1.0f);
}

// Per-channel batch mean and biased / unbiased variance, in double.
struct Stats {
  std::vector<double> mean, var, unbiased;
};
Stats BatchStats(const Tensor& x, size_t c) {
  const size_t m = x.size() / c;
  Stats s{std::vector<double>(c, 0.0), std::vector<double>(c, 0.0), std::vector<double>(c)};
  for (size_t i = 0; i < x.size(); i++) s.mean[i % c] += x[i];
  for (double& v : s.mean) v /= double(m);
  for (size_t i = 0; i < x.size(); i++) {
    const double d = x[i] - s.mean[i % c];
    s.var[i % c] += d * d;
  }
  for (size_t ch = 0; ch < c; ch++) {
    s.unbiased[ch] = s.var[ch] / double(m - 1);
    s.var[ch] /= double(m);
  }
  return s;
}

// Tolerance: eps 1e-3 keeps the truncation error (eps^2 times third derivatives of order
// 1) near 1e-6; what remains is float rounding of the ~70 outputs summed into the loss,
// ~1e-6 on the loss and so ~5e-4 at most on a central difference: atol 1e-3 (measured
// natively: at most 2.6e-4 absolute, and with atol 3e-4 no relative error is left).
// rtol 2e-3 is still far below a real error (dropping the mean or the variance term
// moves dx by ~10-50%).
test::GradCheckOptions BatchNormGradOptions() {
  test::GradCheckOptions o;
  o.eps = 1e-3f;
  o.tolerance = {2e-3, 1e-3};
  o.max_probes = 96;
  return o;
}

TEST_CASE("batch norm gradients (dx, dgamma, dbeta) match finite differences", "[engine][nn]") {
  Rng rng(31);
  SECTION("images [N, H, W, C]") {
    BatchNorm bn;
    BuildWithAffine(bn, Shape{3, 2, 3}, rng);
    // Shifted and scaled input: the statistics are far from 0 / 1.
    Tensor x = test::RandomTensor(Shape{4, 3, 2, 3}, rng, -2.0f, 3.0f);
    test::CheckGradients(bn, x, 32, BatchNormGradOptions());
  }
  SECTION("features [N, C]") {
    BatchNorm bn;
    BuildWithAffine(bn, Shape{5}, rng);
    Tensor x = test::RandomTensor(Shape{6, 5}, rng, -1.5f, 1.0f);
    test::CheckGradients(bn, x, 33, BatchNormGradOptions());
  }
}

TEST_CASE("batch norm eval-mode gradients match finite differences and move nothing",
          "[engine][nn]") {
  Rng rng(39);
  BatchNorm bn;
  BuildWithAffine(bn, Shape{3, 2, 3}, rng);
  Tensor y;
  for (int batch = 0; batch < 4; batch++) {  // running statistics away from 0 / 1
    bn.Forward(test::RandomTensor(Shape{4, 3, 2, 3}, rng, -2.0f, 3.0f), &y, Mode::kTrain);
  }
  const std::vector<float> mean = bn.running_mean().values(), var = bn.running_var().values();
  test::GradCheckOptions o = BatchNormGradOptions();
  o.mode = Mode::kEvalGradient;
  test::CheckGradients(bn, test::RandomTensor(Shape{4, 3, 2, 3}, rng, -2.0f, 3.0f), 34, o);
  CHECK(bn.running_mean().values() == mean);
  CHECK(bn.running_var().values() == var);
}

TEST_CASE("batch norm gradient properties: dx sums to zero per channel, null dx", "[engine][nn]") {
  Rng rng(34);
  BatchNorm bn;
  BuildWithAffine(bn, Shape{2, 2, 3}, rng);
  const Tensor x = test::RandomTensor(Shape{4, 2, 2, 3}, rng);
  Tensor y, dy = test::RandomTensor(Shape{4, 2, 2, 3}, rng), dx;
  bn.Forward(x, &y, Mode::kTrain);
  bn.Backward(dy, &dx);
  std::vector<double> sums(3, 0.0);
  for (size_t i = 0; i < dx.size(); i++) sums[i % 3] += dx[i];
  for (double s : sums) REQUIRE(std::fabs(s) < 1e-5);
  // Without dx the parameter gradients are the same (accumulated a second time).
  const std::vector<float> dgamma = bn.gamma().grad.values(), dbeta = bn.beta().grad.values();
  bn.Backward(dy, nullptr);
  for (size_t c = 0; c < 3; c++) {
    REQUIRE(bn.gamma().grad[c] == 2 * dgamma[c]);
    REQUIRE(bn.beta().grad[c] == 2 * dbeta[c]);
  }
}

TEST_CASE("batch norm training normalizes with the batch statistics", "[engine][nn]") {
  Rng rng(35);
  BatchNorm bn;
  BuildWithAffine(bn, Shape{4}, rng);
  const Tensor x = test::RandomTensor(Shape{8, 4}, rng, -3.0f, 5.0f);
  Tensor y;
  bn.Forward(x, &y, Mode::kTrain);
  const Stats s = BatchStats(x, 4);
  for (size_t i = 0; i < x.size(); i++) {
    const size_t c = i % 4;
    const double want =
        bn.gamma().value[c] * (x[i] - s.mean[c]) / std::sqrt(s.var[c] + 1e-5) + bn.beta().value[c];
    REQUIRE(std::fabs(y[i] - want) <= 1e-6 * (1 + std::fabs(want)));
  }
}

TEST_CASE("batch norm running statistics follow the momentum updates; eval uses them",
          "[engine][nn]") {
  Rng rng(36);
  BatchNorm bn;
  BuildWithAffine(bn, Shape{2, 2, 3}, rng);
  std::vector<double> mean(3, 0.0), var(3, 1.0);  // the initial running statistics
  Tensor y;
  for (int batch = 0; batch < 3; batch++) {
    const Tensor x = test::RandomTensor(Shape{5, 2, 2, 3}, rng, -1.0f + batch, 2.0f + 2 * batch);
    bn.Forward(x, &y, Mode::kTrain);
    const Stats s = BatchStats(x, 3);
    for (size_t c = 0; c < 3; c++) {
      mean[c] = 0.9 * mean[c] + 0.1 * s.mean[c];
      var[c] = 0.9 * var[c] + 0.1 * s.unbiased[c];  // unbiased: M = 20 values
    }
    for (size_t c = 0; c < 3; c++) {
      REQUIRE(std::fabs(bn.running_mean()[c] - mean[c]) <= 1e-6 * (1 + std::fabs(mean[c])));
      REQUIRE(std::fabs(bn.running_var()[c] - var[c]) <= 1e-6 * (1 + var[c]));
    }
  }

  // Eval: the running statistics, not the batch's, and they do not move.
  const Tensor x = test::RandomTensor(Shape{2, 2, 2, 3}, rng, 4.0f, 9.0f);
  const std::vector<float> mean_before = bn.running_mean().values();
  const std::vector<float> var_before = bn.running_var().values();
  bn.Forward(x, &y, Mode::kEval);
  REQUIRE(bn.running_mean().values() == mean_before);
  REQUIRE(bn.running_var().values() == var_before);
  std::vector<float> scale, shift;
  bn.FoldedAffine(&scale, &shift);
  REQUIRE((scale.size() == 3 && shift.size() == 3));
  for (size_t i = 0; i < x.size(); i++) {
    const size_t c = i % 3;
    // The textbook formula, in double.
    const double want = bn.gamma().value[c] * (x[i] - double(bn.running_mean()[c])) /
                            std::sqrt(double(bn.running_var()[c]) + 1e-5) +
                        bn.beta().value[c];
    INFO("i " << i << " y " << y[i] << " want " << want);
    REQUIRE(std::fabs(y[i] - want) <= 2e-6 * (1 + std::fabs(want)));
    // The folded affine is exactly what eval Forward computes.
    REQUIRE(y[i] == x[i] * scale[c] + shift[c]);
  }
}

TEST_CASE("batch norm calibration averages the run's batch statistics", "[engine][nn]") {
  Rng rng(38);
  BatchNorm bn;
  BuildWithAffine(bn, Shape{2, 2, 3}, rng);
  Tensor y, y_train;
  // Training first, so that the running statistics hold something to be replaced.
  bn.Forward(test::RandomTensor(Shape{4, 2, 2, 3}, rng, 5.0f, 9.0f), &y, Mode::kTrain);
  for (int run = 0; run < 2; run++) {  // a second run starts afresh
    REQUIRE(bn.BeginCalibration() == 1);
    std::vector<double> mean(3, 0.0), var(3, 0.0);
    const int batches = 3 + run;
    for (int batch = 0; batch < batches; batch++) {
      const Tensor x = test::RandomTensor(Shape{5, 2, 2, 3}, rng, -1.0f - batch, 1.0f + 3 * batch);
      bn.Forward(x, &y, Mode::kCalibrate);
      const Stats s = BatchStats(x, 3);
      for (size_t c = 0; c < 3; c++) {
        mean[c] += s.mean[c] / batches;
        var[c] += s.unbiased[c] / batches;
      }
      // The output is the training one (batch statistics).
      BatchNorm twin;
      BuildWithAffine(twin, Shape{2, 2, 3}, rng);
      twin.gamma().value = bn.gamma().value;
      twin.beta().value = bn.beta().value;
      twin.Forward(x, &y_train, Mode::kTrain);
      REQUIRE(y.values() == y_train.values());
    }
    for (size_t c = 0; c < 3; c++) {
      INFO("run " << run << " channel " << c);
      REQUIRE(std::fabs(bn.running_mean()[c] - mean[c]) <= 1e-6 * (1 + std::fabs(mean[c])));
      REQUIRE(std::fabs(bn.running_var()[c] - var[c]) <= 1e-6 * (1 + var[c]));
    }
  }
}

TEST_CASE("batch norm with one value per channel keeps the running variance", "[engine][nn]") {
  BatchNorm bn;
  Rng rng(37);
  REQUIRE(bn.Build(Shape{2}, BuildInfo{"bn"}).ok());
  bn.Init(rng);
  Tensor x(Shape{1, 2}), y;
  x[0] = 3.0f;
  x[1] = -1.0f;
  bn.Forward(x, &y, Mode::kTrain);
  REQUIRE((y[0] == 0.0f && y[1] == 0.0f));  // x - mean = 0; beta = 0
  REQUIRE(std::fabs(bn.running_mean()[0] - 0.3f) < 1e-7f);
  REQUIRE(std::fabs(bn.running_mean()[1] + 0.1f) < 1e-7f);
  REQUIRE((bn.running_var()[0] == 1.0f && bn.running_var()[1] == 1.0f));
}

TEST_CASE("batch norm parameters, state and shape errors", "[engine][nn]") {
  BatchNorm bn;
  StatusOr<Shape> out = bn.Build(Shape{4, 4, 6}, BuildInfo{"blk.bn"});
  REQUIRE(out.ok());
  REQUIRE(out.value() == Shape{4, 4, 6});
  REQUIRE(bn.channels() == 6);
  std::vector<Param*> params;
  bn.CollectParams(&params);
  REQUIRE(params.size() == 2);  // running statistics are state, not parameters
  REQUIRE(params[0]->name == "blk.bn.gamma");
  REQUIRE(params[1]->name == "blk.bn.beta");
  for (Param* p : params) {
    REQUIRE(p->kind == Param::Kind::kNorm);
    REQUIRE(p->value.shape() == Shape{6});
    REQUIRE(p->grad.shape() == Shape{6});
  }
  REQUIRE(bn.gamma().value[5] == 1.0f);
  REQUIRE(bn.beta().value[5] == 0.0f);
  REQUIRE(bn.running_mean().shape() == Shape{6});
  REQUIRE(bn.running_var()[0] == 1.0f);
  REQUIRE(!bn.OutputNonNegative(true));

  for (const Shape& bad : {Shape{}, Shape{3, 0}}) {
    BatchNorm b;
    StatusOr<Shape> r = b.Build(bad, BuildInfo{"bn"});
    REQUIRE(!r.ok());
    REQUIRE(r.status().code() == StatusCode::kInvalidArgument);
    REQUIRE(r.status().message().find("bn: batch_norm") == 0);
  }
  BatchNorm bad_momentum(1.5f);
  REQUIRE(!bad_momentum.Build(Shape{3}, BuildInfo{"bn"}).ok());
}

}  // namespace
}  // namespace qf::nn
