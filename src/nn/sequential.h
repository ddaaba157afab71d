// A chain of layers, itself a layer (so residual blocks can hold chains). Owns its
// layers; builds them in order, wiring each one's BuildInfo from its predecessor.
#pragma once

#include <memory>
#include <vector>

#include "nn/layer.h"

namespace qf::nn {

class Sequential : public Layer {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::unique_ptr<Layer>> layers) : layers_(std::move(layers)) {}

  void Add(std::unique_ptr<Layer> layer) { layers_.push_back(std::move(layer)); }
  size_t size() const { return layers_.size(); }
  Layer& layer(size_t i) { return *layers_[i]; }
  const Layer& layer(size_t i) const { return *layers_[i]; }

  const char* type() const override { return "sequential"; }
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  void Init(Rng& rng) override;
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  void Backward(const Tensor& dy, Tensor* dx) override;
  void CollectParams(std::vector<Param*>* out) override;
  void CollectParamLayers(std::vector<const Layer*>* out) override;
  void CollectState(StateVisitor* visitor) override;  // each layer's, in order
  void OnParamsChanged() override;
  size_t BeginCalibration() override;
  bool OutputNonNegative(bool input_non_negative) const override;
  bool OutputsInputValues() const override;
  // The input of the last layer in the last Forward (with a folded Conv+BatchNorm pair
  // at the end: the pair's input); null before the first Forward or when there is no
  // layer. It points into this chain's activations or at the Forward's x, and is valid
  // until the next Forward.
  const Tensor* last_input() const { return last_input_; }

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Tensor> activations_;  // outputs of each layer but the last
  std::vector<Tensor> grads_;
  const Tensor* last_input_ = nullptr;
  std::vector<float> fold_scale_, fold_shift_;  // a BatchNorm's affine, while folding        // two
                                                // buffers for dL/d(activation), swapped per layer
};

}  // namespace qf::nn
