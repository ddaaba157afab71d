// Model specs as JSON: the options object of the JS createModel() read into a ModelSpec,
// a spec written back, and a model rebuilt from its Describe() output. Architecture only:
// weights live in the model file (io/model_file.h); layer spellings in nn/layer_list.h.
#pragma once

#include <memory>
#include <string_view>

#include "core/status.h"
#include "core/json.h"
#include "nn/model.h"

namespace qf::nn {

// Reads createModel's options: {"arch", "inputShape", "numClasses", "weightBits",
// "edgeBits" (default 8), "perChannel" (default true), "seed" (default 1), "layers" (with
// arch "custom" only, and then required)}. arch, inputShape, numClasses and weightBits
// are required. inputShape has 1 to 4 dimensions, each 1..4096, at most 2^24 values;
// numClasses 2..256; bits 2, 3, 4, 8 or 32; seed 0..2^53. The layer list is kept as JSON
// (checked when the model is created, see nn/layer_list.h).
// Errors are InvalidArgument starting with the key's path under `where` ("numClasses: 1
// is outside the allowed range 2..256", "colour: unknown key (...)").
StatusOr<ModelSpec> ModelSpecFromJson(const Json& options, std::string_view where = {});

// The spec's keys as ModelSpecFromJson reads them; "layers" only when the spec has some.
Json ModelSpecToJson(const ModelSpec& spec);

// Rebuilds (and seeds) the model a Model::Describe() object describes. Unlike the options
// of ModelSpecFromJson, "layers" is required for every arch; for a built-in arch the
// model is built from its name and its layers must equal the description's (else
// InvalidArgument "<where>.layers: does not match ..."). Other errors as ModelSpecFromJson
// and Model::Create (ResourceExhausted beyond `max_param_values` or the per-sample limits
// of nn/model.h). `legacy_pixel_grid`: see ModelSpec (io::LoadModel's version-2 files).
StatusOr<std::unique_ptr<Model>> ModelFromDescription(const Json& description,
                                                      std::string_view where = {},
                                                      size_t max_param_values = kMaxParamValues,
                                                      bool legacy_pixel_grid = false);

}  // namespace qf::nn
