// Models as JSON layer lists: every built-in arch described and rebuilt as "custom" (same
// parameters, same predictions), a hand-written custom model that trains, and the error
// message of every class of bad description. Not the model file (tests/io/model_file_test).
#include "nn/layer_list.h"

#include <catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/json.h"
#include "nn/activations.h"
#include "nn/model_json.h"
#include "train/synthetic.h"
#include "train/trainer.h"

namespace qf::nn {
namespace {

Json MustParse(std::string_view text) {
  StatusOr<Json> j = ParseJson(text);
  INFO(text << "\n" << (j.ok() ? "" : j.status().message()));
  REQUIRE(j.ok());
  return j.value();
}

std::unique_ptr<Model> MustCreate(const ModelSpec& spec) {
  auto model = Model::Create(spec);
  INFO((model.ok() ? "" : model.status().message()));
  REQUIRE(model.ok());
  return std::move(model).value();
}

std::vector<uint8_t> Pixels(size_t n, const Shape& sample, uint32_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> x(n * sample.size());
  for (uint8_t& v : x) v = uint8_t(rng.Below(256));
  return x;
}

TEST_CASE("every built-in arch round-trips through its JSON description", "[engine][layers_json]") {
  for (const char* arch : {"mlp", "lenet", "resnet8", "mobilenetv2"}) {
    for (const auto& [bits, scheme] :
         {std::pair{4, quant::WeightScheme::kUniform}, std::pair{4, quant::WeightScheme::kCodebook},
          std::pair{3, quant::WeightScheme::kApot}, std::pair{32, quant::WeightScheme::kUniform}}) {
      INFO(arch << " bits " << bits << " " << quant::SchemeName(scheme));
      ModelSpec spec;
      spec.arch = arch;
      spec.input = Shape{12, 12, 1};
      spec.classes = 7;
      spec.weight_bits = bits;
      spec.weight_scheme = scheme;
      spec.edge_bits = 8;
      spec.per_channel = bits != 32;
      spec.seed = 11;
      auto original = MustCreate(spec);
      const Json description = original->Describe();
      CHECK(description.Find("arch")->AsString() == arch);
      CHECK(description.Find("numClasses")->AsNumber() == 7);
      CHECK(description.Find("layers")->is_array());

      // As the JS API passes it: JSON text, arch "custom".
      Json options = MustParse(description.Dump());
      options.Set("arch", Json::String("custom"));
      options.Set("seed", Json::Number(99));  // different init: values are copied below
      StatusOr<ModelSpec> custom_spec = ModelSpecFromJson(options);
      INFO((custom_spec.ok() ? "" : custom_spec.status().message()));
      REQUIRE(custom_spec.ok());
      auto rebuilt = MustCreate(custom_spec.value());
      CHECK(LayersToJson(rebuilt->net()) == *description.Find("layers"));

      const std::vector<Param*>& a = original->params();
      const std::vector<Param*>& b = rebuilt->params();
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); i++) {
        INFO(a[i]->name);
        CHECK(a[i]->name == b[i]->name);
        CHECK(a[i]->kind == b[i]->kind);
        REQUIRE(a[i]->value.shape() == b[i]->value.shape());
        b[i]->value = a[i]->value;
      }
      rebuilt->OnParamsChanged();

      const std::vector<uint8_t> x = Pixels(5, spec.input, 3);
      Tensor la, lb;
      original->Forward(x.data(), 5, &la, Mode::kEval);
      rebuilt->Forward(x.data(), 5, &lb, Mode::kEval);
      REQUIRE(la.shape() == lb.shape());
      CHECK(std::memcmp(la.data(), lb.data(), la.size() * sizeof(float)) == 0);

      // The description itself rebuilds the built-in arch (what the model file does).
      StatusOr<std::unique_ptr<Model>> again = ModelFromDescription(description);
      INFO((again.ok() ? "" : again.status().message()));
      REQUIRE(again.ok());
      CHECK(again.value()->Describe() == description);
    }
  }
}

