// Model: pixels or features in, logits out, around a built Sequential.
#include "nn/model.h"

#include <algorithm>
#include <cstring>

#include "nn/architectures.h"
#include "nn/layer_list.h"
#include "nn/model_json.h"
#include "nn/state_snapshot.h"

namespace qf::nn {

Model::Model(ModelSpec spec, std::unique_ptr<Sequential> net, const BuildCost& cost)
    : spec_(std::move(spec)), cost_(cost), net_(std::move(net)) {
  net_->CollectParams(&params_);
}

StatusOr<std::unique_ptr<Model>> Model::Copy() {
  QF_ASSIGN_OR_RETURN(std::unique_ptr<Model> copy,
                      Create(spec_, std::max(kMaxParamValues, cost_.params)));
  StateSnapshot(*this).Restore(*copy);
  return copy;
}

StatusOr<std::unique_ptr<Model>> Model::Create(const ModelSpec& spec, size_t max_param_values) {
  StatusOr<std::unique_ptr<Sequential>> net = BuildArchitecture(spec);
  if (!net.ok()) return net.status();
  const bool custom = spec.arch == "custom";
  BuildBudget budget(BuildCost{max_param_values, kMaxActivationValues, kMaxOpsPerSample});
  QF_RETURN_IF_ERROR(
      budget.TakeActivations(spec.input.size(), "inputShape", spec.input.ToString()));
  BuildInfo info;
  info.network_input = true;
  // Pixels scaled by a positive factor stay >= 0 unless a mean is subtracted; features
  // may be anything.
  info.input_non_negative =
      spec.input_type == DType::kUint8 &&
      std::all_of(spec.input_mean.begin(), spec.input_mean.end(), [](double m) { return m <= 0; });
  info.name = "";
  info.budget = &budget;
  StatusOr<Shape> out = net.value()->Build(spec.input, info);
  if (!out.ok()) {
    // Layers name themselves by parameter prefix ("3.body.1"); a custom model's author
    // wrote JSON, so say "layers[3].body[1]" instead.
    return custom ? RenameLayerInStatus(out.status(), "layers") : out.status();
  }
  if (out.value() != Shape{spec.classes}) {
    const std::string what = "produced output " + out.value().ToString() + ", expected [" +
                             std::to_string(spec.classes) + "] (numClasses)";
    if (custom) return InvalidArgument("layers: the last layer " + what);
    return Status(StatusCode::kInternal, "architecture '" + spec.arch + "' " + what);
  }
  Rng rng(spec.seed);
  net.value()->Init(rng);
  return std::unique_ptr<Model>(new Model(spec, std::move(net).value(), budget.used()));
}

size_t Model::eval_batch() const {
  constexpr size_t kMaxBatch = 256, kBatchValues = size_t(1) << 26;
  const size_t fits = kBatchValues / std::max<size_t>(1, cost_.activations + cost_.scratch);
  return std::max<size_t>(1, std::min(kMaxBatch, fits));
}

// Bytes per parameter value of one more copy of the model: float shadow, gradient, two
// optimizer moments, integer code, packed and folded copies. What a batch allocates:
// per activation value of one sample, its float value and gradient, u8 code and the
// layers' smaller scratch when training, far less in inference; per scratch value of one
// sample, a float (the largest im2col matrix); per parameter value, the kernels' packed
// and dequantized weights.
constexpr uint64_t kStateBytesPerParam = 24, kStateBytesFixed = 64 << 10;
constexpr uint64_t kTrainBytesPerActivation = 12, kEvalBytesPerActivation = 4;
constexpr uint64_t kBytesPerScratch = 4;
constexpr uint64_t kBatchBytesPerParam = 8, kBatchBytesFixed = 1 << 20;

uint64_t Model::StateBytes() const { return kStateBytesFixed + kStateBytesPerParam * cost_.params; }

uint64_t Model::BatchBytes(size_t batch, Mode mode) const {
  const uint64_t per = mode == Mode::kTrain ? kTrainBytesPerActivation : kEvalBytesPerActivation;
  return kBatchBytesFixed + kBatchBytesPerParam * cost_.params +
         (per * cost_.activations + kBytesPerScratch * cost_.scratch) * batch;
}

Json Model::Describe() const {
  Json out = ModelSpecToJson(spec_);
  out.Set("layers", LayersToJson(*net_));
  return out;
}

void Model::Forward(const uint8_t* x, size_t n, Tensor* logits, Mode mode) {
  const size_t values = n * spec_.input.size();
  const size_t channels = spec_.input.dims().back();
  input_.Resize(spec_.input.WithBatch(n));
  const float scale = float(spec_.input_scale);
  const std::vector<double>&mean = spec_.input_mean, &std = spec_.input_std;
  // (x * scale - mean) / std is exactly x * scale when mean is 0 and std 1.
  auto at = [channels](const std::vector<double>& v, size_t i, float none) {
    return v.empty() ? none : float(v.size() == 1 ? v[0] : v[i % channels]);
  };
  if (spec_.input_type == DType::kUint8) {
    for (size_t i = 0; i < values; i++) {
      input_[i] = (float(x[i]) * scale - at(mean, i, 0.0f)) / at(std, i, 1.0f);
    }
  } else {
    for (size_t i = 0; i < values; i++) {
      float v;
      std::memcpy(&v, x + 4 * i, 4);  // the bytes of a Float32Array, in any alignment
      input_[i] = (v * scale - at(mean, i, 0.0f)) / at(std, i, 1.0f);
    }
  }
  net_->Forward(input_, logits, mode);
  ready_for_backward_ = KeepsCaches(mode);
}

void Model::Backward(const Tensor& dlogits, Tensor* dinput) {
  QF_CHECK(ready_for_backward_);
  net_->Backward(dlogits, dinput);
}

}  // namespace qf::nn
