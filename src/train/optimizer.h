// Optimizers (SGD with momentum / Nesterov / weight decay, Adam), learning-rate
// schedules and gradient clipping. They update nn::Param values from their grads and
// know nothing of layers. Weight decay applies to kWeight parameters only; LSQ steps
// are kept positive.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "nn/layer.h"

namespace qf::train {

struct OptimizerOptions {
  std::string name = "sgd";  // "sgd" or "adam"
  float momentum = 0.9f;     // sgd
  bool nesterov = false;     // sgd
  float weight_decay = 5e-4f;
  float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f;  // adam
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter with learning rate `lr`, from param->grad.
  virtual void Step(const std::vector<nn::Param*>& params, float lr) = 0;

  // Restricts the updates of `param` to the elements whose mask byte is non-zero
  // (SalUn's saliency mask; the mask has one byte per element). Masked-out elements do
  // not move at all: neither their gradient nor weight decay nor momentum reaches them,
  // and their optimizer state stays as it was. An empty mask lifts the restriction.
  void SetMask(const nn::Param* param, std::vector<uint8_t> mask);

 protected:
  // The mask of `param`, or nullptr when all of it is updated.
  const std::vector<uint8_t>* MaskOf(const nn::Param* param) const;

 private:
  std::unordered_map<const nn::Param*, std::vector<uint8_t>> masks_;
};

StatusOr<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerOptions& options);

struct ScheduleOptions {
  std::string name = "constant";  // "constant", "step", "cosine"
  int step_epochs = 10;           // step: decay every this many epochs
  float gamma = 0.1f;             // step: decay factor
};

// Learning rate for `epoch` (0-based) of `epochs`, starting at base_lr.
float ScheduledLr(const ScheduleOptions& options, float base_lr, int epoch, int epochs);
Status ValidateSchedule(const ScheduleOptions& options);

// Scales all gradients so their global L2 norm is at most max_norm (> 0); returns the
// norm before clipping.
float ClipGradNorm(const std::vector<nn::Param*>& params, float max_norm);

void ZeroGrads(const std::vector<nn::Param*>& params);

}  // namespace qf::train
