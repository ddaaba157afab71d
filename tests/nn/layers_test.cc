// Layer gradients against finite differences (float mode: quantizers off), and the
// quantized forward against the fake-quant oracle.
#include <cmath>
#include <limits>

#include "nn/activations.h"
#include "nn/dense.h"
#include "nn/sequential.h"
#include "nn/gradcheck.h"

namespace qf::nn {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

template <typename L>
L& Built(L& layer, const Shape& sample, uint64_t seed) {
  BuildInfo info;
  info.name = "t";
  REQUIRE(layer.Build(sample, info).ok());
  Rng rng(seed);
  layer.Init(rng);
  return layer;
}

TEST_CASE("dense float gradients match finite differences", "[engine][nn]") {
  Dense dense(7, QuantConfig{32, true});
  Built(dense, Shape{5}, 1);
  Rng rng(2);
  for (float& b : dense.bias().value.values()) b = rng.Uniform(-1, 1);
  test::CheckGradients(dense, test::RandomTensor(Shape{3, 5}, rng), 3);
}

TEST_CASE("relu and relu6 gradients match finite differences", "[engine][nn]") {
  Rng rng(4);
  Relu relu(kInf), relu6(6.0f);
  Built(relu, Shape{4, 3}, 1);
  Built(relu6, Shape{4, 3}, 1);
  test::CheckGradients(relu, test::RandomTensor(Shape{2, 4, 3}, rng), 5);
  Tensor x = test::RandomTensor(Shape{2, 4, 3}, rng, -8.0f, 8.0f, 0.1f);
  for (float& v : x.values()) {
    if (std::fabs(v - 6.0f) < 0.1f) v = 5.0f;  // keep away from the upper kink too
  }
  test::CheckGradients(relu6, x, 6);
}

TEST_CASE("sequential chains gradients through its layers", "[engine][nn]") {
  Sequential net;
  net.Add(std::make_unique<Flatten>());
  net.Add(std::make_unique<Dense>(6, QuantConfig{32, true}));
  net.Add(std::make_unique<Relu>(kInf));
  net.Add(std::make_unique<Dense>(3, QuantConfig{32, true}));
  Built(net, Shape{2, 2, 2}, 7);
  Rng rng(8);
  test::GradCheckOptions o;
  o.eps = 1e-3f;  // 1e-2 moves some hidden units across ReLU's kink
  test::CheckGradients(net, test::RandomTensor(Shape{4, 2, 2, 2}, rng), 9, o);
}

TEST_CASE("quantized dense forward equals the fake-quant oracle", "[engine][nn][quant]") {
  for (int bits : {2, 3, 4, 8}) {
    for (bool per_channel : {true, false}) {
      for (bool non_negative : {true, false}) {
        INFO("bits " << bits << " per_channel " << per_channel << " non_negative " << non_negative);
        Dense dense(9, QuantConfig{bits, per_channel});
        BuildInfo info;
        info.name = "q";
        info.input_non_negative = non_negative;
        REQUIRE(dense.Build(Shape{13}, info).ok());
        Rng rng(bits * 10 + per_channel);
        dense.Init(rng);
        for (float& b : dense.bias().value.values()) b = rng.Uniform(-0.5f, 0.5f);
        Tensor x(Shape{6, 13});
        for (float& v : x.values()) v = non_negative ? rng.Uniform(0, 2) : rng.Uniform(-2, 2);
        Tensor y;
        dense.Forward(x, &y, Mode::kTrain);

        // Oracle: dequantized input times dequantized weights, in double.
        const InputQuantizer& iq = dense.input_quantizer();
        const WeightQuantizer& wq = dense.weight_quantizer();
        REQUIRE(int(iq.zero_point()) == (non_negative ? 0 : 128));
        for (size_t i = 0; i < 6; i++) {
          for (size_t j = 0; j < 9; j++) {
            double want = dense.bias().value[j];
            for (size_t k = 0; k < 13; k++) {
              const double xq = (int(iq.codes()[i * 13 + k]) - int(iq.zero_point())) * double(iq.step());
              want += xq * double(wq.codes()[k * 9 + j]) * double(wq.step(j));
            }
            REQUIRE(std::fabs(y[i * 9 + j] - want) <= 1e-5 * (1 + std::fabs(want)));
          }
        }
        // Codes stay in range and the oracle's values are the layer's own.
        const quant::QRange range = quant::SignedRange(bits);
        for (int8_t c : wq.codes()) REQUIRE((c >= range.qn && c <= range.qp));
      }
    }
  }
}

TEST_CASE("quantized dense gradients follow the STE through both quantizers", "[engine][nn][quant]") {
  // With the step sizes frozen, dL/dx and dL/dW of the quantized layer must equal the
  // float layer's gradients on the dequantized values, masked where values clip.
  Dense dense(4, QuantConfig{4, true});
  BuildInfo info;
  info.name = "q";
  REQUIRE(dense.Build(Shape{6}, info).ok());
  Rng rng(11);
  dense.Init(rng);
  Tensor x(Shape{5, 6});
  for (float& v : x.values()) v = rng.Uniform(-1.5f, 1.5f);
  Tensor y, dy(Shape{5, 4});
  for (float& v : dy.values()) v = rng.Uniform(-1, 1);
  dense.Forward(x, &y, Mode::kTrain);
  std::vector<Param*> params;
  dense.CollectParams(&params);
  for (Param* p : params) p->grad.Fill(0);
  Tensor dx;
  dense.Backward(dy, &dx);

  const InputQuantizer& iq = dense.input_quantizer();
  const WeightQuantizer& wq = dense.weight_quantizer();
  const quant::QRange ar = quant::ActivationRange(iq.zero_point());
  const quant::QRange wr = quant::SignedRange(4);
  for (size_t i = 0; i < 5; i++) {
    for (size_t k = 0; k < 6; k++) {
      double dx_hat = 0;
      for (size_t j = 0; j < 4; j++) dx_hat += dy[i * 4 + j] * wq.dequantized()[k * 4 + j];
      const float v = x[i * 6 + k] / iq.step();
      const double want = (v >= ar.qn && v <= ar.qp) ? dx_hat : 0.0;
      REQUIRE(std::fabs(dx[i * 6 + k] - want) <= 1e-5 * (1 + std::fabs(want)));
    }
  }
  for (size_t k = 0; k < 6; k++) {
    for (size_t j = 0; j < 4; j++) {
      double dw_hat = 0;
      for (size_t i = 0; i < 5; i++) {
        dw_hat += (int(iq.codes()[i * 6 + k]) - int(iq.zero_point())) * double(iq.step()) * dy[i * 4 + j];
      }
      const float v = dense.weight().value[k * 4 + j] / wq.step(j);
      const double want = (v >= wr.qn && v <= wr.qp) ? dw_hat : 0.0;
      REQUIRE(std::fabs(dense.weight().grad[k * 4 + j] - want) <= 1e-5 * (1 + std::fabs(want)));
    }
  }
}

}  // namespace
}  // namespace qf::nn
