// Quantized layers' gradients against finite differences: Dense, Conv2D and
// DepthwiseConv2D with 2/4/8-bit weights per channel and per tensor, inputs with zero
// point 0 and 128; dL/dx, dL/dw, dL/db and LSQ's step-size gradients of weights and input.
// Not the float layer checks (layers_test.cc) nor the LSQ formulas alone (quant/lsq_test.cc).
//
// Rounding has a zero derivative almost everywhere, so finite differences of the integer
// forward say nothing. What the straight-through estimator and LSQ differentiate exactly
// is the fake-quant forward with every value's rounding residual and clip side frozen as
// they are at the point of the check (v0 = w0 / s0):
//   w_hat(w, s) = w + s * (round(v0) - v0)   if qn <= v0 <= qp
//               = s * qn  or  s * qp         where v0 clips,
// and the same for the input, x_hat(x, s_a), with qn = -zp and qp = 255 - zp. At the point
// it is the fake-quant forward, which must equal the layer's integer forward (checked). It
// is written here from that definition and run through the layer's float twin (same
// geometry, 32-bit), then differenced numerically; LSQ scales a step's gradient by
// 1/sqrt(n * Qp) (n: the weights sharing the step; for the input step, values per sample).
#include <algorithm>
#include <catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/depthwise_conv2d.h"
#include "nn/gradcheck.h"

namespace qf::nn {
namespace {

// A quantized layer and its float twin, with the parts the check reads and perturbs.
struct Pair {
  Layer& layer;
  Param &weight, &bias;
  WeightQuantizer& wq;
  InputQuantizer& iq;
  Layer& twin;
  Param &twin_weight, &twin_bias;
};

// One quantizer's frozen parts at the point of the check: for each value, whether it was
// inside [qn, qp], its rounding residual round(v0) - v0 there, and its clip level outside.
struct Frozen {
  std::vector<bool> inside;
  std::vector<double> residual, clip;
  size_t inside_count = 0;

  void Add(double value, double step, double qn, double qp) {
    const double v = value / step;
    inside.push_back(v >= qn && v <= qp);
    residual.push_back(std::nearbyint(v) - v);
    clip.push_back(v < qn ? qn : qp);
    inside_count += inside.back();
  }
  // The surrogate value of element i at `value` with step `step`.
  double At(size_t i, double value, double step) const {
    return inside[i] ? value + step * residual[i] : step * clip[i];
  }
  size_t size() const { return inside.size(); }
};

// The surrogate loss sum(y .* r), y = twin(x_hat, w_hat) + b, from the current values.
class Surrogate {
 public:
  Surrogate(Pair& p, const Tensor& x, const Tensor& r) : p_(p), r_(r) {
    const WeightQuantizer& wq = p.wq;
    const quant::QRange wr = quant::SignedRange(wq.config().weight_bits);
    const size_t channels = p.weight.value.shape()[1];
    for (size_t i = 0; i < p.weight.value.size(); i++) {
      w_.Add(p.weight.value[i], StepOf(i, channels), wr.qn, wr.qp);
    }
    const quant::QRange ar = p.iq.range();
    for (size_t i = 0; i < x.size(); i++) x_.Add(x[i], p.iq.step(), ar.qn, ar.qp);
  }

  double Loss(const Tensor& x, Tensor* y = nullptr) {
    const size_t channels = p_.weight.value.shape()[1];
    for (size_t i = 0; i < w_.size(); i++) {
      p_.twin_weight.value[i] = float(w_.At(i, p_.weight.value[i], StepOf(i, channels)));
    }
    p_.twin_bias.value = p_.bias.value;
    Tensor x_hat(x.shape());
    for (size_t i = 0; i < x.size(); i++) x_hat[i] = float(x_.At(i, x[i], p_.iq.step()));
    p_.twin.OnParamsChanged();
    Tensor out;
    p_.twin.Forward(x_hat, &out, Mode::kEval);
    double sum = 0;
    for (size_t i = 0; i < out.size(); i++) sum += double(out[i]) * r_[i];
    if (y) *y = std::move(out);
    return sum;
  }

  const Frozen& weights() const { return w_; }
  const Frozen& inputs() const { return x_; }

 private:
  double StepOf(size_t i, size_t channels) const {
    return p_.wq.steps().value[p_.wq.config().per_channel ? i % channels : 0];
  }

