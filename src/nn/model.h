// A network ready to train and run: its layers (a Sequential), the input shape, the
// class count and how it was described. Inputs are uint8 pixels (NHWC) mapped to
// [0, 1]; outputs are logits. Built by nn/architectures.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/status.h"
#include "nn/sequential.h"

namespace qf::nn {

struct ModelSpec {
  std::string arch = "mlp";  // mlp, lenet, resnet8, mobilenetv2
  Shape input{28, 28, 1};    // per sample, H x W x C (or any shape for mlp)
  size_t classes = 10;
  int weight_bits = 4;  // 2, 3, 4, 8, or 32 for a float model
  int edge_bits = 8;    // first and last layer (when weight_bits < 32)
  bool per_channel = true;
  uint64_t seed = 1;
};

class Model {
 public:
  // Builds and initializes the model `spec` describes (seeded).
  static StatusOr<std::unique_ptr<Model>> Create(const ModelSpec& spec);

  const ModelSpec& spec() const { return spec_; }
  size_t classes() const { return spec_.classes; }
  const Shape& input_shape() const { return spec_.input; }
  Sequential& net() { return *net_; }

  // logits [n, classes] for n samples of uint8 pixels (n * input_shape().size() bytes).
  void Forward(const uint8_t* pixels, size_t n, Tensor* logits, Mode mode);
  // Back-propagates dL/dlogits of the last kTrain Forward into parameter gradients.
  void Backward(const Tensor& dlogits);

  const std::vector<Param*>& params() const { return params_; }
  // Call after changing parameter values outside Backward (optimizer, load).
  void OnParamsChanged() { net_->OnParamsChanged(); }

 private:
  Model(ModelSpec spec, std::unique_ptr<Sequential> net);

  ModelSpec spec_;
  std::unique_ptr<Sequential> net_;
  std::vector<Param*> params_;
  Tensor input_;
};

}  // namespace qf::nn
