// Dense (fully connected) layer: y = x W + b, W stored in x out. Quantized, it runs the
// u8 x s8 GEMM on the input and weight codes with a float epilogue; in float mode an
// f32 GEMM. Input: [N, features] (any per-sample shape is flattened).
#pragma once

#include "kernels/u8s8_gemm/driver.h"
#include "nn/layer.h"
#include "nn/quantizers.h"

namespace qf::nn {

class Dense : public Layer {
 public:
  Dense(size_t units, QuantConfig quant) : units_(units), quant_(quant) {}

  const char* type() const override { return "dense"; }
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  void Init(Rng& rng) override;
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  void Backward(const Tensor& dy, Tensor* dx) override;
  void CollectParams(std::vector<Param*>* out) override;
  void OnParamsChanged() override { packed_valid_ = false; }

  size_t units() const { return units_; }
  const QuantConfig& quant() const { return quant_; }
  Param& weight() { return weight_; }
  Param& bias() { return bias_; }
  WeightQuantizer& weight_quantizer() { return wq_; }
  InputQuantizer& input_quantizer() { return iq_; }

 private:
  void PackWeights();

  size_t units_, features_ = 0;
  QuantConfig quant_;
  Param weight_, bias_;
  WeightQuantizer wq_;
  InputQuantizer iq_;
  kernels::GemmKernels kernels_{};
  kernels::PackedWeights packed_;
  bool packed_valid_ = false;
  std::vector<float> epilogue_scale_;
  Tensor x_;  // the last training input (flattened)
};

}  // namespace qf::nn
