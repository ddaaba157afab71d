// Labelled uint8 image data as the engine consumes it: n samples of one shape (NHWC
// pixels) and one label each. Owns its bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace qf::train {

struct Dataset {
  Shape sample;             // per-sample shape, e.g. [28, 28, 1]
  std::vector<uint8_t> x;   // size() * sample.size() pixels
  std::vector<uint8_t> y;   // size() labels
  size_t size() const { return y.size(); }
};

// Checks that `data` (called `what` in messages) is non-empty, has samples of shape
// `sample`, consistent lengths, and labels below `classes`.
Status ValidateDataset(const Dataset& data, const Shape& sample, size_t classes,
                       const std::string& what);

// The samples at `ids` (each < data.size()), in that order.
Dataset Subset(const Dataset& data, const std::vector<uint32_t>& ids);

}  // namespace qf::train
