// Labelled data as the engine consumes it: n samples of one shape and one label each.
// Samples are uint8 pixels (NHWC) or float32 features (any real values, ranks 1 to 3),
// held as their bytes; the model's spec says which it takes and how it preprocesses them.
// Owns its bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "core/tensor.h"

namespace qf::train {

using qf::Label;

struct Dataset {
  Shape sample;                 // per-sample shape, e.g. [28, 28, 1]
  DType input = DType::kUint8;  // the type of x's values: kUint8 or kFloat32
  std::vector<uint8_t> x;       // size() * sample.size() values of `input`, as bytes
  std::vector<Label> y;         // size() labels
  size_t size() const { return y.size(); }
  size_t sample_bytes() const { return sample.size() * SizeOf(input); }
};

// Checks that `data` (called `what` in messages) is non-empty, has samples of shape
// `sample` and type `input`, consistent lengths, and labels below `classes`.
Status ValidateDataset(const Dataset& data, const Shape& sample, DType input, size_t classes,
                       const std::string& what);

// The samples at `ids` (each < data.size()), in that order.
Dataset Subset(const Dataset& data, const std::vector<uint32_t>& ids);

}  // namespace qf::train
