// A network ready to train and run: its layers (a Sequential), the input shape and type,
// the class count and how it was described. Inputs are uint8 pixels (NHWC) or float32
// features, preprocessed as the spec says (pixels map to [0, 1] by default); outputs are
// logits. Built by nn/architectures.h (built-in archs) or
// nn/layer_list.h (arch "custom"); nn/model_json.h reads and writes specs as JSON.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/dtype.h"
#include "core/random.h"
#include "core/status.h"
#include "core/json.h"
#include "nn/sequential.h"

namespace qf::nn {

// How a sample's values are laid out in memory. The network always runs on [H, W, C]
// (NHWC); a model that reads NCHW samples ([C, H, W], as ONNX graphs and PyTorch take
// them) transposes each sample as it enters.
enum class InputLayout { kNHWC, kNCHW };

struct ModelSpec {
  std::string arch = "mlp";  // mlp, lenet, resnet8, mobilenetv2, or custom (see layers)
  Shape input{28, 28, 1};    // per sample as supplied: H x W x C, or C x H x W with
                             // kNCHW (or any shape for mlp and custom)
  InputLayout input_layout = InputLayout::kNHWC;  // kNCHW only for rank-3 inputs
  size_t classes = 10;
  int weight_bits = 4;      // 2, 3, 4, 8, or 32 for a float model; custom: the layers' default
  int edge_bits = 8;        // first and last layer (when weight_bits < 32); unused by custom
  bool per_channel = true;  // custom: the layers' default
  // The grid of the layers at weight_bits (quant/weight_grid.h); the others (the edge
  // layers, custom layers of other widths unless they say) are uniform.
  quant::WeightScheme weight_scheme = quant::WeightScheme::kUniform;
  // The input activations' bits (8 or 4) of the layers at weight_bits (the others: 8).
  int activation_bits = 8;
  uint64_t seed = 1;        // at most 2^53, so that JSON numbers carry it exactly
  // What a sample's values are: kUint8 (pixels) or kFloat32 (any real features). Each
  // value x of channel c (the last dimension of `input`) reaches the first layer as
  // (x * input_scale - input_mean[c]) / input_std[c]; empty mean and std are 0 and 1, a
  // single value applies to every channel. Channel c is the last dimension of `input`,
  // the first with kNCHW. input_scale is 1/255 for pixels and 1 for
  // features unless set. Kept as given (JSON numbers), computed in float32.
  DType input_type = DType::kUint8;
  double input_scale = 1.0 / 255.0;
  std::vector<double> input_mean, input_std;
  // Set only by io::LoadModel for a version-2 file of a model whose input is not plain
  // pixels: qforget 1.0 gave the first quantized layer of every model the pixel grid
  // (fixed step 1/255, zero point 0), which clips other inputs to [0, 1]; such files
  // keep predicting as they did. Every other model learns that layer's input step.
  bool legacy_pixel_grid = false;
  // Whether every preprocessed input value is >= 0 (features after a ReLU, probabilities;
  // what a QDQ graph's input zero point of 0 says): a quantized first layer then reads
  // them on a grid from 0 (zero point 0, twice the resolution) and clips negative values
  // to 0. Unset: true for pixels without a positive mean, false for float features.
  std::optional<bool> input_non_negative;
  // With arch "custom" (and only then): the JSON layer list (nn/layer_list.h), whose last
  // layer must output [classes].
  std::optional<Json> layers;
};

// The bounds on what one model may hold and do (see BuildCost in nn/layer.h):
//   parameter and buffer values: 16M (about 0.4 GB with gradients, codes and optimizer
//     state; callers may pass a smaller bound);
//   activation values per sample: 128M floats, 512 MB (the built-in archs need 0.1-1.3M
//     on 28x28 and 32x32 images; on 224x224x3, resnet8 38M and mobilenetv2 64M, as their
//     first stages keep the full resolution);
//   operations per sample: 2^34, about 17 G multiply-adds, 4x a ResNet-50 on 224x224
//     (a second or more per sample in wasm): beyond that a forward pass is a hang.
inline constexpr size_t kMaxParamValues = size_t(1) << 24;
inline constexpr size_t kMaxActivationValues = size_t(1) << 27;
inline constexpr uint64_t kMaxOpsPerSample = uint64_t(1) << 34;

// Whether the first layer sees exactly pixel / 255 (uint8 samples, scale 1/255, no
// mean or std): then a quantized first layer reads the pixels as its codes.
bool PlainPixels(const ModelSpec& spec);

// spec.input_non_negative, or its default (above).
bool InputNonNegative(const ModelSpec& spec);

// The per-sample shape the network runs on: spec.input, or [H, W, C] for an NCHW
// spec.input [C, H, W].
Shape NetInputShape(const ModelSpec& spec);

class Model {
 public:
  // Builds and initializes the model `spec` describes (seeded). InvalidArgument for a
  // bad spec (messages name the JSON key, e.g. "layers[2].kernel: ..."),
  // ResourceExhausted naming the layer when the model would hold more than
  // `max_param_values` parameter values, or need more than kMaxActivationValues
  // activation values or kMaxOpsPerSample operations per sample. Nothing of the
  // network's size is allocated before these checks pass.
  static StatusOr<std::unique_ptr<Model>> Create(const ModelSpec& spec,
                                                 size_t max_param_values = kMaxParamValues);

