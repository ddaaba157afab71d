// SalUn's saliency mask, exposed for salun.cc and its tests: the forget-gradient
// accumulation and the global top-fraction threshold. Not the method itself (that is
// MakeMethod("salun")).
#pragma once

#include <cstdint>
#include <vector>

#include "unlearn/method.h"

namespace qf::unlearn {

// Adds d(-mean CE)/d(theta) of `batch` (labels as gathered) to `sum`, one vector per
// parameter of ctx.model->params() (resized on first use). Runs a training-mode forward
// (BatchNorm uses batch statistics and updates its running averages); updates no weight
// and leaves the parameters' grads zero.
void AccumulateForgetGradient(MethodContext& ctx, const BatchData& batch,
                              std::vector<std::vector<float>>* sum);

// The saliency masks: for every parameter, one byte per element, 1 = may move. Among the
// kWeight parameters, the round(ratio * total) elements with the largest |gradient| over
// all of them (one global threshold) get 1; ties go to the element that comes first
// (parameter order, then element order). Non-weight parameters get all 0.
// `gradients` holds one vector per parameter, sized like it.
std::vector<std::vector<uint8_t>> SaliencyMasks(const std::vector<nn::Param*>& params,
                                                const std::vector<std::vector<float>>& gradients,
                                                float ratio);

}  // namespace qf::unlearn
