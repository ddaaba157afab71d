// The layer interface: a Forward/Backward pair over float batch tensors, plus the
// parameters it trains. Quantized layers run their integer kernels inside Forward;
// what crosses layer boundaries is always float.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/status.h"
#include "core/tensor.h"
#include "quant/weight_grid.h"

namespace qf::nn {

enum class Mode {
  kTrain,         // batch statistics, caches for Backward
  kEval,          // running statistics, no caches
  kEvalGradient,  // the eval function with caches for Backward: gradients of the model
                  // as deployed (saliency, attacks) that move no state
  kCalibrate,     // as kEval, except that layers with running statistics (BatchNorm)
                  // normalize with the batch's and average them into the running ones
                  // (see BeginCalibration)
};

// Whether a Forward in `mode` keeps what Backward needs.
inline bool KeepsCaches(Mode mode) { return mode == Mode::kTrain || mode == Mode::kEvalGradient; }

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

// What one network may allocate and compute, fixed when it builds, so that a hostile
// description (a model-file header, a JS options object) fails with ResourceExhausted
// before anything is allocated or run rather than exhausting memory or hanging:
//   params       parameter and buffer values (weights, biases, steps, running
//                statistics), in floats;
//   activations  values per sample that a forward pass produces and keeps: the input,
//                every layer's output and the float im2col matrices of convolutions;
//   ops          operations per sample: multiply-adds of convolutions and dense layers,
//                window reads of pooling (elementwise work is bounded by `activations`).
struct BuildCost {
  size_t params = 0;
  size_t activations = 0;  // values per sample kept between calls (outputs, saved inputs)
  uint64_t ops = 0;
  size_t scratch = 0;  // values per sample of the largest buffer one layer call allocates
                       // and frees (an im2col matrix); layers run one at a time
};

// Charges what layers ask for against limits (a BuildCost of maxima). Shared by all
// layers of one build; not thread-safe.
class BuildBudget {
 public:
  explicit BuildBudget(const BuildCost& limits) : limits_(limits) {}

  // Each takes a count for the layer named `what` (products overflow-checked; counts are
  // 64-bit so that wasm32 cannot wrap them), or returns ResourceExhausted naming it, what
  // it asked for and the limit.
  Status TakeParams(size_t rows, size_t cols, const std::string& what) {
    size_t values = 0;
    if (__builtin_mul_overflow(rows, cols, &values) || values > limits_.params - used_.params) {
      return ResourceExhausted(what + ": " + std::to_string(rows) + " x " + std::to_string(cols) +
                               " more values would take the model past its limit of " +
                               std::to_string(limits_.params) + " parameter values");
    }
    used_.params += values;
    return OkStatus();
  }
  Status TakeActivations(uint64_t values, const std::string& what, const std::string& shown) {
    if (values > uint64_t(limits_.activations - used_.activations)) {
      return ResourceExhausted(what + ": " + shown + " (" + std::to_string(values) +
                               " values) would take the model past its limit of " +
                               std::to_string(limits_.activations) +
                               " activation values per sample");
    }
    used_.activations += size_t(values);
    return OkStatus();
  }
  // Scratch is not summed: the largest request stands. Bounded by the activation limit.
  Status TakeScratch(uint64_t values, const std::string& what, const std::string& shown) {
    if (values > uint64_t(limits_.activations)) {
      return ResourceExhausted(
          what + ": " + shown + " (" + std::to_string(values) + " values) is past the limit of " +
          std::to_string(limits_.activations) + " activation values per sample");
    }
    used_.scratch = std::max(used_.scratch, size_t(values));
    return OkStatus();
  }
  Status TakeOps(uint64_t a, uint64_t b, uint64_t c, const std::string& what) {
    uint64_t ops = 0;
    if (__builtin_mul_overflow(a, b, &ops) || __builtin_mul_overflow(ops, c, &ops) ||
        ops > limits_.ops - used_.ops) {
      return ResourceExhausted(what + ": " + std::to_string(a) + " x " + std::to_string(b) + " x " +
                               std::to_string(c) +
                               " more operations would take the model past its limit of " +
                               std::to_string(limits_.ops) + " operations per sample");
    }
    used_.ops += ops;
    return OkStatus();
  }
  const BuildCost& used() const { return used_; }
  const BuildCost& limits() const { return limits_; }