const char kCustom[] = R"({
  "arch": "custom", "inputShape": [12, 12, 1], "numClasses": 9, "weightBits": 4, "seed": 5,
  "layers": [
    {"type": "conv2d", "filters": 8, "kernel": [3, 3], "padding": "same", "bits": 8},
    {"type": "batch_norm", "momentum": 0.2},
    {"type": "relu"},
    {"type": "residual", "body": [
      {"type": "depthwise_conv2d", "kernel": 3, "padding": [1, 1, 1, 1], "bits": 3},
      {"type": "relu6"}]},
    {"type": "max_pool2d", "pool": 2},
    {"type": "avg_pool2d", "pool": [3, 3], "stride": 1, "padding": "same"},
    {"type": "residual",
     "body": [{"type": "conv2d", "filters": 16, "kernel": 1, "stride": [2, 2]}],
     "shortcut": [{"type": "conv2d", "filters": 16, "kernel": 1, "stride": 2,
                   "perChannel": false, "bits": 2}]},
    {"type": "relu"},
    {"type": "sequential", "layers": [{"type": "global_avg_pool"}, {"type": "flatten"}]},
    {"type": "dense", "units": 9, "bits": 32}
  ]
})";

TEST_CASE("a hand-written custom model builds, trains and describes itself in full",
          "[engine][layers_json]") {
  StatusOr<ModelSpec> spec = ModelSpecFromJson(MustParse(kCustom));
  INFO((spec.ok() ? "" : spec.status().message()));
  REQUIRE(spec.ok());
  CHECK(spec.value().arch == "custom");
  CHECK(spec.value().seed == 5);
  CHECK(spec.value().edge_bits == 8);
  auto model = MustCreate(spec.value());

  // Names follow the nesting; options are spelled out with every default.
  std::vector<std::string> names;
  for (Param* p : model->params()) names.push_back(p->name);
  CHECK(names.front() == "0.weight");
  CHECK(std::find(names.begin(), names.end(), "3.body.0.weight_step") != names.end());
  CHECK(std::find(names.begin(), names.end(), "6.shortcut.0.weight") != names.end());
  const Json layers = LayersToJson(model->net());
  CHECK(layers.AsArray()[1].Dump() == R"({"type":"batch_norm","momentum":0.2,"eps":1e-05})");
  CHECK(layers.AsArray()[3].Dump() ==
        R"({"type":"residual","body":[{"type":"depthwise_conv2d","kernel":3,"stride":1,)"
        R"("padding":[1,1,1,1],"bits":3,"perChannel":true},{"type":"relu6"}]})");
  CHECK(layers.AsArray()[5].Dump() ==
        R"({"type":"avg_pool2d","pool":3,"stride":1,"padding":"same"})");
  CHECK(layers.AsArray()[6].AsObject()[2].second.AsArray()[0].Dump() ==
        R"({"type":"conv2d","filters":16,"kernel":1,"stride":2,"padding":"valid","bits":2,)"
        R"("perChannel":false})");
  CHECK(model->Describe().Find("layers")->Dump() == layers.Dump());

  const train::Dataset data = test::SyntheticImages(160, 12, 9, 8);
  train::FitOptions o;
  o.epochs = 3;
  o.batch_size = 32;
  o.lr = 0.05f;
  auto history = train::Fit(*model, data, o);
  INFO((history.ok() ? "" : history.status().message()));
  REQUIRE(history.ok());
  REQUIRE(history.value().size() == 3);
  CHECK(std::isfinite(history.value().back().loss));
  CHECK(history.value().back().loss < history.value().front().loss);
}

TEST_CASE("a capped ReLU built in C++ round-trips with its cap", "[engine][layers_json]") {
  Sequential net;
  net.Add(std::make_unique<Relu>(3.5f));
  net.Add(std::make_unique<Relu>(6.0f));
  net.Add(std::make_unique<Relu>(std::numeric_limits<float>::infinity()));
  const Json j = LayersToJson(net);
  CHECK(j.Dump() == R"([{"type":"relu","cap":3.5},{"type":"relu6"},{"type":"relu"}])");
  auto back = LayersFromJson(j, ModelSpec());
  REQUIRE(back.ok());
  CHECK(LayersToJson(*back.value()) == j);
  CHECK(static_cast<const Relu&>(back.value()->layer(0)).cap() == 3.5f);
}

TEST_CASE("layer names map to JSON paths", "[engine][layers_json]") {
  CHECK(LayerPathFromName("3", "layers") == "layers[3]");
  CHECK(LayerPathFromName("3.body.1", "layers") == "layers[3].body[1]");
  CHECK(LayerPathFromName("5.2.shortcut.0", "layers") == "layers[5].layers[2].shortcut[0]");
  CHECK(LayerPathFromName("3.body", "layers").empty());
  CHECK(LayerPathFromName("x", "layers").empty());
  CHECK(LayerPathFromName("", "layers").empty());
  CHECK(LayerPathFromName("1..2", "layers").empty());
}

