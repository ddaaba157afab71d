// Dense layer: integer forward, float backward through the LSQ quantizers.
#include "nn/dense.h"

#include <cmath>

#include "kernels/f32_gemm/f32_gemm.h"

namespace qf::nn {

using kernels::Trans;

StatusOr<Shape> Dense::Build(const Shape& input, const BuildInfo& info) {
  const std::string& name = info.name;
  features_ = input.size();
  if (features_ == 0 || units_ == 0) {
    return InvalidArgument(name + ": dense needs a non-empty input and units >= 1, got input " +
                           input.ToString() + " and units " + std::to_string(units_));
  }
  if (features_ > kernels::kMaxGemmDepth) {
    return InvalidArgument(name + ": dense input has " + std::to_string(features_) +
                           " features, more than the " + std::to_string(kernels::kMaxGemmDepth) +
                           " an int32 accumulator allows");
  }
  weight_ = {name + ".weight", Param::Kind::kWeight, Tensor(Shape{features_, units_}),
             Tensor(Shape{features_, units_})};
  bias_ = {name + ".bias", Param::Kind::kBias, Tensor(Shape{units_}), Tensor(Shape{units_})};
  if (quant_.quantized()) {
    wq_.Configure(quant_, features_, units_, name);
    ConfigureInputQuantizer(info, &iq_);
    kernels_ = kernels::GemmKernelsFor(kernels::BestIsa());
  }
  return Shape{units_};
}

void Dense::Init(Rng& rng) {
  const float std = std::sqrt(2.0f / float(features_));  // He initialization for ReLU nets
  for (float& w : weight_.value.values()) w = std * rng.Normal();
  bias_.value.Fill(0.0f);
  if (quant_.quantized()) wq_.InitSteps(weight_.value);
  packed_valid_ = false;
}

void Dense::PackWeights() {
  wq_.Quantize(weight_.value);
  packed_ = kernels::PackedWeights(kernels_, features_, units_, wq_.codes().data(), units_);
  packed_valid_ = true;
}

void Dense::Forward(const Tensor& x, Tensor* y, Mode mode) {
  const size_t n = x.shape()[0];
  y->Resize(Shape{n, units_});
  if (mode == Mode::kTrain) x_ = x;
  if (!quant_.quantized()) {
    kernels::F32GemmFor(kernels::BestIsa())(Trans::kNo, Trans::kNo, n, units_, features_, x.data(),
                                            features_, weight_.value.data(), units_, y->data(),
                                            units_, false);
    for (size_t i = 0; i < n; i++) {
      for (size_t j = 0; j < units_; j++) (*y)[i * units_ + j] += bias_.value[j];
    }
    return;
  }
  iq_.Quantize(x);
  if (!packed_valid_) PackWeights();
  epilogue_scale_.resize(units_);
  for (size_t j = 0; j < units_; j++) epilogue_scale_[j] = iq_.step() * wq_.step(j);
  kernels::GemmU8S8(kernels_, n, iq_.codes().data(), features_, iq_.zero_point(), packed_,
                    kernels::OutputF32{y->data(), units_, epilogue_scale_.data(),
                                       bias_.value.data()});
}

void Dense::Backward(const Tensor& dy, Tensor* dx) {
  const size_t n = dy.shape()[0];
  const auto gemm = kernels::F32GemmFor(kernels::BestIsa());
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < units_; j++) bias_.grad[j] += dy[i * units_ + j];
  }
  if (!quant_.quantized()) {
    gemm(Trans::kYes, Trans::kNo, features_, units_, n, x_.data(), features_, dy.data(), units_,
         weight_.grad.data(), units_, true);
    if (dx) {
      dx->Resize(x_.shape());
      gemm(Trans::kNo, Trans::kYes, n, features_, units_, dy.data(), units_, weight_.value.data(),
           units_, dx->data(), features_, false);
    }
    return;
  }
  // Through the fake-quant graph: y = x_hat w_hat + b.
  Tensor x_hat;
  iq_.Dequantize(&x_hat);
  Tensor dw_hat(weight_.value.shape());
  gemm(Trans::kYes, Trans::kNo, features_, units_, n, x_hat.data(), features_, dy.data(), units_,
       dw_hat.data(), units_, false);
  Tensor dw(weight_.value.shape());
  wq_.Backward(weight_.value, dw_hat, &dw);
  for (size_t i = 0; i < dw.size(); i++) weight_.grad[i] += dw[i];
  Tensor dx_hat(x_.shape());
  gemm(Trans::kNo, Trans::kYes, n, features_, units_, dy.data(), units_,
       wq_.dequantized().data(), units_, dx_hat.data(), features_, false);
  Tensor scratch;
  iq_.Backward(x_, dx_hat, features_, dx ? dx : &scratch);
}

void Dense::CollectParams(std::vector<Param*>* out) {
  out->push_back(&weight_);
  out->push_back(&bias_);
  if (quant_.quantized()) {
    out->push_back(&wq_.steps());
    if (!iq_.fixed()) out->push_back(&iq_.step_param());
  }
}

}  // namespace qf::nn
