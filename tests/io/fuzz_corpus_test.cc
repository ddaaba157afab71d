// The committed fuzz inputs (fuzz/corpus/) replayed in the test suite, natively and as
// wasm: every seed passes what its fuzz target checks, and every regression input (an
// input a fuzz target or review found to crash or exhaust memory) is refused as it
// should be. Not the fuzzing itself (scripts/fuzz.sh) nor the format tests beside this.
#include <catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "api/model_api.h"
#include "io/idx.h"
#include "io/io_test_util.h"
#include "io/model_file.h"

namespace qf::io {
namespace {

std::vector<uint8_t> Corpus(const std::string& target, const std::string& name) {
  const std::string path = std::string(QF_SOURCE_DIR) + "/fuzz/corpus/" + target + "/" + name;
  INFO(path);
  std::vector<uint8_t> bytes = test::ReadAll(path);
  REQUIRE(!bytes.empty());
  return bytes;
}

std::vector<float> Predict(const api::ModelHandle& m, const std::vector<uint8_t>& x, size_t n) {
  StatusOr<std::vector<float>> logits = m.Predict(x.data(), x.size(), "uint8");
  INFO(logits.status().message());
  REQUIRE(logits.ok());
  REQUIRE(logits.value().size() % n == 0);  // n samples' rows
  return std::move(logits).value();
}

TEST_CASE("the model-file seeds load, predict and round-trip bit for bit",
          "[engine][fuzz_corpus]") {
  for (const char* name : {"dense_2bit.qfm", "dense_3bit_noshadow.qfm", "conv_pool_bn.qfm",
                           "residual_float.qfm", "lenet_2bit_noshadow.qfm"}) {
    INFO(name);
    const std::vector<uint8_t> bytes = Corpus("model_file", name);
    StatusOr<api::ModelHandle> model = api::ModelHandle::Load(bytes.data(), bytes.size());
    INFO((model.ok() ? "" : model.status().message()));
    REQUIRE(model.ok());
    std::vector<uint8_t> x(3 * model.value().sample_size());
    for (size_t i = 0; i < x.size(); i++) x[i] = uint8_t(i * 37 + 11);
    const std::vector<float> logits = Predict(model.value(), x, 3);
    for (bool shadow : {true, false}) {
      StatusOr<std::vector<uint8_t>> saved = model.value().Save(shadow);
      REQUIRE(saved.ok());
      StatusOr<api::ModelHandle> again =
          api::ModelHandle::Load(saved.value().data(), saved.value().size());
      REQUIRE(again.ok());
      const std::vector<float> again_logits = Predict(again.value(), x, 3);
      CHECK(std::memcmp(again_logits.data(), logits.data(), logits.size() * sizeof(float)) == 0);
    }
    // The seeds are saved files of this build: saving again gives the same bytes.
    const bool shadow = std::string(name).find("noshadow") == std::string::npos;
    StatusOr<std::vector<uint8_t>> resaved = model.value().Save(shadow);
    REQUIRE(resaved.ok());
    CHECK(resaved.value() == bytes);
  }
}

TEST_CASE("version 1 files (before input types) load as pixels scaled by 1/255",
          "[engine][fuzz_corpus]") {
  // The same models as the version 2 seeds, saved before the model file said what its
  // input is: they predict exactly as those do, and save again as version 2.
  for (const char* name : {"dense_2bit.qfm", "conv_pool_bn.qfm"}) {
    INFO(name);
    const std::vector<uint8_t> old_bytes = Corpus("model_file", std::string("version1-") + name);
    const std::vector<uint8_t> new_bytes = Corpus("model_file", name);
    REQUIRE(old_bytes[8] == 1);
    REQUIRE(new_bytes[8] == 2);
    StatusOr<api::ModelHandle> old_model = api::ModelHandle::Load(old_bytes.data(), old_bytes.size());
    StatusOr<api::ModelHandle> new_model = api::ModelHandle::Load(new_bytes.data(), new_bytes.size());
    REQUIRE(old_model.ok());
    REQUIRE(new_model.ok());
    CHECK(old_model.value().input_type() == DType::kUint8);
    CHECK(old_model.value().Describe() == new_model.value().Describe());
    std::vector<uint8_t> x(3 * new_model.value().sample_size());
    for (size_t i = 0; i < x.size(); i++) x[i] = uint8_t(i * 53 + 7);
    const std::vector<float> a = Predict(old_model.value(), x, 3), b = Predict(new_model.value(), x, 3);
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    const bool shadow = std::string(name).find("noshadow") == std::string::npos;
    StatusOr<std::vector<uint8_t>> resaved = old_model.value().Save(shadow);
    REQUIRE(resaved.ok());
    CHECK(resaved.value() == new_bytes);
  }
}

// qforget 1.0 put the first quantized layer of every model on the pixel grid (fixed step
// 1/255, zero point 0), float features included, which clips them to [0, 1]. Its files
// (version 2) keep predicting as they did (the logits below were printed by 1.0's wasm
// build for this file) and save as version 2 again; new models of features learn that
// step, so their predictions reach outside [0, 1], and save as version 3.
TEST_CASE("version-2 files of float-feature models keep 1.0's pixel grid", "[engine][fuzz_corpus]") {
  const std::vector<uint8_t> bytes = Corpus("model_file", "version2-features_4bit.qfm");
  REQUIRE(bytes[8] == 2);
  StatusOr<api::ModelHandle> model = api::ModelHandle::Load(bytes.data(), bytes.size());
  REQUIRE(model.ok());
  std::vector<float> probe(3 * 6);
  for (size_t i = 0; i < probe.size(); i++) probe[i] = float((i * 53 + 7) % 29) / 5 - 3;
  StatusOr<std::vector<float>> logits = model.value().Predict(
      reinterpret_cast<const uint8_t*>(probe.data()), probe.size(), "float32");
  REQUIRE(logits.ok());
  REQUIRE(logits.value().size() == 9);
  const uint32_t expected[9] = {0xbe92d43c, 0xbec061e9, 0x3faa96a7, 0xbe7b58e5, 0xbea2e54f,
                                0x3f9f49d0, 0xbe687ef3, 0xbe86d02b, 0x3f950ac5};
  for (size_t i = 0; i < 9; i++) {
    uint32_t got;
    std::memcpy(&got, &logits.value()[i], 4);
    INFO(i);
    CHECK(got == expected[i]);
  }
  StatusOr<std::vector<uint8_t>> resaved = model.value().Save(true);
  REQUIRE(resaved.ok());
  CHECK(resaved.value() == bytes);

  StatusOr<api::ModelHandle> fresh = api::ModelHandle::Create(
      R"({"arch": "mlp", "inputShape": [6], "inputType": "float32", "numClasses": 3,
          "weightBits": 4, "seed": 11, "preprocess": {"mean": [0.5], "std": [2]}})");
  REQUIRE(fresh.ok());
  StatusOr<std::vector<uint8_t>> fresh_bytes = fresh.value().Save(true);
  REQUIRE(fresh_bytes.ok());
  CHECK(fresh_bytes.value()[8] == 3);
  CHECK(fresh_bytes.value().size() > bytes.size());  // the first layer's input step is state
}

TEST_CASE("a model file past the activation limit is refused before predict can allocate",
          "[engine][fuzz_corpus]") {
  // conv2d with 4096 pixels of padding on each side of a 1x1 image: 8193 x 8193 x 16 floats
  // per sample. It used to load, and predict() then asked for 4 GB per sample (17 TB with
  // 65536 filters, still a few hundred bytes of file).
  const std::vector<uint8_t> bytes = Corpus("model_file", "regression-padding-blowup.qfm");
  const auto loaded = LoadModel(bytes.data(), bytes.size());
  QF_REQUIRE_ERROR(loaded, StatusCode::kDataLoss, "header.model.layers[0]: ");
  CHECK_THAT(loaded.status().message(),
             Catch::Contains("past its limit of 134217728 activation values per sample"));
}

TEST_CASE("a model whose float layer overflows to NaN predicts without undefined behaviour",
          "[engine][fuzz_corpus]") {
  // Found by fuzz_model_file: a float conv2d with weights near 1e38 overflows to +-inf, a
  // residual sum turns them into NaN, and the next quantized layer's input quantizer
  // converted NaN to an integer code (undefined behaviour; UBSan stops the asan build).
  // The file is valid: every stored value is finite, only the forward pass is not.
  const std::vector<uint8_t> bytes = Corpus("model_file", "regression-nan-activation.qfm");
  StatusOr<api::ModelHandle> model = api::ModelHandle::Load(bytes.data(), bytes.size());
  INFO((model.ok() ? "" : model.status().message()));
  REQUIRE(model.ok());
  std::vector<uint8_t> x(2 * model.value().sample_size());
  for (size_t i = 0; i < x.size(); i++) x[i] = uint8_t(255 - i * 29);
  const std::vector<float> logits = Predict(model.value(), x, 2);
  StatusOr<std::vector<uint8_t>> saved = model.value().Save(false);
  REQUIRE(saved.ok());
  StatusOr<api::ModelHandle> again =
      api::ModelHandle::Load(saved.value().data(), saved.value().size());
  REQUIRE(again.ok());
  const std::vector<float> again_logits = Predict(again.value(), x, 2);
  CHECK(std::memcmp(again_logits.data(), logits.data(), logits.size() * sizeof(float)) == 0);
}

TEST_CASE("the IDX seeds parse, gzip-compressed or plain, to the same arrays",
          "[io][fuzz_corpus]") {
  struct Seed {
    const char* plain;
    const char* gz;
    std::vector<uint32_t> dims;
  };
  const Seed seeds[] = {{"images.idx3", "images.idx3.gz", {2, 3, 4}},
                        {"labels.idx1", "labels.idx1.gz", {5}},
                        {nullptr, "repetitive.idx3.gz", {8, 6, 6}},
                        {nullptr, "two_members.idx3.gz", {8, 6, 6}},
                        {nullptr, "noise.idx1.gz", {64}}};
  for (const Seed& s : seeds) {
    INFO(s.gz);
    const std::vector<uint8_t> gz = Corpus("idx", s.gz);
    StatusOr<IdxArray> unzipped = api::ParseIdxBytes(gz.data(), gz.size());
    INFO((unzipped.ok() ? "" : unzipped.status().message()));
    REQUIRE(unzipped.ok());
    CHECK(unzipped.value().dims == s.dims);
    if (s.plain) {
      const std::vector<uint8_t> plain = Corpus("idx", s.plain);
      StatusOr<IdxArray> parsed = ParseIdx(plain.data(), plain.size());
      REQUIRE(parsed.ok());
      CHECK(parsed.value().dims == s.dims);
      CHECK(parsed.value().data == unzipped.value().data);
    }
  }
}

}  // namespace
}  // namespace qf::io