  // A deep copy: the same network built again from spec(), with this model's whole state
  // (weights, steps, BatchNorm statistics, flags) copied in. The two share nothing.
  StatusOr<std::unique_ptr<Model>> Copy();

  const ModelSpec& spec() const { return spec_; }
  size_t classes() const { return spec_.classes; }
  // The sample shape as callers supply it (spec().input), and as the network sees it
  // (the same, or [H, W, C] for an NCHW model).
  const Shape& input_shape() const { return spec_.input; }
  const Shape& net_input_shape() const { return net_input_; }
  DType input_type() const { return spec_.input_type; }
  // Bytes of one sample as Forward reads it.
  size_t sample_bytes() const { return spec_.input.size() * SizeOf(spec_.input_type); }
  // What the model holds and what one sample costs, as counted against the limits.
  const BuildCost& cost() const { return cost_; }
  // Samples per eval-mode Forward for callers that split a large request: at most 256,
  // and few enough that one batch's activations and scratch stay within 64M values
  // (256 MB); >= 1.
  size_t eval_batch() const;
  // Upper bounds on memory, for reservations (core/memory.h); calibrated against the
  // wasm allocator's high-water mark by tests/js/memory.test.mjs.
  //   StateBytes: one more copy of the model with its training state (float shadow
  //     weights, gradients, integer codes, packed kernels, optimizer state).
  //   BatchBytes: what a Forward (and in kTrain a Backward) of `batch` samples
  //     allocates: activations, their gradients, im2col matrices, kernel scratch (that
  //     of every thread the pool runs now: SetThreads before reserving).
  uint64_t StateBytes() const;
  uint64_t BatchBytes(size_t batch, Mode mode) const;
  Sequential& net() { return *net_; }
  const Sequential& net() const { return *net_; }

  // The model as JSON: {"arch", "inputShape", "numClasses", "weightBits", "edgeBits",
  // "perChannel", "seed", "layers"}, the layer list always written in full
  // (nn/model_json.h reads it back). Describes the architecture, not the weights.
  Json Describe() const;

  // Visits the whole state of the model (Layer::CollectState), for saving and loading.
  // After writing values through the visitor, call OnParamsChanged().
  void CollectState(StateVisitor* visitor) { net_->CollectState(visitor); }

  // logits [n, classes] for n samples of the model's input type and layout, as bytes
  // (n * sample_bytes()).
  void Forward(const uint8_t* x, size_t n, Tensor* logits, Mode mode);
  // The penultimate features of the last Forward: what the network's last layer read
  // ([n, ...], e.g. the 128 values lenet's classifier reads, resnet8's 64 pooled ones).
  // Valid until the next Forward; a Forward must have run.
  const Tensor& features() const;
  // Forward over n samples in batches of `batch` (the last one may be smaller), calling
  // visit(first, logits) after each with the index of the batch's first sample.
  template <typename Visit>
  void ForwardInBatches(const uint8_t* x, size_t n, size_t batch, Mode mode, Visit&& visit) {
    QF_CHECK(batch > 0);
    Tensor logits;
    for (size_t first = 0; first < n; first += batch) {
      Forward(x + first * sample_bytes(), std::min(batch, n - first), &logits, mode);
      visit(first, logits);
    }
  }
  // Back-propagates dL/dlogits of the last Forward into parameter gradients and,
  // when `dinput` is given, writes dL/d(input) with the input as Forward saw it
  // (preprocessed, shape [n, ...input_shape()], in the caller's layout): what adversarial
  // inputs (FGSM) need.
  // That Forward must have been in a mode that KeepsCaches: layers read the activations
  // and input it left, which any later Forward overwrites (checked: a kEval Forward in
  // between stops the program rather than yield wrong gradients).
  void Backward(const Tensor& dlogits, Tensor* dinput = nullptr);
  // Whether Backward may be called: the last Forward kept caches.
  bool ready_for_backward() const { return ready_for_backward_; }

  const std::vector<Param*>& params() const { return params_; }
  // The layer each of params() belongs to, in its order: the layer's name, which prefixes
  // its parameters' names ("1", "3.body.0"), and its type (Layer::type(), "dense").
  struct ParamLayer {
    std::string name, type;
  };
  const std::vector<ParamLayer>& param_layers() const { return param_layers_; }
  // Call after changing parameter values outside Backward (optimizer, load).
  void OnParamsChanged() { net_->OnParamsChanged(); }
  // See Layer::BeginCalibration: then Forward in Mode::kCalibrate.
  size_t BeginCalibration() { return net_->BeginCalibration(); }

 private:
  Model(ModelSpec spec, std::unique_ptr<Sequential> net, const BuildCost& cost);

  ModelSpec spec_;
  Shape net_input_;
  BuildCost cost_;
  std::unique_ptr<Sequential> net_;
  std::vector<Param*> params_;
  std::vector<ParamLayer> param_layers_;
  Tensor input_, net_dinput_;
  bool ready_for_backward_ = false;
};

}  // namespace qf::nn
