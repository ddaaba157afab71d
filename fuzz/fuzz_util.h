// Helpers shared by the libFuzzer targets and the seed generator: a check that reports
// and aborts (libFuzzer records the input as a crash), deterministic pixels, the cost
// bound under which a target runs a model forward, and the model file's framing split
// and joined again. Fuzz-only: the engine itself reports errors as Status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/model_api.h"
#include "core/json.h"
#include "io/inflate.h"
#include "io/model_file.h"
#include "nn/model_json.h"

// A property of the engine that must hold for every input; failing it is a finding.
#define QF_FUZZ_REQUIRE(cond)                                                               \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace qf::fuzz {

// n pixels from a small LCG seeded by `seed`: the same input always sees the same pixels.
inline std::vector<uint8_t> Pixels(size_t n, uint64_t seed) {
  std::vector<uint8_t> x(n);
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (uint8_t& p : x) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    p = uint8_t(s >> 56);
  }
  return x;
}

// n samples for `model` from Pixels(seed): the pixels themselves, or (a model taking float32
// features) their values minus 128 as float32, as bytes.
inline std::vector<uint8_t> Inputs(const api::ModelHandle& model, size_t n, uint64_t seed) {
  const std::vector<uint8_t> pixels = Pixels(n * model.sample_size(), seed);
  if (model.input_type() == DType::kUint8) return pixels;
  std::vector<uint8_t> x(pixels.size() * sizeof(float));
  for (size_t i = 0; i < pixels.size(); i++) {
    const float v = float(pixels[i]) - 128.0f;
    std::memcpy(x.data() + 4 * i, &v, 4);
  }
  return x;
}

// The model's logits for `x` (what Inputs gives).
inline StatusOr<std::vector<float>> Predict(const api::ModelHandle& model,
                                            const std::vector<uint8_t>& x) {
  return model.Predict(x.data(), x.size() / SizeOf(model.input_type()),
                       DTypeName(model.input_type()));
}

// Whether a forward of a couple of samples stays within a few milliseconds under the
// sanitizers. Models past this still load, save and reload; their cost is bounded by the
// engine's own limits (nn/model.h), which tests/nn/model_limits_test.cc covers.
inline bool CheapToRun(const api::ModelHandle& model) {
  return model.cost().ops <= (uint64_t(1) << 22) && model.cost().activations <= (size_t(1) << 20);
}

// What every model a target builds must do: its description rebuilds the same
// architecture, and (when cheap) it predicts.
inline void CheckBuiltModel(const api::ModelHandle& model, uint64_t seed) {
  const std::string described = model.Describe();
  const StatusOr<Json> description = ParseJson(described);
  QF_FUZZ_REQUIRE(description.ok());
  StatusOr<std::unique_ptr<nn::Model>> rebuilt = nn::ModelFromDescription(description.value());
  QF_FUZZ_REQUIRE(rebuilt.ok());
  QF_FUZZ_REQUIRE(rebuilt.value()->Describe().Dump() == described);
  if (CheapToRun(model)) QF_FUZZ_REQUIRE(Predict(model, Inputs(model, 1, seed)).ok());
}

// A model file cut at its framing (io/model_file.h): the 16 fixed bytes (magic, version,
// header length), the header text and the payload; the padding and checksum are dropped.
struct ModelFileParts {
  std::vector<uint8_t> fixed;
  std::string header;
  std::vector<uint8_t> payload;
};

inline uint32_t GetU32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}
inline size_t AlignUp8(size_t n) { return (n + 7) / 8 * 8; }

// False unless the magic is right and the header and its padding fit before the checksum.
inline bool SplitModelFile(const uint8_t* data, size_t size, ModelFileParts* parts) {
  if (size < 20 || std::memcmp(data, io::kModelFileMagic, 8) != 0) return false;
  const size_t header_bytes = GetU32(data + 12);
  if (header_bytes > size - 20 || AlignUp8(16 + header_bytes) > size - 4) return false;
  parts->fixed.assign(data, data + 16);
  parts->header.assign(reinterpret_cast<const char*>(data) + 16, header_bytes);
  parts->payload.assign(data + AlignUp8(16 + header_bytes), data + size - 4);
  return true;
}

// The file again, with the header length, zero padding and checksum made right (the
// header's own payloadBytes is left as it is).
inline std::vector<uint8_t> JoinModelFile(const ModelFileParts& parts) {
  std::vector<uint8_t> out(AlignUp8(16 + parts.header.size()), 0);
  std::memcpy(out.data(), parts.fixed.data(), 16);
  PutU32(out.data() + 12, uint32_t(parts.header.size()));
  if (!parts.header.empty()) {
    std::memcpy(out.data() + 16, parts.header.data(), parts.header.size());
  }
  out.insert(out.end(), parts.payload.begin(), parts.payload.end());
  out.resize(out.size() + 4);
  PutU32(out.data() + out.size() - 4, io::Crc32(out.data(), out.size() - 4));
  return out;
}

}  // namespace qf::fuzz

namespace qf::fuzz {

// An ONNX graph record as one fuzz input (fuzz_onnx_record.cc): 4 bytes little-endian
// JSON length J, the JSON text, then the payload (the rest).
inline bool SplitOnnxInput(const uint8_t* data, size_t size, std::string* json,
                           std::vector<uint8_t>* payload) {
  if (size < 4) return false;
  const size_t j = GetU32(data);
  if (j > size - 4) return false;
  json->assign(reinterpret_cast<const char*>(data) + 4, j);
  payload->assign(data + 4 + j, data + size);
  return true;
}

inline std::vector<uint8_t> JoinOnnxInput(const std::string& json, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out(4);
  PutU32(out.data(), uint32_t(json.size()));
  out.insert(out.end(), json.begin(), json.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace qf::fuzz
