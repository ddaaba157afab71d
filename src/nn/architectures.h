// The built-in architectures (SPEC §3) as layer chains: mlp, lenet, resnet8 and
// mobilenetv2 (each documented where it is built). First and last layers take
// spec.edge_bits, the rest spec.weight_bits. Arch "custom" is nn/layer_list.h's.
#pragma once

#include <memory>

#include "core/status.h"
#include "nn/model.h"
#include "nn/sequential.h"

namespace qf::nn {

// InvalidArgument when the spec's input type or preprocessing (ModelSpec) is not one the
// engine takes.
Status ValidateInputSettings(const ModelSpec& spec);

// Validates `spec` and returns the unbuilt layer chain it names (for arch "custom", the
// chain its layer list describes).
StatusOr<std::unique_ptr<Sequential>> BuildArchitecture(const ModelSpec& spec);

}  // namespace qf::nn
