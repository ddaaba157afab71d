// Dataset checks and subsets.
#include "train/dataset.h"

namespace qf::train {

Status ValidateDataset(const Dataset& data, const Shape& sample, size_t classes,
                       const std::string& what) {
  if (data.size() == 0) return InvalidArgument(what + " is empty");
  if (data.sample != sample) {
    return InvalidArgument(what + " has samples of shape " + data.sample.ToString() +
                           ", the model expects " + sample.ToString());
  }
  if (data.x.size() != data.size() * sample.size()) {
    return InvalidArgument(what + ".x has " + std::to_string(data.x.size()) + " values, expected " +
                           std::to_string(data.size()) + " samples x " +
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
  const size_t d = data.sample.size();
  out.x.resize(ids.size() * d);
  out.y.resize(ids.size());
  for (size_t i = 0; i < ids.size(); i++) {
    std::copy(data.x.begin() + ids[i] * d, data.x.begin() + (ids[i] + 1) * d, out.x.begin() + i * d);
    out.y[i] = data.y[ids[i]];
  }
  return out;
}

}  // namespace qf::train
