// Post-training quantization: the target model, the weights' grids, the input steps.
#include "nn/ptq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "nn/quantizers.h"
#include "quant/lsq.h"
#include "quant/weight_grid.h"

namespace qf::nn {
namespace {

bool Weighted(const Json& layer) {
  const std::string& type = layer.Find("type")->AsString();
  return type == "dense" || type == "conv2d" || type == "depthwise_conv2d";
}

// The keys that hold a nested layer list (residual, sequential).
bool Nested(const std::string& key) { return key == "body" || key == "shortcut" || key == "layers"; }

size_t CountWeighted(const Json& layers) {
  size_t count = 0;
  for (const Json& layer : layers.AsArray()) {
    count += Weighted(layer);
    for (const Json::Member& m : layer.AsObject()) {
      if (Nested(m.first)) count += CountWeighted(m.second);
    }
  }
  return count;
}

// A copy of a layer list with every weighted layer's grid set: the first and last (of
// `total`, in list order, nested lists included) at the edge bits, uniform with 8-bit
// inputs; the others as `o` says. `index` counts the weighted layers seen so far.
Json WithGrids(const Json& layers, const PtqOptions& o, size_t total, size_t* index) {
  Json out = Json::MakeArray();
  for (const Json& layer : layers.AsArray()) {
    Json copy = Json::MakeObject();
    for (const Json::Member& m : layer.AsObject()) {
      copy.Set(m.first, Nested(m.first) ? WithGrids(m.second, o, total, index) : m.second);
    }
    if (Weighted(layer)) {
      const size_t i = (*index)++;
      const bool edge = i == 0 || i + 1 == total;
      copy.Set("bits", Json::Number(edge ? o.edge_bits : o.bits));
      copy.Set("perChannel", Json::Bool(o.per_channel));
      if (!edge && o.scheme != quant::WeightScheme::kUniform) {
        copy.Set("scheme", Json::String(quant::SchemeName(o.scheme)));
      }
      if (!edge && o.activation_bits != 8) {
        copy.Set("activationBits", Json::Number(o.activation_bits));
      }
    }
    out.Push(std::move(copy));
  }
  return out;
}

// The values one input quantizer saw: their extremes, and an evenly strided sample.
struct Observed {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  std::vector<float> sample;

  void Add(const Tensor& x) {
    const size_t stride = std::max<size_t>(1, x.size() / kCalibrationValuesPerBatch);
    for (size_t i = 0; i < x.size(); i++) {
      if (!std::isfinite(x[i])) continue;
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
      if (i % stride == 0) sample.push_back(x[i]);
    }
  }
};

float Quantile(std::vector<float> values, double q) {
  if (values.empty()) return 0.0f;
  const size_t k = size_t(std::llround(q * double(values.size() - 1)));
  std::nth_element(values.begin(), values.begin() + long(k), values.end());
  return values[k];
}

float CalibratedStep(const Observed& seen, quant::QRange range, const PtqOptions& o) {
  float step = 0.0f;
  switch (o.calibration) {
    case Calibration::kMinMax: {
      const float extremes[] = {seen.lo, seen.hi};
      step = seen.lo <= seen.hi ? quant::MinMaxStep(extremes, 2, range) : 0.0f;
      break;
    }
    case Calibration::kPercentile: {
      const double p = o.percentile / 100.0;
      const float extremes[] = {Quantile(seen.sample, 1.0 - p), Quantile(seen.sample, p)};
      step = quant::MinMaxStep(extremes, 2, range);
      break;
    }
    case Calibration::kMse:
      step = quant::MseStep(seen.sample.data(), seen.sample.size(), range);
      break;
  }
  return std::max(step, 1e-8f);  // all zeros: any positive step
}

// What a model's state visitor shows, for copying and calibrating.
struct StateIndex : StateVisitor {
  std::unordered_map<std::string, Tensor*> floats;
  std::vector<QuantizedWeightState> quantized;
  std::vector<InputQuantizer*> inputs;

