// Model: pixels or features in, logits out, around a built Sequential.
#include "nn/model.h"

#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"
#include "nn/architectures.h"
#include "nn/layer_list.h"
#include "nn/model_json.h"
#include "nn/state_snapshot.h"

namespace qf::nn {

bool PlainPixels(const ModelSpec& spec) {
  auto all = [](const std::vector<double>& v, double x) {
    return std::all_of(v.begin(), v.end(), [x](double e) { return e == x; });
  };
  return spec.input_type == DType::kUint8 && spec.input_scale == 1.0 / 255.0 &&
         all(spec.input_mean, 0.0) && all(spec.input_std, 1.0);
}

bool InputNonNegative(const ModelSpec& spec) {
  return spec.input_non_negative.value_or(
      spec.input_type == DType::kUint8 &&
      std::all_of(spec.input_mean.begin(), spec.input_mean.end(), [](double m) { return m <= 0; }));
}

Shape NetInputShape(const ModelSpec& spec) {
  if (spec.input_layout != InputLayout::kNCHW || spec.input.rank() != 3) return spec.input;
  return Shape{spec.input[1], spec.input[2], spec.input[0]};
}

Model::Model(ModelSpec spec, std::unique_ptr<Sequential> net, const BuildCost& cost)
    : spec_(std::move(spec)), net_input_(NetInputShape(spec_)), cost_(cost), net_(std::move(net)) {
  net_->CollectParams(&params_);
  std::vector<const Layer*> layers;
  net_->CollectParamLayers(&layers);
  QF_CHECK(layers.size() == params_.size());
  for (size_t i = 0; i < params_.size(); i++) {
    const std::string& name = params_[i]->name;  // "<layer>.<tensor>"
    param_layers_.push_back({name.substr(0, name.rfind('.')), layers[i]->type()});
  }
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
  info.network_input = PlainPixels(spec) || spec.legacy_pixel_grid;
  info.input_non_negative = InputNonNegative(spec);
  info.name = "";
  info.budget = &budget;
  StatusOr<Shape> out = net.value()->Build(NetInputShape(spec), info);
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
// and dequantized weights. Per thread past the first, what the tasks of a parallel kernel
// hold at once besides their share of the output: an int8 GEMM row block (128 KiB of
// int16 activations, up to 512 KiB at the deepest layers) or an im2col chunk (64 KiB), and
// small lists; the int32 blocks of concurrent tasks together hold at most one layer
// output, which the per-activation bytes cover.
constexpr uint64_t kStateBytesPerParam = 24, kStateBytesFixed = 64 << 10;
constexpr uint64_t kTrainBytesPerActivation = 12, kEvalBytesPerActivation = 4;
constexpr uint64_t kBytesPerScratch = 4;
constexpr uint64_t kBatchBytesPerParam = 8, kBatchBytesFixed = 1 << 20;
constexpr uint64_t kBatchBytesPerThread = 1 << 20;

uint64_t Model::StateBytes() const { return kStateBytesFixed + kStateBytesPerParam * cost_.params; }

uint64_t Model::BatchBytes(size_t batch, Mode mode) const {
  const uint64_t per = mode == Mode::kTrain ? kTrainBytesPerActivation : kEvalBytesPerActivation;
  return kBatchBytesFixed + kBatchBytesPerParam * cost_.params +
         kBatchBytesPerThread * (Threads() - 1) +
         (per * cost_.activations + kBytesPerScratch * cost_.scratch) * batch;
}

Json Model::Describe() const {
  Json out = ModelSpecToJson(spec_);
  out.Set("layers", LayersToJson(*net_));
  return out;
}

void Model::Forward(const uint8_t* x, size_t n, Tensor* logits, Mode mode) {
  const size_t size = spec_.input.size();
  const bool nchw = spec_.input_layout == InputLayout::kNCHW;
  const size_t channels = nchw ? spec_.input[0] : spec_.input.dims().back();
  const size_t positions = size / channels;
  input_.Resize(net_input_.WithBatch(n));
  const float scale = float(spec_.input_scale);
  const std::vector<double>&mean = spec_.input_mean, &std = spec_.input_std;
  // (x * scale - mean) / std is exactly x * scale when mean is 0 and std 1.
  auto at = [](const std::vector<double>& v, size_t c, float none) {
    return v.empty() ? none : float(v.size() == 1 ? v[0] : v[c]);
  };
  auto value = [this, x](size_t i) {
    if (spec_.input_type == DType::kUint8) return float(x[i]);
    float v;
    std::memcpy(&v, x + 4 * i, 4);  // the bytes of a Float32Array, in any alignment
    return v;
  };
  // Source value i of a sample goes to net position p, channel c: NHWC keeps the order,
  // NCHW reads channel planes and interleaves them.
  for (size_t s = 0; s < n; s++) {
    for (size_t p = 0; p < positions; p++) {
      for (size_t c = 0; c < channels; c++) {
        const size_t from = s * size + (nchw ? c * positions + p : p * channels + c);
        input_[s * size + p * channels + c] =
            (value(from) * scale - at(mean, c, 0.0f)) / at(std, c, 1.0f);
      }
    }
  }
  net_->Forward(input_, logits, mode);
  ready_for_backward_ = KeepsCaches(mode);
}

const Tensor& Model::features() const {
  QF_CHECK(net_->last_input() != nullptr);
  return *net_->last_input();
}

void Model::Backward(const Tensor& dlogits, Tensor* dinput) {
  QF_CHECK(ready_for_backward_);
  if (!dinput || spec_.input_layout != InputLayout::kNCHW) {
    net_->Backward(dlogits, dinput);
    return;
  }
  net_->Backward(dlogits, &net_dinput_);
  const size_t n = dlogits.shape()[0], size = spec_.input.size(), channels = spec_.input[0];
  const size_t positions = size / channels;
  dinput->Resize(spec_.input.WithBatch(n));
  for (size_t s = 0; s < n; s++) {
    for (size_t c = 0; c < channels; c++) {
      for (size_t p = 0; p < positions; p++) {
        (*dinput)[s * size + c * positions + p] = net_dinput_[s * size + p * channels + c];
      }
    }
  }
}

}  // namespace qf::nn
