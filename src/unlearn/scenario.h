// Forget scenarios (SPEC §4): which training samples a request erases.
//   "random:<fraction>"  a uniform random subset (seeded) of the training set
//   "class:<k>"          every sample of class k (test metrics then exclude class k)
//   "ids:[i, j, ...]"    explicit sample ids ("this user's data")
// Parsing and validation only: the split itself is plain index bookkeeping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "train/dataset.h"

namespace qf::unlearn {

struct ScenarioSplit {
  std::vector<uint32_t> forget_ids;       // ascending
  std::vector<uint32_t> retain_ids;       // ascending: every other training sample
  std::optional<Label> excluded_class;   // class:<k> scenarios: the class k
};

// Resolves `spec` against a training set of `labels.size()` samples with `classes`
// classes. Refuses (InvalidArgument, naming the problem) an unknown form, a fraction
// outside (0, 1), a class outside [0, classes) or absent from the data, ids out of
// range or repeated, and any scenario that would forget nothing or everything.
StatusOr<ScenarioSplit> ResolveScenario(const std::string& spec, const std::vector<Label>& labels,
                                        size_t classes, uint64_t seed);

// The samples of `data` whose label is not `excluded` (the test set of a class scenario).
train::Dataset WithoutClass(const train::Dataset& data, Label excluded);

}  // namespace qf::unlearn
