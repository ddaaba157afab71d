// libFuzzer target: model specs as JSON text, through api::ModelHandle::Create (what the JS
// createModel calls: the JSON parser, nn::ModelSpecFromJson, the layer list and
// Model::Create with its limits). Also: any text that parses dumps to text that parses
// back to the same value, and a created model's Describe() rebuilds the same model.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "api/model_api.h"
#include "fuzz_util.h"
#include "core/json.h"
#include "nn/model_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const qf::StatusOr<qf::Json> json = qf::ParseJson(text);
  if (json.ok()) {
    const std::string dumped = json.value().Dump();
    const qf::StatusOr<qf::Json> back = qf::ParseJson(dumped);
    QF_FUZZ_REQUIRE(back.ok());
    QF_FUZZ_REQUIRE(back.value() == json.value());
    QF_FUZZ_REQUIRE(back.value().Dump() == dumped);
  }

  qf::StatusOr<qf::api::ModelHandle> created = qf::api::ModelHandle::Create(text);
  if (!created.ok()) return 0;
  const qf::api::ModelHandle& model = created.value();

  qf::fuzz::CheckBuiltModel(model, size);
  return 0;
}