  Pair& p_;
  const Tensor& r_;
  Frozen w_, x_;
};

// Steps that clip the values furthest out (per channel, or per tensor; and the input), so
// both sides of every straight-through mask are exercised; then the check.
void CheckQuantizedGradients(Pair p, Tensor x, uint64_t seed) {
  Rng rng(seed);
  Tensor y;
  p.layer.Forward(x, &y, Mode::kTrain);  // initializes the input step from this batch
  const int bits = p.wq.config().weight_bits;
  const quant::QRange wr = quant::SignedRange(bits);
  const size_t rows = p.weight.value.shape()[0], channels = p.weight.value.shape()[1];
  Tensor& steps = p.wq.steps().value;
  // The smallest step that clips nothing, over 1.25 (and a little less per channel).
  auto unclipped = [](double value, double qn, double qp) {
    return value > 0 ? value / qp : value < 0 ? value / qn : 0.0;
  };
  for (size_t k = 0; k < steps.size(); k++) {
    double top = 0;
    for (size_t i = 0; i < p.weight.value.size(); i++) {
      if (steps.size() == 1 || i % channels == k) {
        top = std::max(top, unclipped(p.weight.value[i], wr.qn, wr.qp));
      }
    }
    steps[k] = float(0.8 * top * (1.0 - 0.05 * double(k)));
  }
  const quant::QRange ar = p.iq.range();
  double top_x = 0;
  for (float v : x.values()) top_x = std::max(top_x, unclipped(v, ar.qn, ar.qp));
  p.iq.step_param().value[0] = float(0.8 * top_x);
  for (float& b : p.bias.value.values()) b = rng.Uniform(-0.5f, 0.5f);
  p.layer.OnParamsChanged();

  // The analytic gradients at the point.
  p.layer.Forward(x, &y, Mode::kTrain);
  Tensor r(y.shape());
  for (float& v : r.values()) v = rng.Uniform(-1.0f, 1.0f);
  std::vector<Param*> params;
  p.layer.CollectParams(&params);
  REQUIRE(params.size() == 4);  // weight, bias, weight steps, input step
  for (Param* q : params) q->grad.Fill(0.0f);
  Tensor dx;
  p.layer.Backward(r, &dx);
  REQUIRE(dx.shape() == x.shape());

  Surrogate s(p, x, r);
  INFO("weights inside the grid " << s.weights().inside_count << " of " << s.weights().size()
                                  << ", inputs " << s.inputs().inside_count << " of "
                                  << s.inputs().size());
  REQUIRE(s.weights().inside_count > 0);
  REQUIRE(s.weights().inside_count < s.weights().size());
  REQUIRE(s.inputs().inside_count > 0);
  REQUIRE(s.inputs().inside_count < s.inputs().size());
  // At the point the surrogate is the layer's integer forward.
  Tensor y_surrogate;
  s.Loss(x, &y_surrogate);
  REQUIRE(y_surrogate.shape() == y.shape());
  for (size_t i = 0; i < y.size(); i++) {
    REQUIRE(std::fabs(y[i] - y_surrogate[i]) <= 1e-5f * (1 + std::fabs(y_surrogate[i])));
  }

  // Central differences. The surrogate is linear in each probed value, so only float
  // rounding separates the two: of the loss over up to 240 outputs, divided by 2 eps.
  // Measured natively: at most 7.5e-5 absolute error; atol 3e-4.
  const double eps = 1e-2;
  const test::GradTolerance tolerance{2e-3, 3e-4};
  auto probe = [&](float* value, double analytic, double scale, const std::string& what) {
    const float saved = *value;
    *value = float(saved + eps);
    const double plus = s.Loss(x);
    *value = float(saved - eps);
    const double minus = s.Loss(x);
    *value = saved;
    test::CheckGradient(analytic, scale * (plus - minus) / (2 * eps), tolerance, what);
  };
  const size_t x_step = std::max<size_t>(1, x.size() / 64);
  for (size_t i = 0; i < x.size(); i += x_step) {
    probe(&x[i], dx[i], 1.0, "dL/dx[" + std::to_string(i) + "]");
  }
  const size_t w_step = std::max<size_t>(1, p.weight.value.size() / 64);
  for (size_t i = 0; i < p.weight.value.size(); i += w_step) {
    probe(&p.weight.value[i], p.weight.grad[i], 1.0, "dL/dw[" + std::to_string(i) + "]");
  }
  for (size_t c = 0; c < p.bias.value.size(); c++) {
    probe(&p.bias.value[c], p.bias.grad[c], 1.0, "dL/db[" + std::to_string(c) + "]");
  }
  const double per_step = double(steps.size() == 1 ? rows * channels : rows);
  for (size_t k = 0; k < steps.size(); k++) {
    probe(&steps[k], p.wq.steps().grad[k], 1.0 / std::sqrt(per_step * wr.qp),
          "dL/d weight_step[" + std::to_string(k) + "]");
  }
  const double features = double(x.size() / x.shape()[0]);
  probe(&p.iq.step_param().value[0], p.iq.step_param().grad[0],
        1.0 / std::sqrt(features * ar.qp), "dL/d input_step");
}

BuildInfo Info(bool non_negative) {
  BuildInfo info;
  info.name = "q";
  info.input_non_negative = non_negative;
  return info;
}

Tensor Input(const Shape& shape, bool non_negative, Rng& rng) {
  Tensor x(shape);
  for (float& v : x.values()) v = non_negative ? rng.Uniform(0.0f, 2.0f) : rng.Uniform(-2.0f, 2.0f);
  return x;
}

struct Variant {
  int bits;
  bool per_channel, non_negative;
  int activation_bits = 8;

