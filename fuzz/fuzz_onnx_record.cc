// libFuzzer target: ONNX graph records (JSON + payload, split as fuzz_util.h's
// SplitOnnxInput says) through api::ModelHandle::ImportOnnx (what the JS importOnnx calls:
// the record reader, constant folding, the importer and Model::Create with its limits).
// Also: an imported model's Describe() rebuilds the same model, its report parses, and a
// cheap model predicts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "api/model_api.h"
#include "core/json.h"
#include "fuzz_util.h"
#include "nn/model_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string json;
  std::vector<uint8_t> payload;
  if (!qf::fuzz::SplitOnnxInput(data, size, &json, &payload)) return 0;
  // The last payload byte, when there is one, picks the options: float or 4-bit.
  const bool quantized = !payload.empty() && (payload.back() & 1);
  const char* options =
      quantized ? R"({"weightBits":4,"inputLayout":"nhwc"})" : R"({"inputLayout":"nhwc"})";
  qf::StatusOr<qf::api::ModelHandle> imported =
      qf::api::ModelHandle::ImportOnnx(json, payload.data(), payload.size(), options);
  if (!imported.ok()) return 0;
  const qf::api::ModelHandle& model = imported.value();
  QF_FUZZ_REQUIRE(qf::ParseJson(model.import_report()).ok());

  qf::fuzz::CheckBuiltModel(model, size);
  return 0;
}
