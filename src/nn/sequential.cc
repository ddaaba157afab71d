// Sequential: forward in order, backward in reverse.
#include "nn/sequential.h"

#include "nn/batchnorm.h"

namespace qf::nn {
namespace {

// The number of values of `shape` in 64 bits, saturated: a shape a 32-bit size_t cannot
// count (a pooling output in wasm) still counts as too big, never as a wrapped small one.
uint64_t Values(const Shape& shape) {
  uint64_t n = 1;
  for (size_t d : shape.dims()) {
    if (__builtin_mul_overflow(n, uint64_t(d), &n)) return UINT64_MAX;
  }
  return n;
}

}  // namespace

StatusOr<Shape> Sequential::Build(const Shape& input, const BuildInfo& info) {
  Shape shape = input;
  bool non_negative = info.input_non_negative;
  bool network_input = info.network_input;
  for (size_t i = 0; i < layers_.size(); i++) {
    BuildInfo layer_info;
    layer_info.name = info.name.empty() ? std::to_string(i) : info.name + "." + std::to_string(i);
    layer_info.input_non_negative = non_negative;
    layer_info.network_input = network_input;
    layer_info.budget = info.budget;
    StatusOr<Shape> out = layers_[i]->Build(shape, layer_info);
    if (!out.ok()) return out.status();
    QF_RETURN_IF_ERROR(
        TakeActivations(layer_info, Values(out.value()), "the output " + out.value().ToString()));
    shape = out.value();
    non_negative = layers_[i]->OutputNonNegative(non_negative);
    network_input = network_input && layers_[i]->OutputsInputValues();
  }
  activations_.resize(layers_.empty() ? 0 : layers_.size() - 1);
  grads_.resize(2);
  return shape;
}

bool Sequential::OutputNonNegative(bool input_non_negative) const {
  bool non_negative = input_non_negative;
  for (const auto& layer : layers_) non_negative = layer->OutputNonNegative(non_negative);
  return non_negative;
}

bool Sequential::OutputsInputValues() const {
  for (const auto& layer : layers_) {
    if (!layer->OutputsInputValues()) return false;
  }
  return true;
}

void Sequential::Init(Rng& rng) {
  for (auto& layer : layers_) layer->Init(rng);
}

void Sequential::Forward(const Tensor& x, Tensor* y, Mode mode) {
  if (layers_.empty()) {
    *y = x;
    return;
  }
  // In eval mode a quantized layer followed by a BatchNorm runs as one: the BatchNorm's
  // affine folds into the layer's int8 epilogue (the deployed form). The BatchNorm's
  // output slot receives the result and the BatchNorm itself is skipped.
  const Tensor* in = &x;
  for (size_t i = 0; i < layers_.size(); i++) {
    const bool last = i + 1 == layers_.size();
    if (mode == Mode::kEval && !last) {
      if (const auto* bn = dynamic_cast<const BatchNorm*>(layers_[i + 1].get())) {
        bn->FoldedAffine(&fold_scale_, &fold_shift_);
        Tensor* out = i + 2 == layers_.size() ? y : &activations_[i + 1];
        if (i + 2 == layers_.size()) last_input_ = in;
        if (layers_[i]->ForwardFolded(*in, out, fold_scale_, fold_shift_)) {
          in = out;
          i++;
          continue;
        }
      }
    }
    Tensor* out = last ? y : &activations_[i];
    if (last) last_input_ = in;
    layers_[i]->Forward(*in, out, mode);
    in = out;
  }
}

void Sequential::Backward(const Tensor& dy, Tensor* dx) {
  if (layers_.empty()) {
    if (dx) *dx = dy;
    return;
  }
  const Tensor* upstream = &dy;
  for (size_t i = layers_.size(); i-- > 0;) {
    Tensor* out = i == 0 ? dx : &grads_[i % 2];
    layers_[i]->Backward(*upstream, out);
    upstream = out;
  }
}

void Sequential::CollectParams(std::vector<Param*>* out) {
  for (auto& layer : layers_) layer->CollectParams(out);
}

void Sequential::CollectParamLayers(std::vector<const Layer*>* out) {
  for (auto& layer : layers_) layer->CollectParamLayers(out);
}

void Sequential::CollectState(StateVisitor* visitor) {
  for (auto& layer : layers_) layer->CollectState(visitor);
}

size_t Sequential::BeginCalibration() {
  size_t n = 0;
  for (auto& layer : layers_) n += layer->BeginCalibration();
  return n;
}

void Sequential::OnParamsChanged() {
  for (auto& layer : layers_) layer->OnParamsChanged();
}

}  // namespace qf::nn
