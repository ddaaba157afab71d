// Models described as JSON layer lists (SPEC §3): a list parsed into an unbuilt
// Sequential, and a built Sequential written back in full. Knows layer options only: not
// weights (io/model_file.h) and not the model-level keys (nn/model_json.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/json.h"
#include "nn/model.h"
#include "nn/sequential.h"

namespace qf::nn {

// The spellings, one JSON object per layer (keys camelCase, as the JS API passes them):
//   {"type":"dense", "units":128}                              units 1..65536
//   {"type":"conv2d", "filters":16, "kernel":5 | [5,5], "stride":1 | [1,1],
//    "padding":"valid" | "same" | [top,left,bottom,right]}     filters 1..65536
//   {"type":"depthwise_conv2d", "kernel":3, "stride":1, "padding":"same"}
//   {"type":"batch_norm", "momentum":0.1, "eps":1e-5}          momentum in [0, 1], eps > 0
//   {"type":"relu"}  {"type":"relu6"}  {"type":"flatten"}  {"type":"global_avg_pool"}
//   {"type":"max_pool2d" | "avg_pool2d", "pool":2 | [2,2], "stride":2, "padding":"valid"}
//   {"type":"residual", "body":[...], "shortcut":[...]}        no shortcut: the identity
//   {"type":"sequential", "layers":[...]}                      a nested chain
// dense, conv2d and depthwise_conv2d also take "bits" (2, 3, 4, 8 or 32 = float; default
// spec.weight_bits), "perChannel" (default spec.per_channel) and "scheme" (a weight grid,
// quant/weight_grid.h: "uniform", "asymmetric", "pow2", "apot" or "codebook"; default
// spec.weight_scheme at spec.weight_bits, else uniform) and "activationBits" (8, or 4
// with quantized weights; default spec.activation_bits at spec.weight_bits, else 8). "relu" takes an optional
// "cap" (> 0; absent = none), which LayersToJson writes for a C++-built capped ReLU other
// than ReLU6. Required: type, units, filters, kernel (convolutions), body, layers.
// Defaults: stride 1 (convolutions) or the pool size (pooling), padding "valid", pool 2,
// momentum 0.1, eps 1e-5. Kernel, pool and stride extents lie in 1..4096, pads in 0..4096.
//
// Errors are InvalidArgument naming the JSON path from `where`, e.g.
// "layers[3].filtres: unknown key (conv2d takes ...)" or
// "layers[5].body[0].units: 0 is outside the allowed range 1..65536". Shapes are not
// checked here: Model::Create builds the chain and reports what does not fit.
// Reads obj[key], a weight scheme's name, into *out (`fallback` when absent), and checks
// that it has a grid at `bits` (32: float weights, which take no scheme but uniform).
Status SchemeKey(const Json& obj, const char* key, quant::WeightScheme fallback, int bits,
                 std::string_view where, quant::WeightScheme* out);

StatusOr<std::unique_ptr<Sequential>> LayersFromJson(const Json& layers, const ModelSpec& spec,
                                                     std::string_view where = "layers");

// Every layer of `net` with its full configuration (bits and perChannel always written),
// so that LayersFromJson(LayersToJson(net), any spec) builds the same architecture with
// the same parameter names. Works on built and unbuilt chains.
Json LayersToJson(const Sequential& net);
Json LayerToJson(const Layer& layer);

// A layer's parameter-name prefix as a JSON path: "3.body.1" -> "layers[3].body[1]",
// "5.2" (a nested sequential) -> "layers[5].layers[2]". Empty when `name` is not of
// that form.
std::string LayerPathFromName(std::string_view name, std::string_view where);
// `status` with a leading "<layer name>: " rewritten by LayerPathFromName (unchanged
// when it does not start with one).
Status RenameLayerInStatus(const Status& status, std::string_view where);

}  // namespace qf::nn
