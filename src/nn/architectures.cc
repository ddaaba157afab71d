// Built-in architectures.
#include "nn/architectures.h"

#include <limits>

#include "nn/activations.h"
#include "nn/dense.h"

namespace qf::nn {
namespace {

Status ValidateSpec(const ModelSpec& spec) {
  const int b = spec.weight_bits;
  if (!(b == 2 || b == 3 || b == 4 || b == 8 || b == 32)) {
    return InvalidArgument("weightBits must be 2, 3, 4, 8 or 32 (float), got " + std::to_string(b));
  }
  const int e = spec.edge_bits;
  if (!(e == 2 || e == 3 || e == 4 || e == 8 || e == 32)) {
    return InvalidArgument("edgeBits must be 2, 3, 4, 8 or 32 (float), got " + std::to_string(e));
  }
  if (spec.classes < 2 || spec.classes > 256) {
    return InvalidArgument("numClasses must be in [2, 256], got " + std::to_string(spec.classes));
  }
  if (spec.input.rank() == 0 || spec.input.size() == 0) {
    return InvalidArgument("inputShape must be non-empty, got " + spec.input.ToString());
  }
  return OkStatus();
}

QuantConfig Quant(const ModelSpec& spec, bool edge) {
  QuantConfig q;
  q.weight_bits = spec.weight_bits == 32 ? 32 : (edge ? spec.edge_bits : spec.weight_bits);
  q.per_channel = spec.per_channel;
  return q;
}

std::unique_ptr<Layer> Relu() { return std::make_unique<nn::Relu>(std::numeric_limits<float>::infinity()); }

std::unique_ptr<Sequential> Mlp(const ModelSpec& spec) {
  auto net = std::make_unique<Sequential>();
  net->Add(std::make_unique<Flatten>());
  net->Add(std::make_unique<Dense>(256, Quant(spec, true)));
  net->Add(Relu());
  net->Add(std::make_unique<Dense>(128, Quant(spec, false)));
  net->Add(Relu());
  net->Add(std::make_unique<Dense>(spec.classes, Quant(spec, true)));
  return net;
}

}  // namespace

StatusOr<std::unique_ptr<Sequential>> BuildArchitecture(const ModelSpec& spec) {
  QF_RETURN_IF_ERROR(ValidateSpec(spec));
  if (spec.arch == "mlp") return Mlp(spec);
  if (spec.arch == "lenet" || spec.arch == "resnet8" || spec.arch == "mobilenetv2") {
    return Unimplemented("arch '" + spec.arch + "' is not available in this build yet");
  }
  return InvalidArgument("arch must be one of mlp, lenet, resnet8, mobilenetv2; got '" + spec.arch +
                         "'");
}

}  // namespace qf::nn