  void Float(const std::string& name, Tensor* value, FloatRule) override { floats[name] = value; }
  void Quantized(const QuantizedWeightState& state) override { quantized.push_back(state); }
  void Flag(const std::string&, bool*) override {}
  void Input(InputQuantizer* quantizer) override { inputs.push_back(quantizer); }
};

Status CheckOptions(const PtqOptions& o) {
  if (const std::string why = quant::SchemeBitsError(o.scheme, o.bits); !why.empty()) {
    return InvalidArgument("bits: " + why);
  }
  if (!(o.edge_bits == 2 || o.edge_bits == 3 || o.edge_bits == 4 || o.edge_bits == 8 ||
        o.edge_bits == 32)) {
    return InvalidArgument("edgeBits must be 2, 3, 4, 8 or 32 (float), got " +
                           std::to_string(o.edge_bits));
  }
  if (o.activation_bits != 8 && o.activation_bits != 4) {
    return InvalidArgument("activationBits must be 8 or 4, got " + std::to_string(o.activation_bits));
  }
  if (!(o.percentile > 50.0 && o.percentile <= 100.0)) {
    return InvalidArgument("percentile must be in (50, 100], got " + std::to_string(o.percentile));
  }
  if (o.max_samples == 0) return InvalidArgument("maxSamples must be at least 1");
  return OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<Model>> QuantizeAfterTraining(Model& source, const PtqOptions& o,
                                                       const uint8_t* x, size_t n) {
  QF_RETURN_IF_ERROR(CheckOptions(o));
  if (n == 0) return InvalidArgument("calibration: no samples");
  StateIndex from;
  source.CollectState(&from);
  if (!from.quantized.empty()) {
    return FailedPrecondition("the model is already quantized (" + from.quantized[0].name +
                              "): post-training quantization starts from a float model");
  }

  // The target: the same layers, with grids.
  const Json description = source.Describe();
  const Json* layers = description.Find("layers");
  const size_t total = CountWeighted(*layers);
  if (total == 0) return FailedPrecondition("the model has no weighted layer to quantize");
  ModelSpec spec = source.spec();
  spec.weight_bits = o.bits;
  spec.edge_bits = o.edge_bits;
  spec.per_channel = o.per_channel;
  if (spec.arch == "custom") {
    // Every weighted layer says its grid; the spec's defaults are not used.
    size_t index = 0;
    spec.layers = WithGrids(*layers, o, total, &index);
  } else {
    spec.weight_scheme = o.scheme;
    spec.activation_bits = o.activation_bits;
  }
  QF_ASSIGN_OR_RETURN(std::unique_ptr<Model> target, Model::Create(spec));

  // The float state, then each weight's grid from its float weights.
  StateIndex to;
  target->CollectState(&to);
  const auto copy = [&](const std::string& name, Tensor* into) {
    const auto it = from.floats.find(name);
    if (it == from.floats.end()) return false;
    QF_CHECK(it->second->shape() == into->shape());
    *into = *it->second;
    return true;
  };
  for (const auto& [name, tensor] : to.floats) copy(name, tensor);  // input steps: none
  const quant::StepRule rule =
      o.calibration == Calibration::kMse ? quant::StepRule::kMse : quant::StepRule::kMinMax;
  for (const QuantizedWeightState& q : to.quantized) {
    QF_CHECK(copy(q.name, q.weight));
    quant::FitGrid(q.weight->data(), rule, q.grid);
  }
  target->OnParamsChanged();

  // The input steps, in model order, each on the activations of the quantized layers
  // before it (those after it are not calibrated yet and do not matter).
  const size_t m = std::min(n, o.max_samples);
  const size_t batch = std::min(target->eval_batch(), m);
  for (InputQuantizer* iq : to.inputs) {
    Observed seen;
    iq->set_observer([&](const Tensor& values) { seen.Add(values); });
    target->ForwardInBatches(x, m, batch, Mode::kEval, [](size_t, const Tensor&) {});
    iq->set_observer(nullptr);
    iq->step_param().value[0] = CalibratedStep(seen, iq->range(), o);
    iq->set_initialized(true);
  }
  return target;
}

}  // namespace qf::nn
