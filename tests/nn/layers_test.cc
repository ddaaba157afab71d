// Layer gradients against finite differences (float mode: quantizers off), and the
// quantized forward against the fake-quant oracle.
#include <cmath>
#include <limits>

#include "nn/activations.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/depthwise_conv2d.h"
#include "nn/gradcheck.h"
#include "nn/sequential.h"

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
  o.eps = 1e-3f;            // 1e-2 moves some hidden units across ReLU's kink
  o.tolerance.atol = 1e-3;  // the rounding term at eps 1e-3 (GradTolerance)
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
              const double xq =
                  (int(iq.codes()[i * 13 + k]) - int(iq.zero_point())) * double(iq.step());
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

TEST_CASE("every weight scheme deploys exactly what it simulates", "[engine][nn][quant]") {
  // The simulated weights against the deployed int8 values times the fine steps, bit for
  // bit (dense, conv2d, depthwise), and the int8 kernel's output against the oracle on
  // the simulated weights (dense).
  const auto check = [](Layer& layer, WeightQuantizer& wq, const Tensor& weight,
                        const Shape& input, uint64_t seed) {
    BuildInfo info;
    info.name = "q";
    REQUIRE(layer.Build(input, info).ok());
    Rng rng(seed);
    layer.Init(rng);
    std::vector<size_t> batch{3};
    for (size_t d : input.dims()) batch.push_back(d);
    Tensor x{Shape(batch)};
    for (float& v : x.values()) v = rng.Uniform(-2, 2);
    Tensor y;
    layer.Forward(x, &y, Mode::kTrain);
    const size_t channels = weight.shape()[1];
    for (size_t i = 0; i < weight.size(); i++) {
      REQUIRE(wq.dequantized()[i] == float(wq.codes()[i]) * wq.step(i % channels));
    }
    return y;
  };
  for (quant::WeightScheme scheme :
       {quant::WeightScheme::kAsymmetric, quant::WeightScheme::kPowerOfTwo,
        quant::WeightScheme::kApot, quant::WeightScheme::kCodebook}) {
    for (int bits : {2, 4, 8}) {
      if (!quant::SchemeBitsError(scheme, bits).empty()) continue;
      for (bool per_channel : {true, false}) {
        INFO(quant::SchemeName(scheme) << " bits " << bits << " per_channel " << per_channel);
        const QuantConfig q{bits, per_channel, scheme};
        Dense dense(7, q);
        const Tensor y = check(dense, dense.weight_quantizer(), dense.weight().value, Shape{11}, 3);
        Conv2DOptions o;
        o.filters = 4;
        o.kh = o.kw = 3;
        o.padding.mode = Padding::Mode::kSame;
        Conv2D conv(o, q);
        check(conv, conv.core().weight_quantizer(), conv.core().weight().value, Shape{5, 5, 3}, 4);
        DepthwiseOptions d;
        d.padding.mode = Padding::Mode::kSame;
        DepthwiseConv2D dw(d, q);
        check(dw, dw.weight_quantizer(), dw.weight().value, Shape{5, 5, 3}, 5);

        // Dense against its oracle, in double.
        const InputQuantizer& iq = dense.input_quantizer();
        const WeightQuantizer& wq = dense.weight_quantizer();
        for (size_t i = 0; i < 3; i++) {
          for (size_t j = 0; j < 7; j++) {
            double want = dense.bias().value[j];
            for (size_t k = 0; k < 11; k++) {
              const double xq =
                  (int(iq.codes()[i * 11 + k]) - int(iq.zero_point())) * double(iq.step());
              want += xq * double(wq.dequantized()[k * 7 + j]);
            }
            REQUIRE(std::fabs(y[i * 7 + j] - want) <= 1e-5 * (1 + std::fabs(want)));
          }
        }
      }
    }
  }
}

TEST_CASE("quantized dense gradients follow the STE through both quantizers",
          "[engine][nn][quant]") {
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
        dw_hat +=
            (int(iq.codes()[i * 6 + k]) - int(iq.zero_point())) * double(iq.step()) * dy[i * 4 + j];
      }
      const float v = dense.weight().value[k * 4 + j] / wq.step(j);
      const double want = (v >= wr.qn && v <= wr.qp) ? dw_hat : 0.0;
      REQUIRE(std::fabs(dense.weight().grad[k * 4 + j] - want) <= 1e-5 * (1 + std::fabs(want)));
    }
  }
}

}  // namespace
}  // namespace qf::nn

