// Boundary shrink's FGSM neighbour, exposed for bs.cc and its tests. Not the method itself
// (that is MakeMethod("bs")).
#pragma once

#include <cstdint>
#include <vector>

#include "nn/model.h"

namespace qf::unlearn {

// The FGSM neighbours of n samples (the model's input type, as bytes), CE taken with
// `labels`. Pixels: x' = clip(x + epsilon * sign(dCE/dx), 0, 1) with x = pixels / 255,
// put back on the pixel grid as round(x' * 255) (each pixel moves by at most
// round(epsilon * 255)). Float features: x' = x + epsilon * sign(dCE/dx), in the features'
// own units, unclipped. The gradient is that of the model as deployed
// (Mode::kEvalGradient: BatchNorm with its running statistics, as the original attacks
// the model in eval mode); nothing of `model` changes but its parameter gradients, left
// at zero. `out` gets n * sample bytes.
void FgsmNeighbours(nn::Model& model, const uint8_t* x, const Label* labels, size_t n,
                    float epsilon, std::vector<uint8_t>* out);

}  // namespace qf::unlearn
