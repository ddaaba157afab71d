// ONNX export: a built nn::Model as a graph record (/work/notes/onnx_record.md: one JSON
// text plus one byte payload) that the JS side encodes into an ONNX ModelProto. Not a
// protobuf writer and not the importer (src/onnx/import.h): it only walks the layers.
//
// The graph (opset 13, IR version 7, producer "qforget <QF_VERSION>"):
//   input "input": UINT8 or FLOAT (the model's input type), dims ["batch", ...the sample
//     shape as the caller supplies it]. UINT8 is Cast to FLOAT; then the preprocessing
//     as Mul(scale), Sub(mean), Div(std), each skipped when it is the identity (mean and
//     std per channel: shape [C] on a channels-last input, [C, 1, 1] on an NCHW one).
//     The engine's order of float operations, so the preprocessed input is bit-identical.
//   Image models compute in NCHW: a channels-last [N, H, W, C] input is transposed
//   (perm [0, 3, 1, 2]) once after the preprocessing. Models without convolutions or
//   pooling keep the input's layout.
//   Layers, named by their parameter prefix ("3.body.0"): tensors "<prefix>.weight",
//   ".bias", ".gamma", ".beta", ".running_mean", ".running_var", ".weight_codes",
//   ".weight_step", ".input_step"...; nodes "<prefix>.conv", ".gemm", ".relu"...; a
//   layer's output value "<prefix>.output"; the last one is renamed "logits" [batch, C].
//     conv2d            Conv, weights OIHW (from the engine's [KH, KW, Cin, Cout]),
//                       explicit pads [top, left, bottom, right], bias
//     depthwise_conv2d  Conv with group = C, weights [C, 1, KH, KW]
//     dense             Gemm (transB = 0, B = the engine's [in, out] weights, C = bias),
//                       after Flatten when its input is not [N, F]
//     batch_norm        BatchNormalization (NCHW or [N, C]); on a channels-last tensor
//                       of another rank, Mul and Add by the folded affine
//     relu / relu6      Relu / Clip(min 0, max cap) with min and max as inputs
//     flatten           Flatten(axis 1); on an NCHW tensor first Transpose perm
//                       [0, 2, 3, 1], so that features keep the engine's H, W, C order
//     max_pool2d        MaxPool, explicit pads (padded cells never win)
//     avg_pool2d        AveragePool, explicit pads, count_include_pad = 0
//     global_avg_pool   GlobalAveragePool then Flatten
//     residual          body and shortcut (identity: the input), then Add
//   Flatten of an NCHW tensor is a Transpose, not a permutation of the next Gemm's rows:
//   the flattened features may reach other layers first (batch_norm, relu, a residual,
//   the logits themselves), every weight initializer stays the engine's tensor in a
//   fixed layout, and an importer reads Transpose + Flatten back as the engine's
//   flatten without guessing.
//
// Formats:
//   kFloat  every weighted layer with FLOAT weights: a float layer's own, a quantized
//           layer's grid weights code * step. Exact (to float rounding) for a float
//           model; for a quantized one it drops the activation quantization, so it is
//           an approximation of what the model computes.
//   kQdq    (the default when the model has a quantized layer) a quantized layer's
//           weights as an INT8 initializer of its codes ("<prefix>.weight_codes", OIHW
//           or [in, out]) and DequantizeLinear with the steps as scales (per channel:
//           axis 0 for Conv, 1 for the Gemm's [in, out]; per tensor: a scalar) and zero
//           points 0; its input as QuantizeLinear -> DequantizeLinear (UINT8, scale the
//           input step, zero point 0 after ReLU or 128; the network input's fixed step
//           1/255). Biases, BatchNorm, pooling and float layers stay float, so onnxruntime
//           evaluates DequantizeLinear -> Conv/Gemm in float (a float bias keeps its QDQ
//           fusion into QLinearConv from applying).
//
// How far onnxruntime's QDQ evaluation lies from qforget's deployed integer forward:
//   Same codes. QuantizeLinear computes round_half_even(x / scale) + zero point,
//   saturated to [0, 255]; the engine (quant/lsq.h) rounds x / step half to even
//   (nearbyint), clamps to [-zp, 255 - zp] and adds zp: the same code for the same float
//   x. Weight codes are the engine's, and DequantizeLinear gives code * step as the
//   engine's w_hat does.
//   Different sums. For an output of a quantized layer with window depth K, input codes
//   q_i - zp and weight codes c_i, the engine computes A = sum (q_i - zp) c_i exactly in
//   int32, then A * (s_in s_w [* bn_scale]) + bias in float (a BatchNorm right after is
//   folded into that epilogue); onnxruntime sums the K float products
//   (q_i - zp) s_in * c_i s_w in float, adds the bias, then applies BatchNormalization.
//   Both approximate the same real number y; with u = 2^-24,
//     |y_engine - y_ort| <= (K + 4) u * s_in s_w * sum |q_i - zp| |c_i| * |bn_scale|
//                          + 4 u (|y| + |bias terms|)                          (1)
//   per layer: ~1e-6 relative at most for the built-in archs (K <= 1152).
//   Code flips. A value the next QuantizeLinear sees within (1) of a rounding boundary
//   (x / s = k + 1/2) may land on the other code: one input of the next layer moves by
//   exactly one step s, and that can flip further codes downstream. The rate is about
//   2 * (1) / s per activation, rare but not zero for models with many activations.
//   The logits, then. Let s_last be the last layer's input step (the scale of the
//   DequantizeLinear feeding the Gemm that produces "logits", "<prefix>.input_step") and
//   W_last its dequantized weights (code * step). One flip at its input moves logit j by
//   s_last * |W_last[i, j]|; a flip further up reaches the logits through the rest of
//   the network, attenuated by every average (GlobalAveragePool divides it by H * W) and
//   mostly ending as a few flips at the last layer's input. onnxruntime with its graph
//   optimizations on (the default) also fuses DQ -> Gemm/Conv -> Relu -> Q chains into
//   integer kernels that requantize with their own rounding, so more codes flip than
//   node by node. The bound, per sample:
//     max_j |logit_ort[j] - logit_engine[j]|
//         <= 1e-4 * max_j |logit_engine[j]| + 16 * s_last * max |W_last|           (2)
//   (float noise, plus sixteen flips' worth at the last layer). It is not a worst case:
//   a cascade of flips can pass it, so it is claimed for >= 99 % of samples; argmax
//   agrees on every sample whose top-two logit gap exceeds twice (2) (closer pairs may
//   swap; untrained models have many).
//   Measured against onnxruntime-web 1.30.0 (wasm, optimizations 'all'), 256 samples per
//   case, each built-in arch at 2, 4, 8 bits, uint8 and float32 inputs with mean/std,
//   trained one epoch on 128 random samples: the largest difference was 0.48 of (2)
//   (mobilenetv2, 8-bit), every sample within (2); with optimizations 'disabled' mlp
//   agrees to 1e-5. tests/onnx/export_test.cc's evaluator (float, node by node):
//   at most 0.07 of (2), argmax equal on 3071 of 3072 samples. For a model whose last
//   weighted layer is float, (2) has no s_last term: only the argmax claim holds.
//   The float format, on a float model:
//     max_j |logit_onnx[j] - logit_engine[j]| <= 1e-5 * max_j |logit_engine[j]|  (3)
//   (measured: at most 1.2e-6 in onnxruntime-web, 2.8e-6 in the test's evaluator).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "nn/model.h"

namespace qf::onnx {

inline constexpr int kExportOpset = 13;
inline constexpr int kExportIrVersion = 7;

enum class ExportFormat { kFloat, kQdq };

struct ExportOptions {
  // Unset: kQdq when the model has a quantized layer, else kFloat.
  std::optional<ExportFormat> format;
};

// {"format": "qdq" | "float"} (all keys optional). InvalidArgument naming
// "options.<key>" for an unknown key or value.
StatusOr<ExportOptions> ExportOptionsFromJson(const Json& options);

// The graph record: `json` is its text, `payload` the bytes of every tensor (offsets and
// lengths in the JSON, each section starting at a multiple of 8; little-endian).
struct ExportedGraph {
  std::string json;
  std::vector<uint8_t> payload;
};

// Exports `model` (only read; non-const because state is visited through mutable
// pointers). Errors: FailedPrecondition for kQdq when a learned input step was never set
// (an untrained model: train it, or export format 'float'), or naming the tensor when a
// parameter is NaN or infinite; Unimplemented for a layer type the exporter does not know.
StatusOr<ExportedGraph> ExportOnnx(nn::Model& model, const ExportOptions& options = {});

}  // namespace qf::onnx
