// Forget scenarios.
#include "unlearn/scenario.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "core/random.h"
#include "core/json.h"

namespace qf::unlearn {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

StatusOr<double> ParseNumber(const std::string& text, const std::string& what) {
  StatusOr<Json> value = ParseJson(text);
  if (!value.ok() || !value.value().is_number()) {
    return InvalidArgument(what + " must be a number, got '" + text + "'");
  }
  return value.value().AsNumber();
}

ScenarioSplit Split(std::vector<uint32_t> forget, size_t n) {
  std::sort(forget.begin(), forget.end());
  ScenarioSplit split;
  std::vector<bool> in_forget(n, false);
  for (uint32_t id : forget) in_forget[id] = true;
  for (uint32_t i = 0; i < n; i++)
    (in_forget[i] ? split.forget_ids : split.retain_ids).push_back(i);
  return split;
}

}  // namespace

StatusOr<ScenarioSplit> ResolveScenario(const std::string& spec, const std::vector<Label>& labels,
                                        size_t classes, uint64_t seed) {
  const size_t n = labels.size();
  for (size_t i = 0; i < n; i++) {
    if (labels[i] >= classes) {
      return InvalidArgument("labels[" + std::to_string(i) + "] = " + std::to_string(labels[i]) +
                             " is not a class (numClasses is " + std::to_string(classes) + ")");
    }
  }
  if (n == 0) return InvalidArgument("the training set is empty");
  ScenarioSplit split;
  if (StartsWith(spec, "random:")) {
    QF_ASSIGN_OR_RETURN(const double fraction,
                        ParseNumber(spec.substr(7), "scenario random:<fraction>"));
    if (!(fraction > 0.0 && fraction < 1.0)) {
      return InvalidArgument("scenario random:<fraction> needs a fraction in (0, 1), got " +
                             spec.substr(7));
    }
    const size_t count = size_t(std::llround(fraction * double(n)));
    std::vector<uint32_t> ids(n);
    std::iota(ids.begin(), ids.end(), 0u);
    Rng rng(seed);
    rng.Shuffle(ids.data(), ids.size());
    ids.resize(count);
    split = Split(std::move(ids), n);
  } else if (StartsWith(spec, "class:")) {
    QF_ASSIGN_OR_RETURN(const double k, ParseNumber(spec.substr(6), "scenario class:<k>"));
    if (k != std::floor(k) || k < 0 || k >= double(classes)) {
      return InvalidArgument("scenario class:<k> needs a class in [0, " + std::to_string(classes) +
                             "), got " + spec.substr(6));
    }
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < n; i++) {
      if (labels[i] == Label(k)) ids.push_back(i);
    }
    split = Split(std::move(ids), n);
    split.excluded_class = Label(k);
  } else if (StartsWith(spec, "ids:")) {
    StatusOr<Json> parsed = ParseJson(spec.substr(4));
    if (!parsed.ok()) {
      return InvalidArgument("scenario ids:[...] is not a JSON array of sample ids: " +
                             parsed.status().message());
    }
    const Json& list = parsed.value();
    if (!list.is_array())
      return InvalidArgument("scenario ids:[...] needs a JSON array of sample ids");
    std::vector<uint32_t> ids;
    std::vector<bool> seen(n, false);
    for (size_t i = 0; i < list.size(); i++) {
      QF_ASSIGN_OR_RETURN(const int64_t id, ToInt(list.AsArray()[i], JsonPath("ids", i)));
      if (id < 0 || uint64_t(id) >= uint64_t(n)) {  // compared before narrowing to size_t
        return InvalidArgument("ids[" + std::to_string(i) + "] = " + std::to_string(id) +
                               " is not a training sample (the training set has ids 0.." +
                               std::to_string(n - 1) + ")");
      }
      if (seen[size_t(id)]) {
        return InvalidArgument("ids[" + std::to_string(i) + "] = " + std::to_string(id) +
                               " is repeated");
      }
      seen[size_t(id)] = true;
      ids.push_back(uint32_t(id));
    }
    split = Split(std::move(ids), n);
  } else {
    return InvalidArgument("scenario must be random:<fraction>, class:<k> or ids:[...], got '" +
                           spec + "'");
  }
  if (split.forget_ids.empty()) return InvalidArgument("scenario '" + spec + "' forgets no sample");
  if (split.retain_ids.empty())
    return InvalidArgument("scenario '" + spec + "' would forget every sample");
  return split;
}

train::Dataset WithoutClass(const train::Dataset& data, Label excluded) {
  std::vector<uint32_t> keep;
  for (uint32_t i = 0; i < data.size(); i++) {
    if (data.y[i] != excluded) keep.push_back(i);
  }
  return train::Subset(data, keep);
}

}  // namespace qf::unlearn
