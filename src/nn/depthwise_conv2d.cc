// DepthwiseConv2D: int8 forward, float backward.
#include "nn/depthwise_conv2d.h"

#include <cmath>

#include "kernels/dwconv/f32.h"

namespace qf::nn {

StatusOr<Shape> DepthwiseConv2D::Build(const Shape& input, const BuildInfo& info) {
  if (input.rank() != 3) {
    return InvalidArgument(info.name + ": depthwise_conv2d needs H x W x C inputs, got " +
                           input.ToString());
  }
  kernels::DwConvShape& g = geometry_;
  g.n = 1;
  g.in_h = input[0];
  g.in_w = input[1];
  g.c = input[2];
  g.kh = options_.kh;
  g.kw = options_.kw;
  g.stride_h = options_.stride_h;
  g.stride_w = options_.stride_w;
  if (g.stride_h == 0 || g.stride_w == 0) {
    return InvalidArgument(info.name + ": depthwise_conv2d needs strides >= 1");
  }
  const Pads pads =
      ResolvePadding(options_.padding, g.in_h, g.in_w, g.kh, g.kw, g.stride_h, g.stride_w);
  g.pad_top = pads.top;
  g.pad_left = pads.left;
  g.pad_bottom = pads.bottom;
  g.pad_right = pads.right;
  if (!g.Valid()) {
    return InvalidArgument(info.name + ": a " + std::to_string(g.kh) + "x" + std::to_string(g.kw) +
                           " depthwise window with stride " + std::to_string(g.stride_h) +
                           " does not fit a " + input.ToString() + " input");
  }
  const size_t taps = g.kh * g.kw;
  QF_RETURN_IF_ERROR(TakeParams(info, taps + 1, g.c));                  // weights and bias
  QF_RETURN_IF_ERROR(TakeOps(info, g.out_h() * g.out_w(), g.c, taps));  // Valid(): no overflow
  weight_ = {info.name + ".weight", Param::Kind::kWeight, Tensor(Shape{taps, g.c}),
             Tensor(Shape{taps, g.c})};
  bias_ = {info.name + ".bias", Param::Kind::kBias, Tensor(Shape{g.c}), Tensor(Shape{g.c})};
  if (quant_.quantized()) {
    wq_.Configure(quant_, taps, g.c, info.name);
    ConfigureInputQuantizer(info, quant_, &iq_);
    kernels_ = kernels::DwConvConfigFor(kernels::BestIsa());
  }
  output_ = Shape{g.out_h(), g.out_w(), g.c};
  return output_;
}

kernels::DwConvShape DepthwiseConv2D::Batch(size_t n) const {
  kernels::DwConvShape s = geometry_;
  s.n = n;
  return s;
}

void DepthwiseConv2D::Init(Rng& rng) {
  const float std = std::sqrt(2.0f / float(geometry_.kh * geometry_.kw));
  for (float& w : weight_.value.values()) w = std * rng.Normal();
  bias_.value.Fill(0.0f);
  if (quant_.quantized()) wq_.InitSteps(weight_.value);
}

void DepthwiseConv2D::Forward(const Tensor& x, Tensor* y, Mode mode) {
  const kernels::DwConvShape s = Batch(x.shape()[0]);
  y->Resize(output_.WithBatch(s.n));
  if (KeepsCaches(mode)) x_ = &x;
  if (!quant_.quantized()) {
    kernels::DwConvF32(s, x.data(), weight_.value.data(), bias_.value.data(), y->data());
    return;
  }
  ForwardQuantized(x, y, mode, nullptr, nullptr);
}

bool DepthwiseConv2D::ForwardFolded(const Tensor& x, Tensor* y, const std::vector<float>& scale,
                                    const std::vector<float>& shift) {
  if (!quant_.quantized()) return false;
  y->Resize(output_.WithBatch(x.shape()[0]));
  ForwardQuantized(x, y, Mode::kEval, &scale, &shift);
  return true;
}

void DepthwiseConv2D::ForwardQuantized(const Tensor& x, Tensor* y, Mode mode,
                                       const std::vector<float>* fold_scale,
                                       const std::vector<float>* fold_shift) {
  const kernels::DwConvShape s = Batch(x.shape()[0]);
  const QuantizedInput in = iq_.Quantize(x, mode);
  wq_.Quantize(weight_.value);  // tiny (KH*KW*C): no packing to cache
  epilogue_.Set(in.step, wq_, bias_.value, fold_scale, fold_shift);
  kernels::DwConvU8S8(
      kernels_, s, in.codes.data(), iq_.zero_point(), wq_.codes().data(),
      kernels::OutputF32{y->data(), s.c, epilogue_.scale.data(), epilogue_.bias.data()});
}

void DepthwiseConv2D::Backward(const Tensor& dy, Tensor* dx) {
  const kernels::DwConvShape s = Batch(x_->shape()[0]);
  const size_t rows = s.out_rows();
  for (size_t i = 0; i < rows; i++) {
    for (size_t c = 0; c < s.c; c++) bias_.grad[c] += dy[i * s.c + c];
  }
  const bool quantized = quant_.quantized();
  Tensor x_hat;
  if (quantized) iq_.Dequantize(&x_hat);
  const Tensor& x_used = quantized ? x_hat : *x_;
  const float* w_used = quantized ? wq_.dequantized().data() : weight_.value.data();
  const bool need_dx = dx || (quantized && !iq_.fixed());
  Tensor dx_hat(need_dx ? x_->shape() : Shape{0});
  Tensor dw_hat(weight_.value.shape());
  kernels::DwConvF32BackwardAccumulate(s, x_used.data(), w_used, dy.data(),
                                       need_dx ? dx_hat.data() : nullptr, dw_hat.data());
  if (quantized) {
    Tensor dw(weight_.value.shape());
    wq_.Backward(weight_.value, dw_hat, &dw);
    dw_hat = std::move(dw);
  }
  for (size_t i = 0; i < dw_hat.size(); i++) weight_.grad[i] += dw_hat[i];
  if (!need_dx) return;
  if (!quantized) {
    *dx = std::move(dx_hat);
    return;
  }
  Tensor scratch;
  iq_.Backward(*x_, dx_hat, x_->size() / x_->shape()[0], dx ? dx : &scratch);
}

void DepthwiseConv2D::CollectState(StateVisitor* visitor) {
  VisitWeightedLayerState(quant_, &weight_, &bias_, &wq_, &iq_, visitor);
}

void DepthwiseConv2D::CollectParams(std::vector<Param*>* out) {
  CollectWeightedLayerParams(quant_, &weight_, &bias_, &wq_, &iq_, out);
}

}  // namespace qf::nn