namespace qf::nn {
namespace {

TEST_CASE("conv2d float gradients match finite differences", "[engine][nn]") {
  struct Case {
    size_t k, stride;
    Padding::Mode padding;
  };
  for (const Case& c : {Case{3, 1, Padding::Mode::kSame}, Case{3, 2, Padding::Mode::kValid},
                        Case{1, 1, Padding::Mode::kValid}, Case{2, 2, Padding::Mode::kSame}}) {
    INFO("k " << c.k << " stride " << c.stride);
    Conv2DOptions o;
    o.filters = 3;
    o.kh = o.kw = c.k;
    o.stride_h = o.stride_w = c.stride;
    o.padding.mode = c.padding;
    Conv2D conv(o, QuantConfig{32, true});
    Built(conv, Shape{5, 4, 2}, 12);
    Rng rng(13);
    for (float& b : conv.core().bias().value.values()) b = rng.Uniform(-1, 1);
    test::CheckGradients(conv, test::RandomTensor(Shape{2, 5, 4, 2}, rng), 14);
  }
}

TEST_CASE("conv2d padding and output shapes", "[engine][nn]") {
  Conv2DOptions o;
  o.filters = 4;
  o.padding.mode = Padding::Mode::kSame;
  o.stride_h = o.stride_w = 2;
  Conv2D same(o, QuantConfig{4, true});
  BuildInfo info;
  info.name = "c";
  auto out = same.Build(Shape{7, 8, 3}, info);
  REQUIRE(out.ok());
  CHECK(out.value() == Shape{4, 4, 4});
  o.padding.mode = Padding::Mode::kValid;
  o.kh = o.kw = 9;
  Conv2D too_big(o, QuantConfig{4, true});
  auto bad = too_big.Build(Shape{7, 8, 3}, info);
  REQUIRE(!bad.ok());
  CHECK(bad.status().message().find("does not fit") != std::string::npos);
  Conv2D flat(o, QuantConfig{4, true});
  CHECK(!flat.Build(Shape{7, 8}, info).ok());
}

TEST_CASE("quantized conv2d forward equals the fake-quant oracle", "[engine][nn][quant]") {
  Conv2DOptions o;
  o.filters = 5;
  o.kh = o.kw = 3;
  o.padding.mode = Padding::Mode::kSame;
  for (int bits : {2, 4, 8}) {
    for (bool non_negative : {true, false}) {
      INFO("bits " << bits << " non_negative " << non_negative);
      Conv2D conv(o, QuantConfig{bits, true});
      BuildInfo info;
      info.name = "c";
      info.input_non_negative = non_negative;
      REQUIRE(conv.Build(Shape{6, 5, 3}, info).ok());
      Rng rng(bits + 20 * non_negative);
      conv.Init(rng);
      for (float& b : conv.core().bias().value.values()) b = rng.Uniform(-0.5f, 0.5f);
      Tensor x(Shape{2, 6, 5, 3});
      for (float& v : x.values()) v = non_negative ? rng.Uniform(0, 2) : rng.Uniform(-2, 2);
      Tensor y;
      conv.Forward(x, &y, Mode::kTrain);
      REQUIRE(y.shape() == Shape{2, 6, 5, 5});

      // Oracle: float convolution (the float path of another layer) on dequantized values.
      Conv2D oracle(o, QuantConfig{32, true});
      REQUIRE(oracle.Build(Shape{6, 5, 3}, info).ok());
      const WeightQuantizer& wq = conv.core().weight_quantizer();
      for (size_t i = 0; i < wq.dequantized().size(); i++) {
        oracle.core().weight().value[i] = wq.dequantized()[i];
      }
      oracle.core().bias().value = conv.core().bias().value;
      Tensor x_hat, y_oracle;
      conv.core().input_quantizer().Dequantize(&x_hat);
      oracle.Forward(x_hat, &y_oracle, Mode::kEval);
      for (size_t i = 0; i < y.size(); i++) {
        REQUIRE(std::fabs(y[i] - y_oracle[i]) <= 1e-5f * (1 + std::fabs(y_oracle[i])));
      }
    }
  }
}

}  // namespace
}  // namespace qf::nn

