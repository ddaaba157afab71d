// Dataset checks and subsets.
#include "train/dataset.h"

#include <algorithm>

namespace qf::train {

Status ValidateDataset(const Dataset& data, const Shape& sample, DType input, size_t classes,
                       const std::string& what) {
  if (data.size() == 0) return InvalidArgument(what + " is empty");
  if (data.input != input) {
    return InvalidArgument(what + ".x holds " + DTypeName(data.input) +
                           " values, the model takes " + DTypeName(input) +
                           (input == DType::kUint8 ? " (pixels: a Uint8Array)"
                                                   : " (features: a Float32Array)"));
  }
  if (data.sample != sample) {
    return InvalidArgument(what + " has samples of shape " + data.sample.ToString() +
                           ", the model expects " + sample.ToString());
  }
  if (data.x.size() != data.size() * data.sample_bytes()) {
    return InvalidArgument(what + ".x has " + std::to_string(data.x.size() / SizeOf(input)) +
                           " values, expected " + std::to_string(data.size()) + " samples x " +
                           std::to_string(sample.size()));
  }
  for (size_t i = 0; i < data.size(); i++) {
    if (data.y[i] >= classes) {
      return InvalidArgument(what + ".y[" + std::to_string(i) + "] = " + std::to_string(data.y[i]) +
                             " is not a class: labels must be < " + std::to_string(classes));
    }
  }
  return OkStatus();
}

Dataset Subset(const Dataset& data, const std::vector<uint32_t>& ids) {
  Dataset out;
  out.sample = data.sample;
  out.input = data.input;
  const size_t d = data.sample_bytes();
  out.x.resize(ids.size() * d);
  out.y.resize(ids.size());
  for (size_t i = 0; i < ids.size(); i++) {
    std::copy(data.x.begin() + ids[i] * d, data.x.begin() + (ids[i] + 1) * d, out.x.begin() + i * d);
    out.y[i] = data.y[ids[i]];
  }
  return out;
}

}  // namespace qf::train
