// What Dense and Conv2D share: weights [KH*KW*Cin, Cout] and bias, their LSQ
// quantizers, the int8 forward (im2col + u8 x s8 GEMM, float epilogue) and the float
// backward through the straight-through estimators. A Dense layer is the 1x1 case on a
// 1x1 image. Not a Layer itself: the layers own one and handle shapes.
#pragma once

#include <string>

#include "kernels/conv2d/conv2d.h"
#include "kernels/u8s8_gemm/driver.h"
#include "nn/layer.h"
#include "nn/quantizers.h"

namespace qf::nn {

class LinearCore {
 public:
  // `geometry` describes one sample (n is ignored). Returns InvalidArgument naming
  // info.name when the geometry is impossible.
  Status Configure(const kernels::Conv2DShape& geometry, const QuantConfig& quant,
                   const BuildInfo& info);

  // He-normal weights (fan-in = window depth), zero bias, LSQ weight steps.
  void Init(Rng& rng);

  // y: n * out_h * out_w rows of cout floats. x: n samples of in_h * in_w * cin.
  void Forward(const Tensor& x, Tensor* y, Mode mode);
  // Eval Forward with an affine folded into the epilogue (see Layer::ForwardFolded);
  // false for float layers.
  bool ForwardFolded(const Tensor& x, Tensor* y, const std::vector<float>& scale,
                     const std::vector<float>& shift);
  // dy as Forward's y; accumulates parameter gradients, writes dx (shape of x) if not null.
  void Backward(const Tensor& dy, Tensor* dx);

  void CollectParams(std::vector<Param*>* out);
  // See VisitWeightedLayerState.
  void CollectState(StateVisitor* visitor) {
    VisitWeightedLayerState(quant_, &weight_, &bias_, &wq_, &iq_, visitor);
  }
  void OnParamsChanged() { packed_valid_ = false; }

  const kernels::Conv2DShape& geometry() const { return geometry_; }
  const QuantConfig& quant() const { return quant_; }
  Param& weight() { return weight_; }
  Param& bias() { return bias_; }
  WeightQuantizer& weight_quantizer() { return wq_; }
  InputQuantizer& input_quantizer() { return iq_; }

 private:
  kernels::Conv2DShape Batch(size_t n) const;
  void ForwardQuantized(const Tensor& x, Tensor* y, Mode mode, const std::vector<float>* fold_scale,
                        const std::vector<float>* fold_shift);

  kernels::Conv2DShape geometry_;
  QuantConfig quant_;
  Param weight_, bias_;
  WeightQuantizer wq_;
  InputQuantizer iq_;
  kernels::GemmKernels kernels_{};
  kernels::PackedWeights packed_;
  bool packed_valid_ = false;
  Epilogue epilogue_;
  const Tensor* x_ = nullptr;  // the last caching Forward's input
};

}  // namespace qf::nn
