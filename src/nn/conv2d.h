// Conv2D layer, NHWC: weights [KH, KW, Cin, Cout] (stored as [KH*KW*Cin, Cout]), stride,
// padding ("valid", "same" as TensorFlow computes it, or explicit). Runs on LinearCore:
// quantized, im2col + the u8 x s8 GEMM with a float epilogue.
#pragma once

#include "nn/layer.h"
#include "nn/linear_core.h"
#include "nn/padding.h"

namespace qf::nn {

struct Conv2DOptions {
  size_t filters = 0;
  size_t kh = 3, kw = 3;
  size_t stride_h = 1, stride_w = 1;
  Padding padding;
};

class Conv2D : public Layer {
 public:
  Conv2D(Conv2DOptions options, QuantConfig quant) : options_(options), quant_(quant) {}

  const char* type() const override { return "conv2d"; }
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  void Init(Rng& rng) override { core_.Init(rng); }
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  bool ForwardFolded(const Tensor& x, Tensor* y, const std::vector<float>& scale,
                     const std::vector<float>& shift) override;
  void Backward(const Tensor& dy, Tensor* dx) override { core_.Backward(dy, dx); }
  void CollectParams(std::vector<Param*>* out) override { core_.CollectParams(out); }
  void CollectState(StateVisitor* visitor) override { core_.CollectState(visitor); }
  void OnParamsChanged() override { core_.OnParamsChanged(); }

  const Conv2DOptions& options() const { return options_; }
  const QuantConfig& quant() const { return quant_; }
  LinearCore& core() { return core_; }

 private:
  Conv2DOptions options_;
  QuantConfig quant_;
  Shape output_;
  LinearCore core_;
};

}  // namespace qf::nn