// A custom model on [8, 8, 1] with 4 classes around the given layers.
std::string Custom(const std::string& layers, const std::string& input = "[8, 8, 1]") {
  return R"({"arch": "custom", "inputShape": )" + input +
         R"(, "numClasses": 4, "weightBits": 4, "layers": )" + layers + "}";
}

TEST_CASE("bad descriptions are refused with the key path named", "[engine][layers_json]") {
  const std::string flat_head = R"([{"type": "flatten"}, )";
  const std::string tail = R"({"type": "flatten"}, {"type": "dense", "units": 4}])";
  const std::string base =
      R"("arch": "mlp", "inputShape": [8, 8, 1], "numClasses": 4, "weightBits": 4)";
  struct Case {
    std::string json;
    StatusCode code;
    std::string fragment;
  };
  const StatusCode kBad = StatusCode::kInvalidArgument;
  std::string deep = R"({"type": "flatten"})";
  for (int i = 0; i < 18; i++) deep = R"({"type": "sequential", "layers": [)" + deep + "]}";
  const std::vector<Case> cases = {
      // model-level keys
      {"[]", kBad, "options: expected an object, found array"},
      {"{" + base + R"(, "colour": "red"})", kBad, "colour: unknown key"},
      {R"({"inputShape": [8, 8, 1], "numClasses": 4, "weightBits": 4})", kBad,
       "arch: required key is missing"},
      {R"({"arch": "vgg", "inputShape": [8], "numClasses": 4, "weightBits": 4})", kBad,
       "arch must be one of mlp, lenet, resnet8, mobilenetv2, custom; got 'vgg'"},
      {R"({"arch": "mlp", "inputShape": [], "numClasses": 4, "weightBits": 4})", kBad,
       "inputShape: expected 1 to 4 dimensions, got 0"},
      {R"({"arch": "mlp", "inputShape": [8, 0], "numClasses": 4, "weightBits": 4})", kBad,
       "inputShape[1]: 0 is outside the allowed range 1..4096"},
      {R"({"arch": "mlp", "inputShape": [4096, 4096, 2], "numClasses": 4, "weightBits": 4})", kBad,
       "inputShape: 33554432 values per sample exceed 16777216"},
      {R"({"arch": "mlp", "inputShape": "28x28", "numClasses": 4, "weightBits": 4})", kBad,
       "inputShape: expected an array, found string"},
      {R"({"arch": "mlp", "inputShape": [8], "numClasses": 1, "weightBits": 4})", kBad,
       "numClasses: 1 is outside the allowed range 2..65535"},
      {R"({"arch": "mlp", "inputShape": [8], "numClasses": 4})", kBad,
       "weightBits: required key is missing"},
      {R"({"arch": "mlp", "inputShape": [8], "numClasses": 4, "weightBits": 5})", kBad,
       "weightBits must be 2, 3, 4, 8 or 32 (float), got 5"},
      {"{" + base + R"(, "edgeBits": 16})", kBad, "edgeBits must be 2, 3, 4, 8 or 32"},
      {"{" + base + R"(, "perChannel": 1})", kBad, "perChannel: expected true or false"},
      {"{" + base + R"(, "seed": -1})", kBad, "seed: -1 is outside the allowed range 0..2^53"},
      {"{" + base + R"(, "seed": 1.5})", kBad, "seed: expected an integer, found number 1.5"},
      {"{" + base + R"(, "layers": []})", kBad, "layers: only allowed with arch \"custom\""},
      {R"({"arch": "custom", "inputShape": [8], "numClasses": 4, "weightBits": 4})", kBad,
       "layers: required with arch \"custom\""},
      {Custom("{}"), kBad, "layers: expected an array of layers, found object"},
      // layer keys, types and ranges
      {Custom(R"([{"type": "conv2d", "filtres": 8, "kernel": 3}])"), kBad,
       "layers[0].filtres: unknown key (conv2d takes type, filters, kernel, stride, padding, "
       "bits, perChannel, scheme, activationBits)"},
      // weight schemes
      {"{" + base + R"(, "weightScheme": "log"})", kBad,
       "weightScheme: unknown weight scheme \"log\" (expected uniform, asymmetric, pow2, apot "
       "or codebook)"},
      {"{" + base + R"(, "weightScheme": 2})", kBad, "weightScheme: expected a string"},
      {R"({"arch": "mlp", "inputShape": [8], "numClasses": 4, "weightBits": 8, "weightScheme": "pow2"})",
       kBad, "weightScheme: pow2 weights have 2, 3 or 4 bits"},
      {R"({"arch": "mlp", "inputShape": [8], "numClasses": 4, "weightBits": 32, "weightScheme": "apot"})",
       kBad, "weightScheme: apot needs quantized weights (2, 3, 4 or 8 bits), not float"},
      {Custom(flat_head + R"({"type": "dense", "units": 4, "bits": 32, "scheme": "codebook"}])"),
       kBad, "layers[1].scheme: codebook needs quantized weights"},
      {Custom(flat_head + R"({"type": "dense", "units": 4, "bits": 8, "scheme": "pow2"}])"), kBad,
       "layers[1].scheme: pow2 weights have 2, 3 or 4 bits"},
      {"{" + base + R"(, "activationBits": 2})", kBad,
       "activationBits: expected 8, or 4 with quantized weights, got 2"},
      {R"({"arch": "mlp", "inputShape": [8], "numClasses": 4, "weightBits": 32, "activationBits": 4})",
       kBad, "activationBits: expected 8, or 4 with quantized weights, got 4 with float weights"},
      {Custom(flat_head + R"({"type": "dense3d"}])"), kBad,
       "layers[1].type: unknown layer type \"dense3d\""},
      {Custom(R"([{"units": 4}])"), kBad, "layers[0].type: required key is missing"},
      {Custom(R"([{"type": 7}])"), kBad, "layers[0].type: expected a string, found number 7"},
      {Custom(R"(["relu"])"), kBad, "layers[0]: expected a layer object, found string"},
      {Custom(flat_head + R"({"type": "dense", "units": 0}])"), kBad,
       "layers[1].units: 0 is outside the allowed range 1..65536"},
      {Custom(flat_head + R"({"type": "dense", "units": "4"}])"), kBad,
       "layers[1].units: expected an integer, found string \"4\""},
      {Custom(flat_head + R"({"type": "dense"}])"), kBad,
       "layers[1].units: required key is missing"},
      {Custom(R"([{"type": "conv2d", "filters": 4}])"), kBad,
       "layers[0].kernel: required key is missing"},
      {Custom(R"([{"type": "conv2d", "filters": 4, "kernel": [3]}])"), kBad,
       "layers[0].kernel: expected an integer or [height, width], found an array of 1"},
      {Custom(R"([{"type": "conv2d", "filters": 4, "kernel": [3, 0]}])"), kBad,
       "layers[0].kernel[1]: 0 is outside the allowed range 1..4096"},
      {Custom(R"([{"type": "conv2d", "filters": 4, "kernel": 3, "stride": 0}])"), kBad,
       "layers[0].stride: 0 is outside the allowed range 1..4096"},
      {Custom(R"([{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "full"}])"), kBad,
       "layers[0].padding: expected \"valid\", \"same\" or [top, left, bottom, right], found "
       "\"full\""},
      {Custom(R"([{"type": "conv2d", "filters": 4, "kernel": 3, "padding": [1, 1, 1, -1]}])"), kBad,
       "layers[0].padding[3]: -1 is outside the allowed range 0..4096"},
      {Custom(R"([{"type": "conv2d", "filters": 4, "kernel": 3, "bits": 5}])"), kBad,
       "layers[0].bits: expected 2, 3, 4, 8 or 32 (float), got 5"},
      {Custom(R"([{"type": "depthwise_conv2d", "kernel": 3, "perChannel": "yes"}])"), kBad,
       "layers[0].perChannel: expected true or false, found string \"yes\""},
      {Custom(R"([{"type": "depthwise_conv2d", "kernel": 3, "filters": 4}])"), kBad,
       "layers[0].filters: unknown key (depthwise_conv2d takes"},
      {Custom(R"([{"type": "batch_norm", "momentum": 2}])"), kBad,
       "layers[0].momentum: expected a float32 in [0, 1], got 2"},
      {Custom(R"([{"type": "batch_norm", "eps": 0}])"), kBad,
       "layers[0].eps: expected a float32 in (0, inf), got 0"},
      {Custom(R"([{"type": "batch_norm", "eps": 1e-50}])"), kBad,
       "layers[0].eps: expected a float32 in (0, inf), got 1e-50"},
      {Custom(R"([{"type": "relu", "cap": -1}])"), kBad, "layers[0].cap: expected a float32 in (0"},
      {Custom(R"([{"type": "relu6", "cap": 6}])"), kBad,
       "layers[0].cap: unknown key (relu6 takes type)"},
      {Custom(R"([{"type": "max_pool2d", "pool": 0}])"), kBad,
       "layers[0].pool: 0 is outside the allowed range 1..4096"},
      {Custom(R"([{"type": "avg_pool2d", "size": 2}])"), kBad,
       "layers[0].size: unknown key (avg_pool2d takes type, pool, stride, padding)"},
      {Custom(R"([{"type": "residual"}])"), kBad, "layers[0].body: required key is missing"},
      {Custom(R"([{"type": "residual", "body": [{"type": "dense", "units": 0}]}])"), kBad,
       "layers[0].body[0].units: 0 is outside the allowed range 1..65536"},
      {Custom(R"([{"type": "residual", "body": [], "shortcut": {}}])"), kBad,
       "layers[0].shortcut: expected an array of layers, found object"},
      {Custom(R"([{"type": "sequential"}])"), kBad, "layers[0].layers: required key is missing"},
      {Custom("[" + deep + "]"), kBad, "layers nested deeper than 16 levels"},
      // what only building reveals, with the layer named by its JSON path
      {Custom(flat_head + R"({"type": "conv2d", "filters": 4, "kernel": 3}, )" + tail), kBad,
       "layers[1]: conv2d needs H x W x C inputs, got [64]"},
      {Custom(
           R"([{"type": "residual", "body": [{"type": "conv2d", "filters": 2, "kernel": 1}]}, )" +
           tail),
       kBad, "layers[0]: residual branches must have the same output shape"},
      {Custom(R"([{"type": "sequential", "layers": [{"type": "max_pool2d", "pool": 9}]}, )" + tail),
       kBad, "layers[0].layers[0]: max_pool2d window 9x9 is larger than the padded input 8x8"},
      {Custom(R"([{"type": "flatten"}, {"type": "dense", "units": 5}])"), kBad,
       "layers: the last layer produced output [5], expected [4] (numClasses)"},
      {Custom(R"([{"type": "flatten"}, {"type": "dense", "units": 4096}])", "[256, 256, 1]"),
       StatusCode::kResourceExhausted,
       "layers[1]: 65537 x 4096 more values would take the model past its limit of 16777216 "
       "parameter values"},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    StatusOr<Json> json = ParseJson(c.json);
    REQUIRE(json.ok());
    Status status;
    StatusOr<ModelSpec> spec = ModelSpecFromJson(json.value());
    if (!spec.ok()) {
      status = spec.status();
    } else {
      StatusOr<std::unique_ptr<Model>> model = Model::Create(spec.value());
      REQUIRE(!model.ok());
      status = model.status();
    }
    INFO(status.message());
    CHECK(status.code() == c.code);
    CHECK(status.message().find(c.fragment) != std::string::npos);
  }
}