 private:
  BuildCost limits_, used_;
};

// What a layer learns about its place in the network when it is built.
struct BuildInfo {
  std::string name;                 // prefix of parameter names, e.g. "layers.3"
  bool input_non_negative = false;  // every input value is >= 0 (after ReLU, or pixels)
  bool network_input = false;       // the input is exactly the network's pixels / 255
                                    // (nn/model.h PlainPixels)
  BuildBudget* budget = nullptr;    // borrowed for Build only; null = unbounded
};

// Charge info.budget, if there is one (see BuildBudget): rows * cols parameter values;
// `values` activation values per sample (`shown` says what they are, e.g. a shape), kept
// or, for TakeScratch, allocated and freed within one call; a * b * c operations per sample.
inline Status TakeParams(const BuildInfo& info, size_t rows, size_t cols) {
  return info.budget ? info.budget->TakeParams(rows, cols, info.name) : OkStatus();
}
inline Status TakeActivations(const BuildInfo& info, uint64_t values, const std::string& shown) {
  return info.budget ? info.budget->TakeActivations(values, info.name, shown) : OkStatus();
}
inline Status TakeScratch(const BuildInfo& info, uint64_t values, const std::string& shown) {
  return info.budget ? info.budget->TakeScratch(values, info.name, shown) : OkStatus();
}
inline Status TakeOps(const BuildInfo& info, uint64_t a, uint64_t b, uint64_t c) {
  return info.budget ? info.budget->TakeOps(a, b, c, info.name) : OkStatus();
}

class InputQuantizer;  // nn/quantizers.h

// A quantized weight as saved and loaded: float shadow weights [rows, channels] (channel
// innermost) with its grid's parameters (quant/weight_grid.h: LSQ step sizes, or a
// scheme's scales, offsets or codebook). The codes are not state of their own: they are
// QuantizeToGrid(grid, weight), which is what the layer's forward runs.
struct QuantizedWeightState {
  std::string name;          // the shadow weight's parameter name, "<layer>.weight"
  Tensor* weight = nullptr;  // [rows, channels], owned by the layer
  quant::WeightGrid grid;    // scheme, bits, layout; pointers into `params`' values
  // The grid's parameters, owned by the layer: "<layer>.weight_step" (kStep: positive),
  // "<layer>.weight_offset", "<layer>.weight_levels", those the scheme has, in this order.
  std::vector<Param*> params;
};

// What values a float state tensor may hold (beyond being finite).
enum class FloatRule {
  kAny,          // weights, biases, BatchNorm gamma/beta and running means
  kPositive,     // LSQ step sizes
  kNonNegative,  // running variances
};

// Receives a layer's complete state (what a model file must hold so that a loaded model
// predicts and trains exactly as the saved one), in a fixed order. Tensor pointers are
// owned by the layer and stay valid while it lives; a Flag's pointer only during the
// call. A visitor may read or overwrite the values (a loader writes, then calls
// OnParamsChanged()). Gradients and caches are not state. Names are unique in a model.
class StateVisitor {
 public:
  virtual ~StateVisitor() = default;
  // A float tensor: the weights of a float layer, a bias, an input step, BatchNorm's
  // gamma/beta, or a buffer (running statistics).
  virtual void Float(const std::string& name, Tensor* value, FloatRule rule) = 0;
  // A quantized layer's weights and their steps (the steps are kPositive).
  virtual void Quantized(const QuantizedWeightState& state) = 0;
  // A boolean, e.g. whether an input quantizer has set its step from data yet.
  virtual void Flag(const std::string& name, bool* value) = 0;
  // A learned input quantizer itself (its step and flag are also visited as above), for
  // visitors that calibrate it (nn/ptq.h). Most visitors need only the values.
  virtual void Input(InputQuantizer* /*quantizer*/) {}
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

  // y = f(x) for a batch (first dimension). In a mode that KeepsCaches, the layer keeps
  // what Backward needs until the next Forward, and may keep a reference to x instead of
  // a copy: x must stay alive and unchanged until then. (Sequential, Residual and Model
  // hold their activations and input for exactly that long.)
  virtual void Forward(const Tensor& x, Tensor* y, Mode mode) = 0;

  // Given dL/dy for the last Forward, which was in a mode that KeepsCaches: adds parameter
  // gradients into Param::grad and writes dL/dx into `dx` unless it is null (the first
  // layer needs none).
  virtual void Backward(const Tensor& dy, Tensor* dx) = 0;

  // Eval-mode Forward with a per-output-channel affine z = y * scale[c] + shift[c]
  // applied (a following BatchNorm's, folded for deployment). Returns false, doing
  // nothing, when the layer cannot fold one; quantized layers fold it into the float
  // epilogue of their int8 kernel.
  virtual bool ForwardFolded(const Tensor& /*x*/, Tensor* /*y*/,
                             const std::vector<float>& /*scale*/,
                             const std::vector<float>& /*shift*/) {
    return false;
  }

  // Appends this layer's parameters (owned by the layer; pointers stay valid).
  virtual void CollectParams(std::vector<Param*>* /*out*/) {}
  // Appends, for each parameter CollectParams appends and in its order, the layer that
  // holds it: this one, or for a container (Sequential, Residual) the layer inside it.
  virtual void CollectParamLayers(std::vector<const Layer*>* out) {
    std::vector<Param*> own;
    CollectParams(&own);
    out->insert(out->end(), own.size(), this);
  }

  // Visits this layer's state after Build (parameters, buffers, flags; see StateVisitor).
  // Layers without state visit nothing; a layer with parameters or buffers must override
  // this (and charge them to BuildInfo::budget in Build), or models will not save them.
  virtual void CollectState(StateVisitor* /*visitor*/) {}

  // Parameter values changed outside Forward/Backward (optimizer step, load): drop
  // anything derived from them, such as packed integer weights.
  virtual void OnParamsChanged() {}

  // Starts a calibration run, the kCalibrate Forwards that follow: a layer with running
  // statistics will replace them by the mean of those batches' statistics. Returns how
  // many layers (this one, or those a container holds) have running statistics.
  virtual size_t BeginCalibration() { return 0; }
};

}  // namespace qf::nn
