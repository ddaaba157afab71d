// The layer interface: a Forward/Backward pair over float batch tensors, plus the
// parameters it trains. Quantized layers run their integer kernels inside Forward;
// what crosses layer boundaries is always float.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/status.h"
#include "core/tensor.h"

namespace qf::nn {

enum class Mode {
  kTrain,  // batch statistics, caches for Backward
  kEval,   // running statistics, no caches
};

// A trainable tensor and its gradient (same shape; Backward accumulates into it).
struct Param {
  enum class Kind {
    kWeight,  // takes weight decay and L1 penalties
    kBias,
    kStep,  // an LSQ step size: trained, never decayed, kept positive
    kNorm,  // BatchNorm scale and shift
  };
  std::string name;
  Kind kind = Kind::kWeight;
  Tensor value, grad;
};

// What a layer learns about its place in the network when it is built.
struct BuildInfo {
  std::string name;                 // prefix of parameter names, e.g. "layers.3"
  bool input_non_negative = false;  // every input value is >= 0 (after ReLU, or pixels)
  bool network_input = false;       // the input is the network's: uint8 pixels / 255
};

class Layer {
 public:
  virtual ~Layer() = default;

  // The layer's type name as the JSON layer list spells it ("dense", "relu", ...).
  virtual const char* type() const = 0;

  // Called once, before anything else: checks the per-sample input shape (no batch
  // dimension) and returns the per-sample output shape.
  virtual StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) = 0;

  // Whether every output is >= 0 given whether every input is (lets the next quantized
  // layer use unsigned activation codes).
  virtual bool OutputNonNegative(bool /*input_non_negative*/) const { return false; }

  // Whether every output value is one of the input values (Flatten, MaxPool): pixels
  // stay exact pixel values, so the next quantized layer can still read them as codes.
  virtual bool OutputsInputValues() const { return false; }

  // Draws initial parameter values.
  virtual void Init(Rng& /*rng*/) {}

  // y = f(x) for a batch (first dimension). In kTrain mode the layer keeps what
  // Backward needs until the next Forward.
  virtual void Forward(const Tensor& x, Tensor* y, Mode mode) = 0;

  // Given dL/dy for the last kTrain Forward: adds parameter gradients into Param::grad
  // and writes dL/dx into `dx` unless it is null (the first layer needs none).
  virtual void Backward(const Tensor& dy, Tensor* dx) = 0;

  // Appends this layer's parameters (owned by the layer; pointers stay valid).
  virtual void CollectParams(std::vector<Param*>* /*out*/) {}

  // Parameter values changed outside Forward/Backward (optimizer step, load): drop
  // anything derived from them, such as packed integer weights.
  virtual void OnParamsChanged() {}
};

}  // namespace qf::nn
