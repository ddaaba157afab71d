// libFuzzer target: the model-file loader, through api::ModelHandle::Load (what the JS
// loadModel calls). A file that loads must predict, and must survive save -> load with
// the same predictions bit for bit (with and without shadow weights) and the same bytes
// on a second save. Not a test of the format's details: tests/io/model_file_test.cc.
//
// A custom mutator keeps most mutants past the framing (the checksum, and the header
// length when the header text changes size), so the search reaches the header and the
// tensor table; a quarter of the mutants keep whatever framing the mutation left.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "api/model_api.h"
#include "fuzz_util.h"
#include "io/inflate.h"

namespace {

using qf::api::ModelHandle;

std::vector<float> Predict(const ModelHandle& m, const std::vector<uint8_t>& x, size_t n) {
  auto logits = qf::fuzz::Predict(m, x);
  QF_FUZZ_REQUIRE(logits.ok() && logits.value().size() % n == 0);
  return std::move(logits).value();
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  const unsigned strategy = seed % 4;
  qf::fuzz::ModelFileParts parts;
  if (strategy < 2 && qf::fuzz::SplitModelFile(data, size, &parts)) {
    // Mutate the header text or the payload alone, then frame the file again.
    const size_t room = max_size > size ? max_size - size : 0;
    auto mutate = [room](auto& part) {
      const size_t old = part.size();
      part.resize(old + room + 1);
      part.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(&part[0]), old, old + room));
    };
    if (strategy == 0) {
      mutate(parts.header);
    } else {
      mutate(parts.payload);
    }
    const std::vector<uint8_t> out = qf::fuzz::JoinModelFile(parts);
    if (out.size() <= max_size) {
      std::memcpy(data, out.data(), out.size());
      return out.size();
    }
  }
  size = LLVMFuzzerMutate(data, size, max_size);
  if (strategy != 3 && size >= 20) {  // keep the checksum right
    qf::fuzz::PutU32(data + size - 4, qf::io::Crc32(data, size - 4));
  }
  return size;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qf::StatusOr<ModelHandle> loaded = ModelHandle::Load(data, size);
  if (!loaded.ok()) return 0;
  const ModelHandle& model = loaded.value();
  // Predicting a model the engine accepts but that takes seconds per sample under the
  // sanitizers would only slow the search: such files still load, save and reload.
  const bool cheap = qf::fuzz::CheapToRun(model);
  constexpr size_t kSamples = 2;
  const std::vector<uint8_t> x = qf::fuzz::Inputs(model, kSamples, size);
  std::vector<float> logits;
  if (cheap) logits = Predict(model, x, kSamples);

  for (bool shadow : {true, false}) {
    qf::StatusOr<std::vector<uint8_t>> saved = model.Save(shadow);
    QF_FUZZ_REQUIRE(saved.ok());
    qf::StatusOr<ModelHandle> again = ModelHandle::Load(saved.value().data(), saved.value().size());
    QF_FUZZ_REQUIRE(again.ok());
    QF_FUZZ_REQUIRE(again.value().Describe() == model.Describe());
    if (cheap) QF_FUZZ_REQUIRE(SameBits(Predict(again.value(), x, kSamples), logits));
    // A saved file is a fixed point: loading and saving it again gives the same bytes.
    qf::StatusOr<std::vector<uint8_t>> resaved = again.value().Save(shadow);
    QF_FUZZ_REQUIRE(resaved.ok());
    QF_FUZZ_REQUIRE(resaved.value() == saved.value());
  }
  return 0;
}