  QuantConfig quant() const {
    QuantConfig q{bits, per_channel};
    q.activation_bits = activation_bits;
    return q;
  }
};

std::vector<Variant> Variants() {
  std::vector<Variant> all;
  for (int bits : {2, 4, 8}) {
    for (bool per_channel : {true, false}) {
      for (bool non_negative : {true, false}) all.push_back({bits, per_channel, non_negative});
    }
  }
  for (bool non_negative : {true, false}) all.push_back({4, true, non_negative, 4});
  return all;
}

TEST_CASE("quantized dense gradients match finite differences of the STE surrogate",
          "[engine][nn][quant]") {
  for (const Variant& v : Variants()) {
    INFO("bits " << v.bits << " per_channel " << v.per_channel << " non_negative "
                 << v.non_negative << " activation bits " << v.activation_bits);
    Dense dense(6, v.quant()), twin(6, QuantConfig{32, true});
    REQUIRE(dense.Build(Shape{11}, Info(v.non_negative)).ok());
    REQUIRE(twin.Build(Shape{11}, Info(v.non_negative)).ok());
    Rng rng(70 + v.bits);
    dense.Init(rng);
    CheckQuantizedGradients({dense, dense.weight(), dense.bias(), dense.weight_quantizer(),
                             dense.input_quantizer(), twin, twin.weight(), twin.bias()},
                            Input(Shape{4, 11}, v.non_negative, rng), 71);
  }
}

TEST_CASE("quantized conv2d gradients match finite differences of the STE surrogate",
          "[engine][nn][quant]") {
  struct Geometry {
    size_t k, stride;
    Padding::Mode padding;
  };
  for (const Geometry& g :
       {Geometry{3, 1, Padding::Mode::kSame}, Geometry{3, 2, Padding::Mode::kValid},
        Geometry{1, 1, Padding::Mode::kValid}}) {
    for (const Variant& v : Variants()) {
      INFO("k " << g.k << " stride " << g.stride << " bits " << v.bits << " per_channel "
                << v.per_channel << " non_negative " << v.non_negative);
      Conv2DOptions o;
      o.filters = 4;
      o.kh = o.kw = g.k;
      o.stride_h = o.stride_w = g.stride;
      o.padding.mode = g.padding;
      Conv2D conv(o, v.quant()), twin(o, QuantConfig{32, true});
      REQUIRE(conv.Build(Shape{5, 6, 3}, Info(v.non_negative)).ok());
      REQUIRE(twin.Build(Shape{5, 6, 3}, Info(v.non_negative)).ok());
      Rng rng(80 + v.bits);
      conv.Init(rng);
      CheckQuantizedGradients(
          {conv, conv.core().weight(), conv.core().bias(), conv.core().weight_quantizer(),
           conv.core().input_quantizer(), twin, twin.core().weight(), twin.core().bias()},
          Input(Shape{2, 5, 6, 3}, v.non_negative, rng), 81);
    }
  }
}

TEST_CASE("quantized depthwise conv2d gradients match finite differences of the STE surrogate",
          "[engine][nn][quant]") {
  for (size_t stride : {1, 2}) {
    for (const Variant& v : Variants()) {
      INFO("stride " << stride << " bits " << v.bits << " per_channel " << v.per_channel
                     << " non_negative " << v.non_negative);
      DepthwiseOptions o;
      o.stride_h = o.stride_w = stride;
      o.padding.mode = Padding::Mode::kSame;
      DepthwiseConv2D dw(o, v.quant()), twin(o, QuantConfig{32, true});
      REQUIRE(dw.Build(Shape{5, 6, 5}, Info(v.non_negative)).ok());
      REQUIRE(twin.Build(Shape{5, 6, 5}, Info(v.non_negative)).ok());
      Rng rng(90 + v.bits);
      dw.Init(rng);
      CheckQuantizedGradients({dw, dw.weight(), dw.bias(), dw.weight_quantizer(),
                               dw.input_quantizer(), twin, twin.weight(), twin.bias()},
                              Input(Shape{2, 5, 6, 5}, v.non_negative, rng), 91);
    }
  }
}

}  // namespace
}  // namespace qf::nn
