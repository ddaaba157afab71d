// Dense/Conv2D machinery: int8 forward, float backward.
#include "nn/linear_core.h"

#include <cmath>
#include <memory>

#include "core/thread_pool.h"
#include "kernels/conv2d/im2col_f32.h"
#include "kernels/conv2d_grad/conv2d_grad.h"
#include "kernels/f32_gemm/f32_gemm.h"

namespace qf::nn {

using kernels::Trans;

Status LinearCore::Configure(const kernels::Conv2DShape& geometry, const QuantConfig& quant,
                             const BuildInfo& info) {
  geometry_ = geometry;
  geometry_.n = 1;
  quant_ = quant;
  if (!geometry_.Valid()) {
    return InvalidArgument(
        info.name + ": a " + std::to_string(geometry.kh) + "x" + std::to_string(geometry.kw) +
        " window with stride " + std::to_string(geometry.stride_h) + " does not fit a " +
        std::to_string(geometry.in_h) + "x" + std::to_string(geometry.in_w) + "x" +
        std::to_string(geometry.cin) + " input with " + std::to_string(geometry.cout) +
        " outputs (or the window depth exceeds " + std::to_string(kernels::kMaxGemmDepth) + ")");
  }
  const size_t depth = geometry_.depth(), cout = geometry_.cout;
  const size_t positions = geometry_.out_h() * geometry_.out_w();  // Valid(): no overflow
  QF_RETURN_IF_ERROR(TakeParams(info, depth + 1, cout));           // weights and bias
  QF_RETURN_IF_ERROR(TakeOps(info, positions, depth, cout));
  // A float layer's forward, and the im2col gradient kernels (conv2d_grad.h), allocate a
  // float im2col matrix for the call (the direct ones less).
  if (!kernels::Im2ColIsIdentity(geometry_)) {
    QF_RETURN_IF_ERROR(TakeScratch(
        info, uint64_t(positions) * depth,
        "an im2col matrix of " + std::to_string(positions) + " x " + std::to_string(depth)));
  }
  weight_ = {info.name + ".weight", Param::Kind::kWeight, Tensor(Shape{depth, cout}),
             Tensor(Shape{depth, cout})};
  bias_ = {info.name + ".bias", Param::Kind::kBias, Tensor(Shape{cout}), Tensor(Shape{cout})};
  if (quant_.quantized()) {
    wq_.Configure(quant_, depth, cout, info.name);
    ConfigureInputQuantizer(info, quant_, &iq_);
    kernels_ = kernels::GemmKernelsFor(kernels::BestIsa());
  }
  packed_valid_ = false;
  return OkStatus();
}

kernels::Conv2DShape LinearCore::Batch(size_t n) const {
  kernels::Conv2DShape s = geometry_;
  s.n = n;
  return s;
}

void LinearCore::Init(Rng& rng) {
  const float std = std::sqrt(2.0f / float(geometry_.depth()));
  for (float& w : weight_.value.values()) w = std * rng.Normal();
  bias_.value.Fill(0.0f);
  if (quant_.quantized()) wq_.InitSteps(weight_.value);
  packed_valid_ = false;
}

void LinearCore::Forward(const Tensor& x, Tensor* y, Mode mode) {
  const kernels::Conv2DShape s = Batch(x.shape()[0]);
  const size_t rows = s.out_rows(), cout = s.cout;
  y->Resize(Shape{rows, cout});
  if (KeepsCaches(mode)) x_ = &x;
  if (!quant_.quantized()) {
    const float* a = x.data();
    std::unique_ptr<float[]> cols;  // not zero-filled: Im2ColF32 writes every element
    if (!kernels::Im2ColIsIdentity(s)) {
      cols.reset(new float[rows * s.depth()]);
      kernels::Im2ColF32(s, x.data(), cols.get());
      a = cols.get();
    }
    kernels::F32GemmFor(kernels::BestIsa())(Trans::kNo, Trans::kNo, rows, cout, s.depth(), a,
                                            s.depth(), weight_.value.data(), cout, y->data(), cout,
                                            false);
    for (size_t i = 0; i < rows; i++) {
      for (size_t j = 0; j < cout; j++) (*y)[i * cout + j] += bias_.value[j];
    }
    return;
  }
  ForwardQuantized(x, y, mode, nullptr, nullptr);
}

bool LinearCore::ForwardFolded(const Tensor& x, Tensor* y, const std::vector<float>& scale,
                               const std::vector<float>& shift) {
  if (!quant_.quantized()) return false;
  y->Resize(Shape{Batch(x.shape()[0]).out_rows(), geometry_.cout});
  ForwardQuantized(x, y, Mode::kEval, &scale, &shift);
  return true;
}

void LinearCore::ForwardQuantized(const Tensor& x, Tensor* y, Mode mode,
                                  const std::vector<float>* fold_scale,
                                  const std::vector<float>* fold_shift) {
  const kernels::Conv2DShape s = Batch(x.shape()[0]);
  const QuantizedInput in = iq_.Quantize(x, mode);
  if (!packed_valid_) {
    wq_.Quantize(weight_.value);
    packed_ = kernels::PackConv2DWeights(kernels_, geometry_, wq_.codes().data());
    packed_valid_ = true;
  }
  epilogue_.Set(in.step, wq_, bias_.value, fold_scale, fold_shift);
  kernels::Conv2DU8S8(
      kernels_, s, in.codes.data(), iq_.zero_point(), packed_,
      kernels::OutputF32{y->data(), s.cout, epilogue_.scale.data(), epilogue_.bias.data()});
}

void LinearCore::Backward(const Tensor& dy, Tensor* dx) {
  const kernels::Conv2DShape s = Batch(x_->shape()[0]);
  const size_t rows = s.out_rows(), cout = s.cout;
  const kernels::Conv2DGradKernel& grad = kernels::Conv2DGradFor(kernels::BestIsa());
  SumRows(rows, cout, bias_.grad.data(), [&](size_t i, float* acc) {
    for (size_t j = 0; j < cout; j++) acc[j] += dy[i * cout + j];
  });
  // The forward in float terms: y = conv(x_hat, w_hat) + b, with x_hat = x and w_hat = w
  // when not quantized.
  Tensor x_hat_storage;
  const Tensor* x_hat = x_;
  if (quant_.quantized()) {
    iq_.Dequantize(&x_hat_storage);
    x_hat = &x_hat_storage;
  }
  const float* w_hat = quant_.quantized() ? wq_.dequantized().data() : weight_.value.data();

  Tensor dw_hat(weight_.value.shape());
  grad.weight(s, x_hat->data(), dy.data(), dw_hat.data());
  if (quant_.quantized()) {
    Tensor dw(weight_.value.shape());
    wq_.Backward(weight_.value, dw_hat, &dw);
    dw_hat = std::move(dw);
  }
  for (size_t i = 0; i < dw_hat.size(); i++) weight_.grad[i] += dw_hat[i];

  // The input gradient is needed for dx, and for the input step even without dx.
  if (!dx && !(quant_.quantized() && !iq_.fixed())) return;
  Tensor dx_hat(x_->shape());
  grad.input(s, dy.data(), w_hat, dx_hat.data());
  if (!quant_.quantized()) {
    *dx = std::move(dx_hat);
    return;
  }
  Tensor scratch;
  iq_.Backward(*x_, dx_hat, x_->size() / x_->shape()[0], dx ? dx : &scratch);
}

void LinearCore::CollectParams(std::vector<Param*>* out) {
  CollectWeightedLayerParams(quant_, &weight_, &bias_, &wq_, &iq_, out);
}

}  // namespace qf::nn
