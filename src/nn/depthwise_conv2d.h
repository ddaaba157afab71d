// DepthwiseConv2D layer, NHWC, depth multiplier 1: weights [KH, KW, C], one filter per
// channel, stride and padding as Conv2D. Quantized, it runs the int8 depthwise kernel
// with a float epilogue; its backward is float through the LSQ quantizers.
#pragma once

#include "kernels/dwconv/dwconv.h"
#include "nn/layer.h"
#include "nn/padding.h"
#include "nn/quantizers.h"

namespace qf::nn {

struct DepthwiseOptions {
  size_t kh = 3, kw = 3;
  size_t stride_h = 1, stride_w = 1;
  Padding padding;
};

class DepthwiseConv2D : public Layer {
 public:
  DepthwiseConv2D(DepthwiseOptions options, QuantConfig quant) : options_(options), quant_(quant) {}

  const char* type() const override { return "depthwise_conv2d"; }
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  void Init(Rng& rng) override;
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  bool ForwardFolded(const Tensor& x, Tensor* y, const std::vector<float>& scale,
                     const std::vector<float>& shift) override;
  void Backward(const Tensor& dy, Tensor* dx) override;
  void CollectParams(std::vector<Param*>* out) override;
  void CollectState(StateVisitor* visitor) override;  // see VisitWeightedLayerState
  void OnParamsChanged() override {}

  const DepthwiseOptions& options() const { return options_; }
  const QuantConfig& quant() const { return quant_; }
  Param& weight() { return weight_; }
  Param& bias() { return bias_; }
  WeightQuantizer& weight_quantizer() { return wq_; }
  InputQuantizer& input_quantizer() { return iq_; }

 private:
  kernels::DwConvShape Batch(size_t n) const;
  void ForwardQuantized(const Tensor& x, Tensor* y, Mode mode, const std::vector<float>* fold_scale,
                        const std::vector<float>* fold_shift);

  DepthwiseOptions options_;
  QuantConfig quant_;
  kernels::DwConvShape geometry_;
  Shape output_;
  Param weight_, bias_;
  WeightQuantizer wq_;
  InputQuantizer iq_;
  kernels::DwConvConfig kernels_{};
  Epilogue epilogue_;
  const Tensor* x_ = nullptr;  // the last caching Forward's input
};

}  // namespace qf::nn
