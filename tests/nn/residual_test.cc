// Residual: gradients through both branches against finite differences, the sum itself,
// parameter naming, value-range propagation and branch shape errors.
#include "nn/residual.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "nn/activations.h"
#include "nn/batchnorm.h"
#include "nn/dense.h"
#include "nn/gradcheck.h"
#include "nn/pooling.h"

namespace qf::nn {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const QuantConfig kFloat{32, true};

std::unique_ptr<Sequential> Chain(std::vector<std::unique_ptr<Layer>> layers) {
  return std::make_unique<Sequential>(std::move(layers));
}

template <typename... L>
std::unique_ptr<Sequential> Seq(std::unique_ptr<L>... layers) {
  std::vector<std::unique_ptr<Layer>> v;
  (v.push_back(std::move(layers)), ...);
  return Chain(std::move(v));
}

void BuildAndInit(Layer& layer, const Shape& sample, uint64_t seed) {
  StatusOr<Shape> out = layer.Build(sample, BuildInfo{"t"});
  INFO(out.status().message());
  REQUIRE(out.ok());
  Rng rng(seed);
  layer.Init(rng);
}

// Non-zero biases so the check covers them with non-trivial values too.
void RandomBiases(Layer& layer, Rng& rng) {
  std::vector<Param*> params;
  layer.CollectParams(&params);
  for (Param* p : params) {
    if (p->kind == Param::Kind::kBias) {
      for (float& b : p->value.values()) b = rng.Uniform(-0.5f, 0.5f);
    }
  }
}

TEST_CASE("residual with an identity shortcut: gradients", "[engine][nn]") {
  Residual block(Seq(std::make_unique<Dense>(6, kFloat), std::make_unique<Relu>(kInf),
                     std::make_unique<Dense>(4, kFloat)));
  BuildAndInit(block, Shape{4}, 41);
  REQUIRE(block.identity_shortcut());
  Rng rng(42);
  RandomBiases(block, rng);
  test::GradCheckOptions o;
  o.eps = 1e-3f;            // keeps hidden units on their side of ReLU's kink
  o.tolerance.atol = 1e-3;  // the rounding term at eps 1e-3 (GradTolerance)
  test::CheckGradients(block, test::RandomTensor(Shape{3, 4}, rng), 43, o);
}

TEST_CASE("residual with a dense shortcut: gradients into both branches", "[engine][nn]") {
  Residual block(Seq(std::make_unique<Dense>(5, kFloat), std::make_unique<Relu>(kInf),
                     std::make_unique<Dense>(6, kFloat)),
                 Seq(std::make_unique<Dense>(6, kFloat)));
  BuildAndInit(block, Shape{4}, 44);
  REQUIRE(!block.identity_shortcut());
  Rng rng(45);
  RandomBiases(block, rng);
  test::GradCheckOptions o;
  o.eps = 1e-3f;
  o.tolerance.atol = 1e-3;
  test::CheckGradients(block, test::RandomTensor(Shape{3, 4}, rng), 46, o);

  // Without dx, the shortcut's parameters still get their gradient.
  std::vector<Param*> params;
  block.CollectParams(&params);
  REQUIRE(params.size() == 6);
  REQUIRE(params[0]->name == "t.body.0.weight");
  REQUIRE(params[4]->name == "t.shortcut.0.weight");
  Tensor x = test::RandomTensor(Shape{3, 4}, rng), y, dx;
  Tensor dy = test::RandomTensor(Shape{3, 6}, rng);
  for (Param* p : params) p->grad.Fill(0.0f);
  block.Forward(x, &y, Mode::kTrain);
  block.Backward(dy, &dx);
  const std::vector<float> with_dx = params[4]->grad.values();
  params[4]->grad.Fill(0.0f);
  block.Backward(dy, nullptr);
  REQUIRE(params[4]->grad.values() == with_dx);
}

TEST_CASE("residual of image layers: batch norm, pooling, gradients", "[engine][nn]") {
  // body: BatchNorm then a 3x3 average; shortcut: a 3x3 max. Same-padded, stride 1.
  Pool2DOptions o3;
  o3.kh = o3.kw = 3;
  o3.stride_h = o3.stride_w = 1;
  o3.padding.mode = Padding::Mode::kSame;
  Residual block(Seq(std::make_unique<BatchNorm>(), std::make_unique<AvgPool2D>(o3)),
                 Seq(std::make_unique<MaxPool2D>(o3)));
  BuildAndInit(block, Shape{3, 3, 2}, 47);
  Rng rng(48);
  auto& bn = static_cast<BatchNorm&>(block.body().layer(0));
  for (float& g : bn.gamma().value.values()) g = rng.Uniform(0.5f, 1.5f);
  for (float& b : bn.beta().value.values()) b = rng.Uniform(-1.0f, 1.0f);
  // Distinct input values 0.02 apart: eps 1e-3 never reorders the max pool's window.
  Tensor x(Shape{4, 3, 3, 2});
  std::vector<size_t> order(x.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  rng.Shuffle(order.data(), order.size());
  for (size_t i = 0; i < x.size(); i++) x[i] = (float(order[i]) - 36.0f) * 0.02f;
  test::GradCheckOptions g;
  g.eps = 1e-3f;
  g.tolerance = {2e-3, 1e-3};  // as in the batch norm tests
  g.max_probes = 72;
  test::CheckGradients(block, x, 49, g);
}

TEST_CASE("residual forward is the sum of its branches", "[engine][nn]") {
  // body = ReLU, identity shortcut: y = relu(x) + x.
  Residual block(Seq(std::make_unique<Relu>(kInf)));
  BuildAndInit(block, Shape{3}, 50);
  Tensor x(Shape{2, 3}), y;
  const float values[] = {-2, 0.5f, 3, 1, -1, 0};
  std::copy(values, values + 6, x.data());
  block.Forward(x, &y, Mode::kEval);
  const float want[] = {-2, 1, 6, 2, -1, 0};
  for (size_t i = 0; i < 6; i++) REQUIRE(y[i] == want[i]);
}

TEST_CASE("residual output is non-negative only when both branches are", "[engine][nn]") {
  Residual relu_identity(Seq(std::make_unique<Dense>(3, kFloat), std::make_unique<Relu>(kInf)));
  BuildAndInit(relu_identity, Shape{3}, 51);
  REQUIRE(relu_identity.OutputNonNegative(true));
  REQUIRE(!relu_identity.OutputNonNegative(false));
  Residual dense_shortcut(Seq(std::make_unique<Relu>(kInf)),
                          Seq(std::make_unique<Dense>(3, kFloat)));
  BuildAndInit(dense_shortcut, Shape{3}, 52);
  REQUIRE(!dense_shortcut.OutputNonNegative(true));
  REQUIRE(!relu_identity.OutputsInputValues());
  REQUIRE(std::string(relu_identity.type()) == "residual");
}

TEST_CASE("residual rejects branches with different output shapes", "[engine][nn]") {
  auto expect_invalid = [](Residual& block, const Shape& input,
                           const std::vector<std::string>& fragments) {
    StatusOr<Shape> out = block.Build(input, BuildInfo{"blk"});
    REQUIRE(!out.ok());
    INFO(out.status().message());
    REQUIRE(out.status().code() == StatusCode::kInvalidArgument);
    for (const std::string& f : fragments) {
      REQUIRE(out.status().message().find(f) != std::string::npos);
    }
  };
  Residual identity(Seq(std::make_unique<Dense>(5, kFloat)));
  expect_invalid(identity, Shape{4}, {"blk: residual", "body [5]", "shortcut [4] (identity)"});
  Residual two(Seq(std::make_unique<Dense>(5, kFloat)), Seq(std::make_unique<Dense>(6, kFloat)));
  expect_invalid(two, Shape{4}, {"body [5]", "shortcut [6]"});
  // A branch's own error comes through with the branch's name.
  Pool2DOptions big;
  big.kh = big.kw = 5;
  Residual pool(Seq(std::make_unique<MaxPool2D>(big)));
  expect_invalid(pool, Shape{3, 3, 1}, {"blk.body.0: max_pool2d", "larger than the padded"});
}

}  // namespace
}  // namespace qf::nn
