// The quantization state a quantized layer owns: its weight grid's parameters (LSQ step
// sizes, or a scheme's scales, offsets or codebook) and its input activations' step, with
// the codes of the last Forward. Layers compose these; the math lives in quant/lsq.h and
// quant/weight_grid.h.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "nn/layer.h"
#include "quant/lsq.h"
#include "quant/weight_grid.h"

namespace qf::nn {

// How a layer's weights are stored. bits == 32 means float: no quantization at all.
struct QuantConfig {
  int weight_bits = 32;
  bool per_channel = true;
  quant::WeightScheme scheme = quant::WeightScheme::kUniform;
  int activation_bits = 8;  // the input's (8 or 4); a network input of pixels is always 8

  bool quantized() const { return weight_bits <= 8; }
};

// Weights as rows x channels (channel innermost) on the grid of config.scheme, with its
// parameters per channel or per tensor: "<layer>.weight_step" (every scheme but
// codebook: the step, or pow2's and apot's largest level), "<layer>.weight_offset"
// (asymmetric), "<layer>.weight_levels" (codebook).
class WeightQuantizer {
 public:
  void Configure(const QuantConfig& config, size_t rows, size_t channels, const std::string& name);
  // The grid's parameters from the current weights (quant::FitGrid, LSQ's initial rule).
  void InitSteps(const Tensor& w);
  // codes(), step() and dequantized() from `w` and the grid's parameters.
  void Quantize(const Tensor& w);
  // dw = straight-through gradient; adds the grid parameters' gradients.
  void Backward(const Tensor& w, const Tensor& dw_hat, Tensor* dw);

  // The grid's parameters (those the scheme has), for training and saving.
  void CollectParams(std::vector<Param*>* out);
  // The grid over the parameters' values (or, with `gradients`, over their gradients).
  quant::WeightGrid grid(bool gradients = false);
  const QuantConfig& config() const { return config_; }
  // The steps (pow2 and apot: the largest levels); empty for a codebook.
  Param& steps() { return steps_; }
  // What the int8 kernels multiply (the grid's table values of the codes) and the fine
  // step of channel c, as of the last Quantize: dequantized() = codes() * step(c).
  const std::vector<int8_t>& codes() const {
    return config_.scheme == quant::WeightScheme::kUniform ? codes_ : deployed_;
  }
  float step(size_t c) const { return table_.steps[config_.per_channel ? c : 0]; }
  const Tensor& dequantized() const { return w_hat_; }

 private:
  QuantConfig config_;
  size_t rows_ = 0, channels_ = 0;
  Param steps_, offsets_, levels_;
  quant::GridTable table_;
  std::vector<int8_t> codes_, deployed_;
  Tensor w_hat_;
};

// One batch's activation codes and the step they are in.
struct QuantizedInput {
  const std::vector<uint8_t>& codes;
  float step;
};

// A layer's input activations as uint8 codes with one learned step. Zero point 0 for
// inputs that come out of ReLU/ReLU6 (codes 0..255), 128 for inputs that can be
// negative. A fixed quantizer (the network input: pixels are the codes, step 1/255)
// does not learn.
class InputQuantizer {
 public:
  void Configure(uint8_t zero_point, bool fixed, float fixed_step, const std::string& name,
                 int bits = 8);
  // Quantizes a batch and returns its codes with their step. The first kTrain call
  // initializes the step from its batch (LSQ). Before that, kEval quantizes each batch
  // with a step from that batch alone and keeps it nowhere: predicting with a
  // never-trained model changes nothing. kTrain and kEvalGradient codes are kept for
  // Backward (codes(), with the step they were made with); kEval codes go to a separate
  // buffer so an evaluation between Forward and Backward changes nothing either (of this
  // layer's state; a network's activations are another matter, see Model::Backward).
  QuantizedInput Quantize(const Tensor& x, Mode mode);
  // While set, every Quantize first shows its input to `observer` (calibration).
  void set_observer(std::function<void(const Tensor&)> observer) { observer_ = std::move(observer); }
  // Whether the step is set (from data, or by a loaded model). A fixed quantizer always is.
  bool initialized() const { return initialized_; }
  // Marks the step as set (a loaded model: no initialization from data) or, for a
  // learned quantizer only, as still to be initialized by the next Quantize.
  void set_initialized(bool initialized = true) { initialized_ = fixed_ || initialized; }
  // dx = straight-through gradient of the last Quantize; adds the step gradient.
  void Backward(const Tensor& x, const Tensor& dx_hat, size_t features, Tensor* dx);

  bool fixed() const { return fixed_; }
  uint8_t zero_point() const { return zero_point_; }
  int bits() const { return bits_; }
  quant::QRange range() const { return quant::ActivationRange(zero_point_, bits_); }
  // The owning layer's name, as given to Configure.
  const std::string& name() const { return name_; }
  float step() const { return step_.value[0]; }
  Param& step_param() { return step_; }
  const Param& step_param() const { return step_; }
  // The codes of the last kTrain or kEvalGradient Quantize.
  const std::vector<uint8_t>& codes() const { return codes_; }
  // (codes() - zero_point) * step, computed on demand for backward passes.
  void Dequantize(Tensor* x_hat) const;

 private:
  std::string name_;
  uint8_t zero_point_ = 0;
  int bits_ = 8;
  bool fixed_ = false;
  bool initialized_ = false;
  Param step_;
  std::vector<uint8_t> codes_, eval_codes_;
  std::function<void(const Tensor&)> observer_;
  Shape shape_;              // of codes_
  float codes_step_ = 1.0f;  // the step codes_ were made with
};

// The float epilogue of a quantized layer's int8 kernel, per output channel c:
//   scale[c] = s_in * s_w[c],  bias[c] = b[c]
// or, with a folded affine (fold_scale, fold_shift: a following BatchNorm's),
//   scale[c] = s_in * s_w[c] * fold_scale[c],  bias[c] = b[c] * fold_scale[c] + fold_shift[c].
struct Epilogue {
  std::vector<float> scale, bias;
  void Set(float input_step, const WeightQuantizer& wq, const Tensor& b,
           const std::vector<float>* fold_scale = nullptr,
           const std::vector<float>* fold_shift = nullptr);
};

// Sets up the input quantizer of a quantized layer from where it sits: the network
// input (fixed step 1/255, 8 bits: the codes are the pixels), after a non-negative
// producer (zero point 0), or anywhere else (zero point 128); at config.activation_bits.
void ConfigureInputQuantizer(const BuildInfo& info, const QuantConfig& config, InputQuantizer* iq);

// Appends a weighted layer's trainable parameters: weight and bias, and when quantized
// the weight grid's parameters and (unless fixed) the input step. Shared by LinearCore
// and DepthwiseConv2D.
void CollectWeightedLayerParams(const QuantConfig& quant, Param* weight, Param* bias,
                                WeightQuantizer* wq, InputQuantizer* iq, std::vector<Param*>* out);

// The state of a layer with weights [rows, channels] and a bias (Dense, Conv2D,
// DepthwiseConv2D), in this order: quantized, the weights with their grid's parameters
// (QuantizedWeightState), the bias, and for a learned input quantizer its step
// ("<layer>.input_step") and flag "<layer>.input_initialized"; float, the weights and the
// bias as float tensors. `wq` and `iq` are only read when config.quantized().
void VisitWeightedLayerState(const QuantConfig& config, Param* weight, Param* bias,
                             WeightQuantizer* wq, InputQuantizer* iq, StateVisitor* visitor);

}  // namespace qf::nn
