// Built-in architectures.
#include "nn/architectures.h"

#include <cmath>
#include <limits>
#include <utility>

#include "nn/activations.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/depthwise_conv2d.h"
#include "nn/layer_list.h"
#include "nn/pooling.h"
#include "nn/residual.h"

namespace qf::nn {

Status ValidateInputSettings(const ModelSpec& spec) {
  if (spec.input_type != DType::kUint8 && spec.input_type != DType::kFloat32) {
    return InvalidArgument(std::string("inputType must be 'uint8' or 'float32', got '") +
                           DTypeName(spec.input_type) + "'");
  }
  // Finite and > 0 in float32 too, as Forward computes with them.
  auto usable = [](double v) { return std::isfinite(float(v)) && float(v) > 0; };
  if (!usable(spec.input_scale)) {
    return InvalidArgument("preprocess.scale must be a finite number > 0, got " +
                           std::to_string(spec.input_scale));
  }
  if (spec.input_layout == InputLayout::kNCHW && spec.input.rank() != 3) {
    return InvalidArgument("inputLayout 'nchw' needs a [C, H, W] inputShape, got " +
                           spec.input.ToString());
  }
  const size_t channels = spec.input.rank() == 0                    ? 0
                          : spec.input_layout == InputLayout::kNCHW ? spec.input[0]
                                                                    : spec.input.dims().back();
  for (const auto& [name, values] : {std::pair<const char*, const std::vector<double>*>{"mean", &spec.input_mean},
                                     {"std", &spec.input_std}}) {
    if (!values->empty() && values->size() != 1 && values->size() != channels) {
      return InvalidArgument(std::string("preprocess.") + name + " must have 1 or " +
                             std::to_string(channels) +
                             " values (one per channel of inputShape), got " +
                             std::to_string(values->size()));
    }
    for (size_t i = 0; i < values->size(); i++) {
      const double v = (*values)[i];
      const bool positive = name[0] == 's';  // std divides
      if (!std::isfinite(float(v)) || (positive && !usable(v))) {
        return InvalidArgument(std::string("preprocess.") + name + "[" + std::to_string(i) +
                               "] must be a finite number" + (positive ? " > 0" : "") + ", got " +
                               std::to_string(v));
      }
    }
  }
  return OkStatus();
}

namespace {

Status ValidateSpec(const ModelSpec& spec) {
  const int b = spec.weight_bits;
  if (!(b == 2 || b == 3 || b == 4 || b == 8 || b == 32)) {
    return InvalidArgument("weightBits must be 2, 3, 4, 8 or 32 (float), got " + std::to_string(b));
  }
  if (b == 32 && spec.weight_scheme != quant::WeightScheme::kUniform) {
    return InvalidArgument(std::string("weightScheme: ") + quant::SchemeName(spec.weight_scheme) +
                           " needs quantized weights (2, 3, 4 or 8 bits), not float");
  }
  if (b != 32 && !quant::SchemeBitsError(spec.weight_scheme, b).empty()) {
    return InvalidArgument("weightScheme: " + quant::SchemeBitsError(spec.weight_scheme, b));
  }
  if (spec.activation_bits != 8 && (spec.activation_bits != 4 || b == 32)) {
    return InvalidArgument("activationBits must be 8, or 4 with quantized weights, got " +
                           std::to_string(spec.activation_bits) + (b == 32 ? " with float weights" : ""));
  }
  const int e = spec.edge_bits;
  if (!(e == 2 || e == 3 || e == 4 || e == 8 || e == 32)) {
    return InvalidArgument("edgeBits must be 2, 3, 4, 8 or 32 (float), got " + std::to_string(e));
  }
  if (spec.classes < 2 || spec.classes > kMaxClasses) {
    return InvalidArgument("numClasses must be in [2, " + std::to_string(kMaxClasses) + "], got " +
                           std::to_string(spec.classes));
  }
  if (spec.input.rank() == 0 || spec.input.size() == 0) {
    return InvalidArgument("inputShape must be non-empty, got " + spec.input.ToString());
  }
  QF_RETURN_IF_ERROR(ValidateInputSettings(spec));
  if (spec.seed > (uint64_t(1) << 53)) {
    return InvalidArgument("seed must be at most 2^53, got " + std::to_string(spec.seed));
  }
  if (spec.arch == "custom" && !spec.layers) {
    return InvalidArgument("layers: required with arch \"custom\"");
  }
  if (spec.arch != "custom" && spec.layers) {
    return InvalidArgument("layers: only allowed with arch \"custom\", got arch '" + spec.arch +
                           "'");
  }
  return OkStatus();
}

QuantConfig Quant(const ModelSpec& spec, bool edge) {
  QuantConfig q;
  q.weight_bits = spec.weight_bits == 32 ? 32 : (edge ? spec.edge_bits : spec.weight_bits);
  q.per_channel = spec.per_channel;
  if (!edge) {  // uniform and 8 for float models (ValidateSpec)
    q.scheme = spec.weight_scheme;
    q.activation_bits = spec.activation_bits;
  }
  return q;
}

std::unique_ptr<Layer> Relu() {
  return std::make_unique<nn::Relu>(std::numeric_limits<float>::infinity());
}
std::unique_ptr<Layer> Relu6() { return std::make_unique<nn::Relu>(6.0f); }

std::unique_ptr<Layer> Conv(size_t filters, size_t k, size_t stride, QuantConfig q) {
  Conv2DOptions o;
  o.filters = filters;
  o.kh = o.kw = k;
  o.stride_h = o.stride_w = stride;
  o.padding.mode = Padding::Mode::kSame;
  return std::make_unique<Conv2D>(o, q);
}

std::unique_ptr<Layer> Depthwise(size_t stride, QuantConfig q) {
  DepthwiseOptions o;
  o.stride_h = o.stride_w = stride;
  o.padding.mode = Padding::Mode::kSame;
  return std::make_unique<DepthwiseConv2D>(o, q);
}

std::unique_ptr<Layer> MaxPool2x2() { return std::make_unique<MaxPool2D>(Pool2DOptions{}); }

Status NeedImage(const ModelSpec& spec) {
  if (spec.input.rank() != 3) {
    return InvalidArgument("arch '" + spec.arch + "' needs inputShape [H, W, C], got " +
                           spec.input.ToString());
  }
  return OkStatus();
}

// 784-256-128-C.
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

// conv5x5(16)-pool-conv5x5(32)-pool-fc(128)-fc(C), ReLU after each hidden layer.
std::unique_ptr<Sequential> Lenet(const ModelSpec& spec) {
  auto net = std::make_unique<Sequential>();
  net->Add(Conv(16, 5, 1, Quant(spec, true)));
  net->Add(Relu());
  net->Add(MaxPool2x2());
  net->Add(Conv(32, 5, 1, Quant(spec, false)));
  net->Add(Relu());
  net->Add(MaxPool2x2());
  net->Add(std::make_unique<Flatten>());
  net->Add(std::make_unique<Dense>(128, Quant(spec, false)));
  net->Add(Relu());
  net->Add(std::make_unique<Dense>(spec.classes, Quant(spec, true)));
  return net;
}

// A ResNet basic block: conv3x3-BN-ReLU-conv3x3-BN plus a shortcut (identity, or
// conv1x1-BN when the shape changes), then ReLU.
void AddBasicBlock(Sequential* net, size_t in, size_t out, size_t stride, QuantConfig q) {
  auto body = std::make_unique<Sequential>();
  body->Add(Conv(out, 3, stride, q));
  body->Add(std::make_unique<BatchNorm>());
  body->Add(Relu());
  body->Add(Conv(out, 3, 1, q));
  body->Add(std::make_unique<BatchNorm>());
  std::unique_ptr<Sequential> shortcut;
  if (stride != 1 || in != out) {
    shortcut = std::make_unique<Sequential>();
    shortcut->Add(Conv(out, 1, stride, q));
    shortcut->Add(std::make_unique<BatchNorm>());
  }
  net->Add(std::make_unique<Residual>(std::move(body), std::move(shortcut)));
  net->Add(Relu());
}

// Stem conv3x3(16)-BN-ReLU, three stages of one basic block (16, 32, 64 channels;
// stride 1, 2, 2), global average pooling, fc(C).
std::unique_ptr<Sequential> Resnet8(const ModelSpec& spec) {
  auto net = std::make_unique<Sequential>();
  net->Add(Conv(16, 3, 1, Quant(spec, true)));
  net->Add(std::make_unique<BatchNorm>());
  net->Add(Relu());
  AddBasicBlock(net.get(), 16, 16, 1, Quant(spec, false));
  AddBasicBlock(net.get(), 16, 32, 2, Quant(spec, false));
  AddBasicBlock(net.get(), 32, 64, 2, Quant(spec, false));
  net->Add(std::make_unique<GlobalAvgPool>());
  net->Add(std::make_unique<Dense>(spec.classes, Quant(spec, true)));
  return net;
}

// An inverted residual block: 1x1 expand (x t)-BN-ReLU6, 3x3 depthwise-BN-ReLU6, 1x1
// linear projection-BN; with an identity shortcut when stride 1 keeps the shape.
void AddInvertedResidual(Sequential* net, size_t in, size_t out, size_t t, size_t stride,
                         QuantConfig q) {
  auto body = std::make_unique<Sequential>();
  if (t != 1) {
    body->Add(Conv(in * t, 1, 1, q));
    body->Add(std::make_unique<BatchNorm>());
    body->Add(Relu6());
  }
  body->Add(Depthwise(stride, q));
  body->Add(std::make_unique<BatchNorm>());
  body->Add(Relu6());
  body->Add(Conv(out, 1, 1, q));
  body->Add(std::make_unique<BatchNorm>());
  if (stride == 1 && in == out) {
    net->Add(std::make_unique<Residual>(std::move(body), nullptr));
  } else {
    net->Add(std::move(body));  // a plain chain: no shortcut
  }
}

// MobileNetV2 at reduced width for small images: stem conv3x3(16)-BN-ReLU6, inverted
// residual stages (t, c, n, s) = (1,16,1,1) (6,24,2,2) (6,32,2,2) (6,64,2,1), 1x1
// conv(128)-BN-ReLU6, global average pooling, fc(C).
std::unique_ptr<Sequential> MobilenetV2(const ModelSpec& spec) {
  auto net = std::make_unique<Sequential>();
  net->Add(Conv(16, 3, 1, Quant(spec, true)));
  net->Add(std::make_unique<BatchNorm>());
  net->Add(Relu6());
  struct Stage {
    size_t t, c, n, s;
  };
  size_t channels = 16;
  const QuantConfig q = Quant(spec, false);
  for (const Stage& stage :
       {Stage{1, 16, 1, 1}, Stage{6, 24, 2, 2}, Stage{6, 32, 2, 2}, Stage{6, 64, 2, 1}}) {
    for (size_t i = 0; i < stage.n; i++) {
      AddInvertedResidual(net.get(), channels, stage.c, stage.t, i == 0 ? stage.s : 1, q);
      channels = stage.c;
    }
  }
  net->Add(Conv(128, 1, 1, q));
  net->Add(std::make_unique<BatchNorm>());
  net->Add(Relu6());
  net->Add(std::make_unique<GlobalAvgPool>());
  net->Add(std::make_unique<Dense>(spec.classes, Quant(spec, true)));
  return net;
}

}  // namespace

StatusOr<std::unique_ptr<Sequential>> BuildArchitecture(const ModelSpec& spec) {
  QF_RETURN_IF_ERROR(ValidateSpec(spec));
  if (spec.arch == "custom") return LayersFromJson(*spec.layers, spec);
  if (spec.arch == "mlp") return Mlp(spec);
  if (spec.arch == "lenet" || spec.arch == "resnet8" || spec.arch == "mobilenetv2") {
    QF_RETURN_IF_ERROR(NeedImage(spec));
    if (spec.arch == "lenet") return Lenet(spec);
    if (spec.arch == "resnet8") return Resnet8(spec);
    return MobilenetV2(spec);
  }
  return InvalidArgument("arch must be one of mlp, lenet, resnet8, mobilenetv2, custom; got '" +
                         spec.arch + "'");
}

}  // namespace qf::nn