namespace qf::nn {
namespace {

TEST_CASE("depthwise conv2d float gradients match finite differences", "[engine][nn]") {
  for (size_t stride : {1, 2}) {
    DepthwiseOptions o;
    o.stride_h = o.stride_w = stride;
    o.padding.mode = Padding::Mode::kSame;
    DepthwiseConv2D dw(o, QuantConfig{32, true});
    Built(dw, Shape{5, 6, 3}, 30);
    Rng rng(31);
    for (float& b : dw.bias().value.values()) b = rng.Uniform(-1, 1);
    test::CheckGradients(dw, test::RandomTensor(Shape{2, 5, 6, 3}, rng), 32);
  }
}

TEST_CASE("quantized depthwise conv2d forward equals the fake-quant oracle",
          "[engine][nn][quant]") {
  DepthwiseOptions o;
  o.padding.mode = Padding::Mode::kSame;
  for (int bits : {2, 4, 8}) {
    INFO("bits " << bits);
    DepthwiseConv2D dw(o, QuantConfig{bits, true});
    BuildInfo info;
    info.name = "d";
    REQUIRE(dw.Build(Shape{5, 4, 19}, info).ok());
    Rng rng(40 + bits);
    dw.Init(rng);
    for (float& b : dw.bias().value.values()) b = rng.Uniform(-0.5f, 0.5f);
    Tensor x(Shape{2, 5, 4, 19});
    for (float& v : x.values()) v = rng.Uniform(-2, 2);
    Tensor y;
    dw.Forward(x, &y, Mode::kTrain);
    DepthwiseConv2D oracle(o, QuantConfig{32, true});
    REQUIRE(oracle.Build(Shape{5, 4, 19}, info).ok());
    const Tensor& w_hat = dw.weight_quantizer().dequantized();
    for (size_t i = 0; i < w_hat.size(); i++) oracle.weight().value[i] = w_hat[i];
    oracle.bias().value = dw.bias().value;
    Tensor x_hat, y_oracle;
    dw.input_quantizer().Dequantize(&x_hat);
    oracle.Forward(x_hat, &y_oracle, Mode::kEval);
    REQUIRE(y.shape() == y_oracle.shape());
    for (size_t i = 0; i < y.size(); i++) {
      REQUIRE(std::fabs(y[i] - y_oracle[i]) <= 1e-5f * (1 + std::fabs(y_oracle[i])));
    }
  }
}

}  // namespace
}  // namespace qf::nn

namespace qf::nn {
namespace {

TEST_CASE("an eval forward between train forward and backward changes no gradient",
          "[engine][nn][quant]") {
  auto gradients = [](bool eval_in_between) {
    Conv2DOptions o;
    o.filters = 3;
    o.padding.mode = Padding::Mode::kSame;
    Conv2D conv(o, QuantConfig{4, true});
    BuildInfo info;
    info.name = "c";
    REQUIRE(conv.Build(Shape{4, 4, 2}, info).ok());
    Rng rng(50);
    conv.Init(rng);
    Tensor x = test::RandomTensor(Shape{2, 4, 4, 2}, rng),
           other = test::RandomTensor(Shape{3, 4, 4, 2}, rng);
    Tensor y, dy, dx;
    conv.Forward(x, &y, Mode::kTrain);
    if (eval_in_between) conv.Forward(other, &dy, Mode::kEval);
    dy = Tensor(y.shape(), 0.5f);
    conv.Backward(dy, &dx);
    std::vector<Param*> params;
    conv.CollectParams(&params);
    std::vector<float> all = dx.values();
    for (Param* p : params) all.insert(all.end(), p->grad.values().begin(), p->grad.values().end());
    return all;
  };
  CHECK(gradients(false) == gradients(true));
}

}  // namespace
}  // namespace qf::nn

namespace qf::nn {
namespace {

TEST_CASE("eval folds a BatchNorm into the preceding quantized layer's epilogue",
          "[engine][nn][quant]") {
  for (bool depthwise : {false, true}) {
    INFO("depthwise " << depthwise);
    auto make = [&](int bits) {
      auto net = std::make_unique<Sequential>();
      if (depthwise) {
        DepthwiseOptions o;
        o.padding.mode = Padding::Mode::kSame;
        net->Add(std::make_unique<DepthwiseConv2D>(o, QuantConfig{bits, true}));
      } else {
        Conv2DOptions o;
        o.filters = 4;
        o.padding.mode = Padding::Mode::kSame;
        net->Add(std::make_unique<Conv2D>(o, QuantConfig{bits, true}));
      }
      net->Add(std::make_unique<BatchNorm>());
      return net;
    };
    auto net = make(4);
    BuildInfo info;
    info.name = "f";
    REQUIRE(net->Build(Shape{5, 5, 3}, info).ok());
    Rng rng(60);
    net->Init(rng);
    Tensor x = test::RandomTensor(Shape{6, 5, 5, 3}, rng), y;
    for (int step = 0; step < 3; step++) net->Forward(x, &y, Mode::kTrain);  // running stats move
    Tensor folded, conv_out, unfolded;
    net->Forward(x, &folded, Mode::kEval);
    net->layer(0).Forward(x, &conv_out, Mode::kEval);
    net->layer(1).Forward(conv_out, &unfolded, Mode::kEval);
    REQUIRE(folded.shape() == unfolded.shape());
    for (size_t i = 0; i < folded.size(); i++) {
      REQUIRE(std::fabs(folded[i] - unfolded[i]) <= 1e-4f * (1 + std::fabs(unfolded[i])));
    }
  }
}

}  // namespace
}  // namespace qf::nn
