// The per-model limits of nn/model.h: what the built-in archs cost, specs past a limit
// refused before anything of their size is allocated (the fuzz regression specs in
// fuzz/corpus/model_spec/ among them), and eval batches sized to the activations.
#include <catch.hpp>
#include <string>

#include "api/model_api.h"
#include "io/io_test_util.h"
#include "nn/model.h"
#include "nn/model_json.h"

namespace qf::nn {
namespace {

StatusOr<std::unique_ptr<Model>> FromJson(const std::string& text) {
  StatusOr<Json> json = ParseJson(text);
  REQUIRE(json.ok());
  StatusOr<ModelSpec> spec = ModelSpecFromJson(json.value());
  if (!spec.ok()) return spec.status();
  return Model::Create(spec.value());
}

TEST_CASE("the built-in archs fit the limits, small images by far", "[engine][limits]") {
  struct Arch {
    const char* arch;
    Shape input;
    size_t share;  // at most this fraction (1/share) of each per-sample limit
  };
  for (const Arch& a :
       {Arch{"mlp", Shape{28, 28, 1}, 64}, Arch{"lenet", Shape{28, 28, 1}, 64},
        Arch{"resnet8", Shape{32, 32, 3}, 64}, Arch{"mobilenetv2", Shape{32, 32, 3}, 64},
        Arch{"lenet", Shape{96, 96, 3}, 32}, Arch{"resnet8", Shape{224, 224, 3}, 2},
        Arch{"mobilenetv2", Shape{224, 224, 3}, 2}}) {
    ModelSpec spec;
    spec.arch = a.arch;
    spec.input = a.input;
    auto model = Model::Create(spec);
    INFO(a.arch << " " << a.input.ToString() << ": "
                << (model.ok() ? "" : model.status().message()));
    REQUIRE(model.ok());
    const BuildCost& cost = model.value()->cost();
    INFO("params " << cost.params << ", activations " << cost.activations << ", ops " << cost.ops);
    CHECK(cost.activations <= kMaxActivationValues / a.share);
    CHECK(cost.ops <= kMaxOpsPerSample / a.share);
    CHECK(cost.params > 0);
  }
}

TEST_CASE("specs past a limit are refused, naming the layer and the limit", "[engine][limits]") {
  struct Case {
    const char* file;  // in fuzz/corpus/model_spec/
    const char* layer;
    const char* limit;
  };
  const Case cases[] = {
      // conv2d padding 4096 on each side of a 1x1 image: a 200-byte spec whose predict()
      // asked for 4 GB per sample natively (17 TB with 65536 filters, which the 32-bit
      // size checks of wasm happened to refuse as an impossible geometry).
      {"regression-padding-blowup.json", "layers[0]: the output [8193, 8193, 16]",
       "activation values per sample"},
      // ReLUs on a 4096 x 4096 input: each keeps a 64 MB output per sample.
      {"regression-many-activations.json", "layers[7]: the output [4096, 4096, 1]",
       "activation values per sample"},
      // max_pool2d with a 4096 x 4096 window at stride 1: 2.8e14 reads per sample (hours).
      {"regression-pool-hang.json", "layers[0]: ", "operations per sample"},
      // conv2d 64 x 64 on a 4096 x 4096 image: 7e10 multiply-adds per sample.
      {"regression-conv-hang.json", "layers[0]: ", "operations per sample"},
  };
  for (const Case& c : cases) {
    const std::string path = std::string(QF_SOURCE_DIR) + "/fuzz/corpus/model_spec/" + c.file;
    INFO(path);
    const std::vector<uint8_t> bytes = test::ReadAll(path);
    REQUIRE(!bytes.empty());
    const std::string text(bytes.begin(), bytes.end());
    const auto model = FromJson(text);
    QF_REQUIRE_ERROR(model, StatusCode::kResourceExhausted, c.layer);
    CHECK_THAT(model.status().message(), Catch::Contains(c.limit));
    // The JS entry point says the same.
    QF_REQUIRE_ERROR(api::ModelHandle::Create(text), StatusCode::kResourceExhausted, c.limit);
  }
}

TEST_CASE("eval batches shrink as samples grow", "[engine][limits]") {
  auto small = FromJson(R"({"arch":"lenet","inputShape":[28,28,1],"numClasses":10,
                            "weightBits":4})");
  REQUIRE(small.ok());
  CHECK(small.value()->eval_batch() == 256);
  // A 4096 x 4096 image is 16M values: three fit the 64M of a batch (256 would be 16 GB).
  auto big = FromJson(R"({"arch":"custom","inputShape":[4096,4096,1],"numClasses":2,
                          "weightBits":8,"layers":[{"type":"global_avg_pool"},
                          {"type":"dense","units":2}]})");
  REQUIRE(big.ok());
  CHECK(big.value()->cost().activations > (size_t(1) << 24));
  CHECK(big.value()->eval_batch() == 3);
  // With three ReLU outputs kept as well, one sample is already past 64M: batches of one.
  auto bigger = FromJson(R"({"arch":"custom","inputShape":[4096,4096,1],"numClasses":2,
                             "weightBits":8,"layers":[{"type":"relu"},{"type":"relu"},
                             {"type":"relu"},{"type":"global_avg_pool"},
                             {"type":"dense","units":2}]})");
  REQUIRE(bigger.ok());
  CHECK(bigger.value()->eval_batch() == 1);
}

TEST_CASE("im2col matrices count as scratch, the largest one only", "[engine][limits]") {
  // lenet on 28x28: conv1's matrix is 784 x 25, conv2's 196 x 400; the dense layers
  // have none. Layers run one at a time, so only the larger is counted, and not as kept
  // activations.
  auto lenet = FromJson(R"({"arch":"lenet","inputShape":[28,28,1],"numClasses":10,
                            "weightBits":4})");
  REQUIRE(lenet.ok());
  CHECK(lenet.value()->cost().scratch == 196 * 400);
  CHECK(lenet.value()->cost().activations < 196 * 400);
  // One 3x3 filter on a 4096 x 4096 image: 16M outputs fit, its 151M-value matrix not.
  auto big = FromJson(R"({"arch":"custom","inputShape":[4096,4096,1],"numClasses":2,
                          "weightBits":8,"layers":[{"type":"conv2d","filters":1,"kernel":3,
                          "padding":"same"},{"type":"global_avg_pool"},
                          {"type":"dense","units":2}]})");
  QF_REQUIRE_ERROR(big, StatusCode::kResourceExhausted, "an im2col matrix of 16777216 x 9");
  CHECK_THAT(big.status().message(), Catch::Contains("activation values per sample"));
}

}  // namespace
}  // namespace qf::nn
