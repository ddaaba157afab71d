// Post-training quantization: a float model (trained here or imported) becomes a
// quantized one without training. The weights get their grids from the float weights
// alone (quant::FitGrid); each learned input quantizer gets its step from the values it
// sees on a calibration set, one quantizer after another in model order, so that each is
// calibrated on the quantized activations of the layers before it, as deployed.
//
// BatchNorm needs no rewrite: a quantized layer followed by BatchNorm folds it into the
// float epilogue of its int8 kernel when it runs deployed (Layer::ForwardFolded), so the
// calibration sees, and the model runs, the folded network. With per-channel weight
// grids the fold changes nothing of the grids either (a channel's scale moves its step).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/status.h"
#include "nn/model.h"

namespace qf::nn {

// How an input quantizer's step is set from the values it saw (x), for its code range
// [qn, qp]:
//   kMinMax      the smallest step that clips none of them (quant::MinMaxStep);
//   kPercentile  the same for the values between the (100 - p)th and pth percentiles;
//   kMse         the least-squared-error step (quant::MseStep).
// Weights: kMse fits grids by quant::StepRule::kMse, the others by kMinMax.
enum class Calibration { kMinMax, kPercentile, kMse };

struct PtqOptions {
  int bits = 8;  // the weights of every weighted layer but the first and last
  quant::WeightScheme scheme = quant::WeightScheme::kUniform;
  int activation_bits = 8;  // those layers' inputs
  int edge_bits = 8;        // the first and last weighted layers (uniform, 8-bit inputs)
  bool per_channel = true;
  Calibration calibration = Calibration::kMse;
  double percentile = 99.99;  // kPercentile: in (50, 100]
  // At most this many samples of the calibration set are used (the first ones).
  size_t max_samples = 1024;
};

// Values an input quantizer saw at most (evenly strided per batch) for the percentile
// and least-squared-error rules; min-max sees every value.
inline constexpr size_t kCalibrationValuesPerBatch = 1 << 16;

// The quantized model: `source`'s architecture with `options`' grids, its float weights
// (kept as the new model's shadow weights, so that it can be fine-tuned with
// quantization-aware training), biases and BatchNorm state, and input steps calibrated on
// the first min(n, options.max_samples) samples of x (n samples of source's input type).
// FAILED_PRECONDITION when `source` has a quantized layer or no weighted layer;
// INVALID_ARGUMENT for options a grid does not support (named) or n == 0. `source` is
// only read (its state is not changed).
StatusOr<std::unique_ptr<Model>> QuantizeAfterTraining(Model& source, const PtqOptions& options,
                                                       const uint8_t* x, size_t n);

}  // namespace qf::nn
