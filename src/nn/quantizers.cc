// LSQ state of quantized layers.
#include "nn/quantizers.h"

#include <cmath>

#include "core/check.h"

namespace qf::nn {

void WeightQuantizer::Configure(const QuantConfig& config, size_t rows, size_t channels,
                                const std::string& name) {
  QF_CHECK(config.quantized());
  config_ = config;
  range_ = quant::SignedRange(config.weight_bits);
  rows_ = rows;
  channels_ = channels;
  steps_.name = name + ".weight_step";
  steps_.kind = Param::Kind::kStep;
  const size_t n = config.per_channel ? channels : 1;
  steps_.value = Tensor(Shape{n}, 1.0f);
  steps_.grad = Tensor(Shape{n});
  codes_.assign(rows * channels, 0);
  w_hat_ = Tensor(Shape{rows, channels});
}

void WeightQuantizer::InitSteps(const Tensor& w) {
  quant::FitWeightSteps(w.data(), rows_, channels_, config_.per_channel, range_,
                        quant::StepRule::kLsqInitial, steps_.value.data());
}

void WeightQuantizer::Quantize(const Tensor& w) {
  quant::QuantizeWeights(w.data(), rows_, channels_, steps_.value.data(), config_.per_channel,
                         range_, codes_.data());
  quant::DequantizeWeights(codes_.data(), rows_, channels_, steps_.value.data(),
                           config_.per_channel, w_hat_.data());
}

void WeightQuantizer::Backward(const Tensor& w, const Tensor& dw_hat, Tensor* dw) {
  quant::QuantizeWeightsBackward(w.data(), dw_hat.data(), rows_, channels_, steps_.value.data(),
                                 config_.per_channel, range_, dw->data(), steps_.grad.data());
}

void InputQuantizer::Configure(uint8_t zero_point, bool fixed, float fixed_step,
                               const std::string& name) {
  name_ = name;
  zero_point_ = zero_point;
  fixed_ = fixed;
  initialized_ = fixed;
  step_.name = name + ".input_step";
  step_.kind = Param::Kind::kStep;
  step_.value = Tensor(Shape{1}, fixed ? fixed_step : 1.0f);
  step_.grad = Tensor(Shape{1});
}

QuantizedInput InputQuantizer::Quantize(const Tensor& x, Mode mode) {
  float step = step_.value[0];
  if (!initialized_) {
    step = quant::LsqInitialStep(x.data(), x.size(), quant::ActivationRange(zero_point_).qp);
    if (mode == Mode::kTrain) {
      step_.value[0] = step;
      initialized_ = true;
    }
  }
  const bool cache = KeepsCaches(mode);
  std::vector<uint8_t>& codes = cache ? codes_ : eval_codes_;
  codes.resize(x.size());
  if (cache) {
    shape_ = x.shape();
    codes_step_ = step;
  }
  quant::QuantizeActivations(x.data(), x.size(), step, zero_point_, codes.data());
  return {codes, step};
}

void InputQuantizer::Backward(const Tensor& x, const Tensor& dx_hat, size_t features, Tensor* dx) {
  dx->Resize(x.shape());
  const float dstep = quant::QuantizeActivationsBackward(
      x.data(), dx_hat.data(), x.size(), features, codes_step_, zero_point_, dx->data());
  if (!fixed_) step_.grad[0] += dstep;
}

void InputQuantizer::Dequantize(Tensor* x_hat) const {
  x_hat->Resize(shape_);
  quant::DequantizeActivations(codes_.data(), codes_.size(), codes_step_, zero_point_,
                               x_hat->data());
}

void Epilogue::Set(float input_step, const WeightQuantizer& wq, const Tensor& b,
                   const std::vector<float>* fold_scale, const std::vector<float>* fold_shift) {
  const size_t channels = b.size();
  scale.resize(channels);
  bias.resize(channels);
  for (size_t c = 0; c < channels; c++) {
    scale[c] = input_step * wq.step(c);
    bias[c] = b[c];
    if (fold_scale) {
      scale[c] *= (*fold_scale)[c];
      bias[c] = bias[c] * (*fold_scale)[c] + (*fold_shift)[c];
    }
  }
}

void ConfigureInputQuantizer(const BuildInfo& info, InputQuantizer* iq) {
  if (info.network_input) {
    iq->Configure(0, /*fixed=*/true, 1.0f / 255.0f, info.name);
  } else {
    iq->Configure(info.input_non_negative ? 0 : 128, /*fixed=*/false, 1.0f, info.name);
  }
}

void VisitWeightedLayerState(const QuantConfig& config, Param* weight, Param* bias,
                             WeightQuantizer* wq, InputQuantizer* iq, StateVisitor* visitor) {
  if (!config.quantized()) {
    visitor->Float(weight->name, &weight->value, FloatRule::kAny);
    visitor->Float(bias->name, &bias->value, FloatRule::kAny);
    return;
  }
  QuantizedWeightState q;
  q.name = weight->name;
  q.step_name = wq->steps().name;
  q.bits = config.weight_bits;
  q.per_channel = config.per_channel;
  q.rows = weight->value.shape()[0];
  q.channels = weight->value.shape()[1];
  q.weight = &weight->value;
  q.steps = &wq->steps().value;
  visitor->Quantized(q);
  visitor->Float(bias->name, &bias->value, FloatRule::kAny);
  if (iq->fixed()) return;  // the network input: step 1/255, nothing learned
  visitor->Float(iq->step_param().name, &iq->step_param().value, FloatRule::kPositive);
  bool initialized = iq->initialized();
  visitor->Flag(iq->name() + ".input_initialized", &initialized);
  iq->set_initialized(initialized);
}

void CollectWeightedLayerParams(const QuantConfig& quant, Param* weight, Param* bias,
                                WeightQuantizer* wq, InputQuantizer* iq, std::vector<Param*>* out) {
  out->push_back(weight);
  out->push_back(bias);
  if (quant.quantized()) {
    out->push_back(&wq->steps());
    if (!iq->fixed()) out->push_back(&iq->step_param());
  }
}

}  // namespace qf::nn