TEST_CASE("a description whose layers disagree with its built-in arch is refused",
          "[engine][layers_json]") {
  ModelSpec spec;
  spec.arch = "lenet";
  spec.input = Shape{12, 12, 1};
  auto model = MustCreate(spec);
  Json d = model->Describe();
  Json layers = *d.Find("layers");
  Json first = layers.AsArray()[0];
  first.Set("filters", Json::Number(17));
  Json changed = Json::MakeArray();
  changed.Push(first);
  for (size_t i = 1; i < layers.size(); i++) changed.Push(layers.AsArray()[i]);
  d.Set("layers", changed);
  StatusOr<std::unique_ptr<Model>> again = ModelFromDescription(d, "model");
  REQUIRE(!again.ok());
  CHECK(again.status().message() ==
        "model.layers: does not match arch 'lenet' as this build defines it");
  Json tiny = model->Describe();
  tiny.Set("inputShape", MustParse("[2, 2, 1]"));
  again = ModelFromDescription(tiny, "model");
  REQUIRE(!again.ok());
  INFO(again.status().message());
  CHECK(again.status().message().find("model: 5: max_pool2d window 2x2 is larger than the "
                                      "padded input 1x1") == 0);
  d.Set("layers", Json::Null());
  again = ModelFromDescription(d, "model");
  REQUIRE(!again.ok());
  CHECK(again.status().message() == "model.layers: expected an array of layers, found null");
}

}  // namespace
}  // namespace qf::nn
