// Sequential: forward in order, backward in reverse.
#include "nn/sequential.h"

namespace qf::nn {

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
  const Tensor* in = &x;
  for (size_t i = 0; i + 1 < layers_.size(); i++) {
    layers_[i]->Forward(*in, &activations_[i], mode);
    in = &activations_[i];
  }
  layers_.back()->Forward(*in, y, mode);
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

void Sequential::CollectState(StateVisitor* visitor) {
  for (auto& layer : layers_) layer->CollectState(visitor);
}

void Sequential::OnParamsChanged() {
  for (auto& layer : layers_) layer->OnParamsChanged();
}

}  // namespace qf::nn
