// Dense (fully connected) layer: y = x W + b with W stored in x out. Any per-sample
// input shape is flattened. Runs on LinearCore as a 1x1 convolution of a 1x1 image,
// so quantized it is the u8 x s8 GEMM with a float epilogue.
#pragma once

#include "nn/layer.h"
#include "nn/linear_core.h"

namespace qf::nn {

class Dense : public Layer {
 public:
  Dense(size_t units, QuantConfig quant) : units_(units), quant_(quant) {}

  const char* type() const override { return "dense"; }
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  void Init(Rng& rng) override { core_.Init(rng); }
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  bool ForwardFolded(const Tensor& x, Tensor* y, const std::vector<float>& scale,
                     const std::vector<float>& shift) override;
  void Backward(const Tensor& dy, Tensor* dx) override;
  void CollectParams(std::vector<Param*>* out) override { core_.CollectParams(out); }
  void CollectState(StateVisitor* visitor) override { core_.CollectState(visitor); }
  void OnParamsChanged() override { core_.OnParamsChanged(); }

  size_t units() const { return units_; }
  const QuantConfig& quant() const { return quant_; }
  LinearCore& core() { return core_; }
  Param& weight() { return core_.weight(); }
  Param& bias() { return core_.bias(); }
  WeightQuantizer& weight_quantizer() { return core_.weight_quantizer(); }
  InputQuantizer& input_quantizer() { return core_.input_quantizer(); }

 private:
  size_t units_;
  QuantConfig quant_;
  Shape input_;
  LinearCore core_;
};

}  // namespace qf::nn
