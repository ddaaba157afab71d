// A copy of a model's whole state (StateVisitor: weights, steps, BatchNorm statistics,
// flags) that can be written back into the same model. What lets a failed training
// epoch be undone without cloning the model. And the other whole-state operations.
#pragma once

#include <vector>

#include "nn/model.h"

namespace qf::nn {

class StateSnapshot {
 public:
  // Copies the state of `model` as it is now.
  explicit StateSnapshot(Model& model);

  // Writes the copy back into `model`, which must be the model it was taken of (same
  // layers, same shapes), then calls OnParamsChanged().
  void Restore(Model& model) const;

 private:
  std::vector<std::vector<float>> tensors_;  // in visiting order
  std::vector<bool> flags_;
};

// Sets every quantized layer's float shadow weights to the values its integer weights
// stand for (code * step), then calls OnParamsChanged(). The model predicts exactly as
// before, but no longer holds anything finer than its deployed weights: re-quantizing
// its shadow weights cannot bring back what the integer model does not know.
void SnapShadowWeights(Model& model);

// Whether every state value of `model` is finite (a diverged step leaves NaN or Inf).
bool StateIsFinite(Model& model);

}  // namespace qf::nn
