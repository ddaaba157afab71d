// ONNX graph -> qforget model: the graph record (onnx/graph.h) converted into a "custom"
// nn::ModelSpec (a JSON layer list), the model built with nn::Model::Create, and its state
// set from the initializers. Knows ONNX and the layer list, not the kernels.
//
// What converts (opset 7..21 of the default domain; anything else is UNIMPLEMENTED naming
// the node, its op and the opset):
//   Conv (group 1 -> conv2d; group == C_in == C_out -> depthwise_conv2d; dilations 1;
//   pads and auto_pad resolved to explicit pads), Gemm (transA 0, alpha 1, beta 1) and
//   MatMul -> dense, Add of a constant after Conv/Gemm/MatMul -> its bias,
//   BatchNormalization (inference) -> batch_norm, Relu, Clip(0, 6) -> relu6, Clip(0, c) ->
//   relu with cap c, MaxPool / AveragePool (ceil_mode only when it changes no size;
//   AveragePool count_include_pad only without pads), GlobalAveragePool and ReduceMean
//   over axes [2, 3] (-> [C]; a following Flatten or Reshape is then nothing), Flatten
//   (axis 1) and Reshape to [N, -1] -> flatten, Add/Sum of two branches forking from one
//   tensor -> residual, Identity, Dropout and a Pad of zeros (dropped), a trailing
//   Softmax/LogSoftmax (dropped and reported), Transpose
//   [0,3,1,2] right after an NHWC graph input (absorbed), Transpose [0,2,3,1] right before
//   a Flatten (features already in the engine's HWC order: absorbed), and a UINT8 graph
//   input cast to FLOAT, then Mul/Sub/Div by constants, as model.toOnnx() writes pixels
//   (absorbed as inputType "uint8" with that preprocess; options must agree). Constant
//   subgraphs fold (onnx/fold.h). QDQ: DequantizeLinear of int8 weight initializers (zero point 0) gives
//   8-bit layers with the file's scales as LSQ steps and the file's codes; a
//   QuantizeLinear -> DequantizeLinear pair on an activation gives the next quantized
//   layer its input step when the zero points agree, else it is dropped and reported.
//
// Layout: ONNX is NCHW, the engine NHWC. Conv weights OIHW become [KH, KW, Cin, Cout],
// depthwise [C, 1, KH, KW] becomes [KH * KW, C], Gemm/MatMul weights [in, out]; after a
// Flatten of [C, H, W] (H * W > 1) the consuming dense layer's rows (and any per-feature
// BatchNormalization in between) are permuted from CHW to HWC order.
//
// Quantization: options weightBits/edgeBits/perChannel as createModel reads them. Weights
// are set from the file, then quantized layers get LSQ steps from them (the init a fresh
// model uses); learned input quantizers stay uninitialized: the first fit batch calibrates
// them, and until then predict quantizes each batch with a step from that batch alone
// (nn::InputQuantizer::Quantize), keeping nothing.
#pragma once

#include <memory>
#include <string>

#include "core/json.h"
#include "core/status.h"
#include "nn/model.h"
#include "onnx/graph.h"

namespace qf::onnx {

struct ImportResult {
  std::unique_ptr<nn::Model> model;
  // {"producer", "opset", "inputLayout" ("nchw" | "nhwc" | null for feature vectors),
  //  "layers": count (nested ones included), "folded": [node names],
  //  "dropped": [{"node", "op", "why"}], "quantized": {"weights": n, "inputSteps": n}}
  Json report;
};

// Import options (all optional): weightBits (2, 3, 4, 8, 32; default 32, or 8 for a graph
// with QDQ weights), edgeBits (8), perChannel (true), inputType ("float32" default or
// "uint8"), preprocess ({scale, mean, std}), inputLayout ("nchw" | "nhwc"; default the
// graph's), output (the graph output holding the logits; default the only one), seed.
// Errors: INVALID_ARGUMENT for options and malformed graphs (cycles, a number of graph
// inputs other than one, an unknown output, dynamic dims other than the batch),
// UNIMPLEMENTED for what does not convert (naming the node, op and opset),
// RESOURCE_EXHAUSTED past the engine's model limits (naming the size and the limit), and
// DATA_LOSS for weights that are NaN or infinite (naming the tensor).
StatusOr<ImportResult> ImportGraph(const Graph& graph, const Json& options);

}  // namespace qf::onnx
