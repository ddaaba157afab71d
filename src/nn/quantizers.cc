// LSQ state of quantized layers.
#include "nn/quantizers.h"

#include <cmath>

#include "core/check.h"

namespace qf::nn {

void WeightQuantizer::Configure(const QuantConfig& config, size_t rows, size_t channels,
                                const std::string& name) {
  QF_CHECK(config.quantized());
  QF_CHECK(quant::SchemeBitsError(config.scheme, config.weight_bits).empty());
  config_ = config;
  rows_ = rows;
  channels_ = channels;
  const size_t groups = config.per_channel ? channels : 1;
  const auto make = [&](Param* p, bool has, const char* suffix, Param::Kind kind, size_t n) {
    if (!has) return;
    p->name = name + suffix;
    p->kind = kind;
    p->value = Tensor(Shape{n}, 1.0f);
    p->grad = Tensor(Shape{n});
  };
  make(&steps_, quant::HasScales(config.scheme), ".weight_step", Param::Kind::kStep, groups);
  // Offsets and codebook levels are in weight units, of either sign, and never decayed.
  make(&offsets_, quant::HasOffsets(config.scheme), ".weight_offset", Param::Kind::kBias, groups);
  make(&levels_, quant::HasLevels(config.scheme), ".weight_levels", Param::Kind::kBias,
       groups << config.weight_bits);
  codes_.assign(rows * channels, 0);
  if (config.scheme != quant::WeightScheme::kUniform) deployed_.assign(rows * channels, 0);
  w_hat_ = Tensor(Shape{rows, channels});
}

quant::WeightGrid WeightQuantizer::grid(bool gradients) {
  const auto at = [&](Param& p) {
    Tensor& t = gradients ? p.grad : p.value;
    return t.size() ? t.data() : nullptr;
  };
  quant::WeightGrid g;
  g.scheme = config_.scheme;
  g.bits = config_.weight_bits;
  g.per_channel = config_.per_channel;
  g.rows = rows_;
  g.channels = channels_;
  g.scales = at(steps_);
  g.offsets = at(offsets_);
  g.levels = at(levels_);
  return g;
}

void WeightQuantizer::InitSteps(const Tensor& w) {
  quant::FitGrid(w.data(), quant::StepRule::kLsqInitial, grid());
}

void WeightQuantizer::Quantize(const Tensor& w) {
  const quant::WeightGrid g = grid();
  quant::BuildTable(g, &table_);
  quant::QuantizeToGrid(g, table_, w.data(), codes_.data());
  if (!deployed_.empty()) quant::DeployCodes(g, table_, codes_.data(), deployed_.data());
  quant::DequantizeGrid(g, table_, codes_.data(), w_hat_.data());
}

void WeightQuantizer::Backward(const Tensor& w, const Tensor& dw_hat, Tensor* dw) {
  quant::QuantizeToGridBackward(grid(), table_, w.data(), codes_.data(), dw_hat.data(),
                                dw->data(), grid(/*gradients=*/true));
}

void WeightQuantizer::CollectParams(std::vector<Param*>* out) {
  for (Param* p : {&steps_, &offsets_, &levels_}) {
    if (p->value.size()) out->push_back(p);
  }
}

void InputQuantizer::Configure(uint8_t zero_point, bool fixed, float fixed_step,
                               const std::string& name, int bits) {
  name_ = name;
  zero_point_ = zero_point;
  bits_ = bits;
  fixed_ = fixed;
  initialized_ = fixed;
  step_.name = name + ".input_step";
  step_.kind = Param::Kind::kStep;
  step_.value = Tensor(Shape{1}, fixed ? fixed_step : 1.0f);
  step_.grad = Tensor(Shape{1});
}

QuantizedInput InputQuantizer::Quantize(const Tensor& x, Mode mode) {
  if (observer_) observer_(x);
  float step = step_.value[0];
  if (!initialized_) {
    step = quant::LsqInitialStep(x.data(), x.size(), range().qp);
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
  quant::QuantizeActivations(x.data(), x.size(), step, zero_point_, codes.data(), bits_);
  return {codes, step};
}

void InputQuantizer::Backward(const Tensor& x, const Tensor& dx_hat, size_t features, Tensor* dx) {
  dx->Resize(x.shape());
  const float dstep = quant::QuantizeActivationsBackward(
      x.data(), dx_hat.data(), x.size(), features, codes_step_, zero_point_, dx->data(), bits_);
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

void ConfigureInputQuantizer(const BuildInfo& info, const QuantConfig& config, InputQuantizer* iq) {
  if (info.network_input) {
    iq->Configure(0, /*fixed=*/true, 1.0f / 255.0f, info.name);
  } else {
    iq->Configure(info.input_non_negative ? 0 : 128, /*fixed=*/false, 1.0f, info.name,
                  config.activation_bits);
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
  q.weight = &weight->value;
  q.grid = wq->grid();
  wq->CollectParams(&q.params);
  visitor->Quantized(q);
  visitor->Float(bias->name, &bias->value, FloatRule::kAny);
  if (iq->fixed()) return;  // the network input: step 1/255, nothing learned
  visitor->Float(iq->step_param().name, &iq->step_param().value, FloatRule::kPositive);
  bool initialized = iq->initialized();
  visitor->Flag(iq->name() + ".input_initialized", &initialized);
  iq->set_initialized(initialized);
  visitor->Input(iq);
}

void CollectWeightedLayerParams(const QuantConfig& quant, Param* weight, Param* bias,
                                WeightQuantizer* wq, InputQuantizer* iq, std::vector<Param*>* out) {
  out->push_back(weight);
  out->push_back(bias);
  if (quant.quantized()) {
    wq->CollectParams(out);
    if (!iq->fixed()) out->push_back(&iq->step_param());
  }
}

}  // namespace qf::nn
