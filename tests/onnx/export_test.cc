// The ONNX exporter against the model it exports: every built-in architecture at 2, 4, 8
// and 32 bits, uint8 and float32 inputs with preprocessing, a few training steps in (so
// steps and BatchNorm statistics are not at their init), run through the test-side
// evaluator (onnx_eval.h) and compared with the model's own eval Forward. Also the
// record's structure. Without onnxruntime: the JS tests run the same graphs there.
#include "onnx/export.h"

#include <algorithm>
#include <catch.hpp>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/random.h"
#include "nn/model.h"
#include "nn/model_json.h"
#include "api/model_api.h"
#include "onnx/onnx_eval.h"
#include "train/trainer.h"

namespace qf::onnx {
namespace {

// n images side x side x channels; class k brightens a k-dependent 4x4 patch of channel
// k % channels over noise (learnable in a few steps).
train::Dataset Images(size_t n, size_t side, size_t channels, size_t classes, uint64_t seed) {
  Rng rng(seed);
  train::Dataset data;
  data.sample = Shape{side, side, channels};
  data.x.resize(n * side * side * channels);
  data.y.resize(n);
  const size_t cells = side / 4;
  for (size_t i = 0; i < n; i++) {
    const size_t k = rng.Below(uint32_t(classes));
    data.y[i] = Label(k);
    uint8_t* img = data.x.data() + i * side * side * channels;
    for (size_t p = 0; p < side * side * channels; p++) img[p] = uint8_t(rng.Below(96));
    const size_t cy = (k / cells) % cells * 4, cx = k % cells * 4, ch = k % channels;
    for (size_t y = cy; y < cy + 4; y++) {
      for (size_t x = cx; x < cx + 4; x++) {
        img[(y * side + x) * channels + ch] = uint8_t(150 + rng.Below(106));
      }
    }
  }
  return data;
}

// The same samples as float32 features (pixel / 255 * 2, so that the model's scale 0.5
// undoes it exactly in spirit, not in bits).
train::Dataset AsFloat(const train::Dataset& pixels) {
  train::Dataset data = pixels;
  data.input = DType::kFloat32;
  data.x.resize(pixels.x.size() * 4);
  for (size_t i = 0; i < pixels.x.size(); i++) {
    const float v = float(pixels.x[i]) / 255.0f * 2.0f;
    std::memcpy(data.x.data() + 4 * i, &v, 4);
  }
  return data;
}

struct Case {
  std::string arch;
  size_t side, channels;
  int bits;
  DType input;
};

std::string Describe(const Case& c) {
  return c.arch + " " + std::to_string(c.side) + "x" + std::to_string(c.side) + "x" +
         std::to_string(c.channels) + " " + std::to_string(c.bits) + "-bit " +
         DTypeName(c.input);
}

constexpr size_t kClasses = 5, kTrain = 64, kEval = 128;

std::unique_ptr<nn::Model> Trained(const Case& c, const train::Dataset& data) {
  nn::ModelSpec spec;
  spec.arch = c.arch;
  spec.input = Shape{c.side, c.side, c.channels};
  spec.classes = kClasses;
  spec.weight_bits = c.bits;
  spec.input_type = c.input;
  spec.input_scale = c.input == DType::kUint8 ? 1.0 / 255.0 : 0.5;
  spec.input_mean = c.channels == 1 ? std::vector<double>{0.25}
                                    : std::vector<double>{0.2, 0.3, 0.1};
  spec.input_std = c.channels == 1 ? std::vector<double>{0.5} : std::vector<double>{0.5, 0.4, 0.6};
  auto model = nn::Model::Create(spec);
  REQUIRE(model.ok());
  train::FitOptions o;
  o.epochs = 1;
  o.batch_size = 16;  // 4 steps
  o.lr = 0.02f;
  REQUIRE(train::Fit(*model.value(), data, o).ok());
  return std::move(model).value();
}

// The graph input holding data's samples [n, ...sample] in the model's type.
test::Tensor InputTensor(const train::Dataset& data) {
  test::Tensor t;
  t.type = data.input == DType::kUint8 ? "UINT8" : "FLOAT";
  t.dims = {int64_t(data.size())};
  for (size_t d : data.sample.dims()) t.dims.push_back(int64_t(d));
  t.v.resize(t.size());
  for (size_t i = 0; i < t.v.size(); i++) {
    if (data.input == DType::kUint8) {
      t.v[i] = float(data.x[i]);
    } else {
      std::memcpy(&t.v[i], data.x.data() + 4 * i, 4);
    }
  }
  return t;
}

// Structure: opset, IR version, producer, the input and output, names from the model.
void CheckStructure(nn::Model& model, const Json& record, bool qdq) {
  CHECK(record.Find("irVersion")->AsNumber() == 7);
  const Json* opsets = record.Find("opsets");
  REQUIRE(opsets->size() == 1);
  CHECK(opsets->Find("")->AsNumber() == 13);
  CHECK(record.Find("producer")->AsString() == std::string("qforget ") + QF_VERSION);
  const Json& in = record.Find("inputs")->AsArray().at(0);
  CHECK(in.Find("name")->AsString() == "input");
  CHECK(in.Find("type")->AsString() ==
        (model.input_type() == DType::kUint8 ? "UINT8" : "FLOAT"));
  CHECK(in.Find("shape")->AsArray().at(0).AsString() == "batch");
  CHECK(in.Find("shape")->size() == model.input_shape().rank() + 1);
  const Json& out = record.Find("outputs")->AsArray().at(0);
  CHECK(out.Find("name")->AsString() == "logits");
  CHECK(out.Find("shape")->AsArray().at(1).AsNumber() == double(model.classes()));

  std::set<std::string> tensors, produced;
  for (const Json& t : record.Find("tensors")->AsArray()) tensors.insert(t.Find("name")->AsString());
  for (const Json& n : record.Find("nodes")->AsArray()) {
    for (const Json& o : n.Find("outputs")->AsArray()) produced.insert(o.AsString());
  }
  CHECK(produced.count("logits") == 1);
  // Every weighted layer's weight is a value named as the parameter ("3.body.0.weight"):
  // an initializer (float) or a DequantizeLinear output (qdq); biases, BatchNorm state
  // and learned input steps are initializers of the same names.
  for (nn::Param* p : model.params()) {
    INFO(p->name);
    const bool weight = p->kind == nn::Param::Kind::kWeight;
    const bool quantized_weight = weight && tensors.count(p->name) == 0;
    if (quantized_weight) {
      CHECK(qdq);
      CHECK(produced.count(p->name) == 1);
      CHECK(tensors.count(p->name + "_codes") == 1);
    } else if (p->kind == nn::Param::Kind::kStep) {
      CHECK(tensors.count(p->name) == size_t(qdq));
    } else if (p->kind == nn::Param::Kind::kNorm && tensors.count(p->name) == 0) {
      // A BatchNorm on channels-last features of rank >= 2: its folded affine.
      const std::string layer = p->name.substr(0, p->name.rfind('.'));
      CHECK(tensors.count(layer + ".scale") == 1);
      CHECK(tensors.count(layer + ".shift") == 1);
    } else {
      CHECK(tensors.count(p->name) == 1);
    }
  }
}

// What the comparison found over the samples.
struct Agreement {
  size_t samples = 0, argmax_equal = 0, within = 0;
  double worst_ratio = 0;  // max over samples of diff / allowed
};

// export.h's bound (2) for one sample: 1e-4 * max|logit| + 16 * s_last * max|W_last|.
double Allowed(const test::Evaluation& e, const Json& record, double max_logit) {
  double unit = 0;
  for (const Json& node : record.Find("nodes")->AsArray()) {
    const auto& outs = node.Find("outputs")->AsArray();
    if (outs[0].AsString() != "logits") continue;
    const auto& ins = node.Find("inputs")->AsArray();
    // The last layer's input step: the scale of the DequantizeLinear that feeds it.
    double step = 0;
    for (const Json& n : record.Find("nodes")->AsArray()) {
      if (n.Find("outputs")->AsArray()[0].AsString() == ins[0].AsString() &&
          n.Find("op")->AsString() == "DequantizeLinear") {
        step = e.at(n.Find("inputs")->AsArray()[1].AsString()).v[0];
      }
    }
    float w = 0;
    for (float v : e.at(ins[1].AsString()).v) w = std::max(w, std::fabs(v));
    unit = step * double(w);
  }
  return 1e-4 * max_logit + 16 * unit;
}

Agreement Compare(const Tensor& engine, const test::Evaluation& e, const Json& record,
                  bool qdq) {
  const test::Tensor& onnx = e.at("logits");
  const size_t classes = engine.shape()[1];
  REQUIRE(onnx.dims == std::vector<int64_t>{int64_t(engine.shape()[0]), int64_t(classes)});
  Agreement a;
  a.samples = engine.shape()[0];
  for (size_t i = 0; i < a.samples; i++) {
    const float* x = engine.data() + i * classes;
    const float* y = onnx.v.data() + i * classes;
    double max_logit = 0, diff = 0;
    for (size_t j = 0; j < classes; j++) {
      max_logit = std::max(max_logit, double(std::fabs(x[j])));
      diff = std::max(diff, double(std::fabs(x[j] - y[j])));
    }
    const double allowed = qdq ? Allowed(e, record, max_logit) : 1e-5 * max_logit;
    a.worst_ratio = std::max(a.worst_ratio, diff / allowed);
    a.within += diff <= allowed;
    a.argmax_equal += std::max_element(x, x + classes) - x == std::max_element(y, y + classes) - y;
  }
  return a;
}

// Exports `model` in its default format (qdq when `qdq`), checks the record's
// structure, runs it on `data` and compares with the model's eval Forward.
Agreement ExportAndCompare(nn::Model& model, const train::Dataset& data, bool qdq) {
  StatusOr<ExportedGraph> graph = ExportOnnx(model);
  INFO(graph.status().message());
  REQUIRE(graph.ok());
  StatusOr<Json> record = ParseJson(graph.value().json);
  REQUIRE(record.ok());
  CheckStructure(model, record.value(), qdq);
  Tensor logits;
  model.Forward(data.x.data(), data.size(), &logits, nn::Mode::kEval);
  const test::Evaluation e = test::Run(record.value(), graph.value().payload, InputTensor(data));
  return Compare(logits, e, record.value(), qdq);
}

TEST_CASE("exported graphs compute what the model computes", "[onnx-export]") {
  const std::vector<Case> archs = {{"mlp", 12, 1, 0, DType::kUint8},
                                   {"lenet", 12, 1, 0, DType::kUint8},
                                   {"resnet8", 16, 3, 0, DType::kUint8},
                                   {"mobilenetv2", 16, 3, 0, DType::kUint8}};
  size_t total = 0, argmax = 0, within = 0;
  for (Case c : archs) {
    const train::Dataset pixels = Images(kTrain + kEval, c.side, c.channels, kClasses, 7);
    for (int bits : {2, 4, 8, 32}) {
      for (DType input : {DType::kUint8, DType::kFloat32}) {
        c.bits = bits;
        c.input = input;
        INFO(Describe(c));
        const train::Dataset all = input == DType::kUint8 ? pixels : AsFloat(pixels);
        std::vector<uint32_t> train_ids(kTrain), eval_ids(kEval);
        for (size_t i = 0; i < kTrain; i++) train_ids[i] = uint32_t(i);
        for (size_t i = 0; i < kEval; i++) eval_ids[i] = uint32_t(kTrain + i);
        const train::Dataset train_set = train::Subset(all, train_ids);
        const train::Dataset eval_set = train::Subset(all, eval_ids);
        std::unique_ptr<nn::Model> model = Trained(c, train_set);

        const bool qdq = bits < 32;
        const Agreement a = ExportAndCompare(*model, eval_set, qdq);
        UNSCOPED_INFO(Describe(c) << ": argmax " << a.argmax_equal << "/" << a.samples
                                  << ", within " << a.within << ", worst diff/allowed "
                                  << a.worst_ratio);
        if (!qdq) {
          CHECK(a.within == a.samples);  // float: 1e-5 of the largest |logit|
          CHECK(a.argmax_equal == a.samples);
        } else {
          CHECK(a.within + 2 >= a.samples);
          CHECK(a.argmax_equal + 2 >= a.samples);
        }
        total += a.samples;
        argmax += a.argmax_equal;
        within += a.within;
      }
    }
  }
  UNSCOPED_INFO("over all: argmax " << argmax << "/" << total << ", within " << within);
  CHECK(double(argmax) >= 0.99 * double(total));
  CHECK(double(within) >= 0.995 * double(total));
}

std::unique_ptr<nn::Model> FromJson(const std::string& json) {
  StatusOr<Json> parsed = ParseJson(json);
  REQUIRE(parsed.ok());
  StatusOr<nn::ModelSpec> spec = nn::ModelSpecFromJson(parsed.value());
  INFO(spec.status().message());
  REQUIRE(spec.ok());
  auto model = nn::Model::Create(spec.value());
  INFO(model.status().message());
  REQUIRE(model.ok());
  return std::move(model).value();
}

void Train(nn::Model& model, const train::Dataset& data) {
  train::FitOptions o;
  o.epochs = 1;
  o.batch_size = 16;
  o.lr = 0.02f;
  REQUIRE(train::Fit(model, data, o).ok());
}

std::vector<std::string> Ops(const Json& record) {
  std::vector<std::string> ops;
  for (const Json& n : record.Find("nodes")->AsArray()) ops.push_back(n.Find("op")->AsString());
  return ops;
}

// Every layer type and option the built-in archs leave out: explicit and asymmetric
// pads, a capped ReLU, avg_pool2d with SAME padding (border windows count fewer cells),
// a residual with a float conv shortcut, a non-square depthwise window, max_pool2d with
// explicit pads, flatten of an NCHW tensor mid-network, BatchNorm on [N, F], per-tensor
// steps, float layers inside a quantized model, a residual on [N, F].
constexpr const char* kEveryLayer = R"({"arch": "custom", "inputShape": [10, 10, 2],
  "numClasses": 4, "weightBits": 4, "preprocess": {"mean": [0.3, 0.1], "std": [0.7]},
  "layers": [
    {"type": "conv2d", "filters": 6, "kernel": 3, "padding": [1, 0, 1, 2], "perChannel": false},
    {"type": "batch_norm"},
    {"type": "relu", "cap": 3.5},
    {"type": "avg_pool2d", "pool": 3, "stride": 2, "padding": "same"},
    {"type": "residual",
     "body": [{"type": "depthwise_conv2d", "kernel": [3, 2], "padding": "same", "bits": 8},
              {"type": "batch_norm"}, {"type": "relu"}],
     "shortcut": [{"type": "conv2d", "filters": 6, "kernel": 1, "bits": 32}]},
    {"type": "max_pool2d", "pool": 2, "stride": 1, "padding": [1, 1, 0, 0]},
    {"type": "flatten"},
    {"type": "batch_norm"},
    {"type": "dense", "units": 12, "bits": 2},
    {"type": "relu6"},
    {"type": "residual", "body": [{"type": "dense", "units": 12, "bits": 32}]},
    {"type": "dense", "units": 4, "bits": 8}]})";

TEST_CASE("exported graphs of custom models cover every layer type", "[onnx-export]") {
  const train::Dataset all = Images(64 + 128, 10, 2, 4, 3);
  std::vector<uint32_t> train_ids(64), eval_ids(128);
  for (uint32_t i = 0; i < 64; i++) train_ids[i] = i;
  for (uint32_t i = 0; i < 128; i++) eval_ids[i] = 64 + i;
  const train::Dataset train_set = train::Subset(all, train_ids);
  const train::Dataset eval_set = train::Subset(all, eval_ids);

  SECTION("every layer, qdq") {
    auto model = FromJson(kEveryLayer);
    Train(*model, train_set);
    const Agreement a = ExportAndCompare(*model, eval_set, true);
    INFO("argmax " << a.argmax_equal << ", within " << a.within << ", worst " << a.worst_ratio);
    CHECK(a.within + 1 >= a.samples);
    CHECK(a.argmax_equal + 1 >= a.samples);
    StatusOr<ExportedGraph> graph = ExportOnnx(*model);
    REQUIRE(graph.ok());
    const std::vector<std::string> ops = Ops(ParseJson(graph.value().json).value());
    for (const char* op : {"Cast", "Mul", "Sub", "Div", "Transpose", "Conv", "Clip", "Relu",
                           "AveragePool", "MaxPool", "Flatten", "BatchNormalization", "Gemm",
                           "Add", "QuantizeLinear", "DequantizeLinear"}) {
      INFO(op);
      CHECK(std::count(ops.begin(), ops.end(), op) > 0);
    }
  }
  SECTION("every layer as a float model") {
    std::string json = kEveryLayer;
    json.replace(json.find("\"weightBits\": 4"), 15, "\"weightBits\": 32");
    // The layers' own bits stay: make them float too.
    for (const char* b : {", \"bits\": 8", ", \"bits\": 2"}) {
      for (size_t at; (at = json.find(b)) != std::string::npos;) json.erase(at, std::strlen(b));
    }
    auto model = FromJson(json);
    Train(*model, train_set);
    const Agreement a = ExportAndCompare(*model, eval_set, false);
    CHECK(a.within == a.samples);
    CHECK(a.argmax_equal == a.samples);
  }
  SECTION("features of rank 2, no spatial layers: the layout is kept") {
    auto model = FromJson(R"({"arch": "custom", "inputShape": [3, 4], "numClasses": 3,
      "inputType": "float32", "weightBits": 4, "layers": [
        {"type": "batch_norm"}, {"type": "relu"}, {"type": "dense", "units": 8},
        {"type": "relu"}, {"type": "dense", "units": 3, "bits": 8}]})");
    Rng rng(5);
    train::Dataset data;
    data.sample = Shape{3, 4};
    data.input = DType::kFloat32;
    data.y.resize(96);
    data.x.resize(96 * 12 * 4);
    for (size_t i = 0; i < 96; i++) {
      data.y[i] = Label(rng.Below(3));
      for (size_t j = 0; j < 12; j++) {
        const float v = rng.Normal() + (j % 3 == data.y[i] ? 1.5f : 0.0f);
        std::memcpy(data.x.data() + 4 * (i * 12 + j), &v, 4);
      }
    }
    Train(*model, data);
    const Agreement a = ExportAndCompare(*model, data, true);
    CHECK(a.within + 1 >= a.samples);
    StatusOr<ExportedGraph> graph = ExportOnnx(*model);
    REQUIRE(graph.ok());
    const std::vector<std::string> ops = Ops(ParseJson(graph.value().json).value());
    CHECK(std::count(ops.begin(), ops.end(), "Transpose") == 0);
    CHECK(std::count(ops.begin(), ops.end(), "BatchNormalization") == 0);  // Mul + Add
    CHECK(std::count(ops.begin(), ops.end(), "Cast") == 0);
  }
}

// data's [H, W, C] samples as [C, H, W].
train::Dataset ToNchw(const train::Dataset& nhwc) {
  const size_t h = nhwc.sample[0], w = nhwc.sample[1], c = nhwc.sample[2];
  train::Dataset data = nhwc;
  data.sample = Shape{c, h, w};
  const size_t width = SizeOf(nhwc.input), size = h * w * c;
  for (size_t s = 0; s < nhwc.size(); s++) {
    for (size_t p = 0; p < h * w; p++) {
      for (size_t ch = 0; ch < c; ch++) {
        std::memcpy(data.x.data() + (s * size + ch * h * w + p) * width,
                    nhwc.x.data() + (s * size + p * c + ch) * width, width);
      }
    }
  }
  return data;
}

TEST_CASE("NCHW models export an NCHW graph input without a Transpose", "[onnx-export]") {
  for (const char* arch : {"resnet8", "mlp"}) {
    for (const char* type : {"uint8", "float32"}) {
      INFO(arch << " " << type);
      auto model = FromJson(std::string(R"({"arch": ")") + arch +
                            R"(", "inputShape": [3, 8, 8], "inputLayout": "nchw",
        "inputType": ")" + type + R"(", "numClasses": 4, "weightBits": 4,
        "preprocess": {"mean": [0.2, 0.3, 0.1], "std": [0.5, 0.4, 0.6]}})");
      train::Dataset pixels = Images(64 + 64, 8, 3, 4, 9);
      const train::Dataset all = ToNchw(std::string(type) == "uint8" ? pixels : AsFloat(pixels));
      std::vector<uint32_t> train_ids(64), eval_ids(64);
      for (uint32_t i = 0; i < 64; i++) train_ids[i] = i, eval_ids[i] = 64 + i;
      Train(*model, train::Subset(all, train_ids));
      const Agreement a = ExportAndCompare(*model, train::Subset(all, eval_ids), true);
      CHECK(a.within + 1 >= a.samples);
      CHECK(a.argmax_equal + 1 >= a.samples);

      StatusOr<ExportedGraph> graph = ExportOnnx(*model);
      REQUIRE(graph.ok());
      const Json record = ParseJson(graph.value().json).value();
      const Json& shape = *record.Find("inputs")->AsArray()[0].Find("shape");
      CHECK(shape.Dump() == R"(["batch",3,8,8])");
      const auto tensors = test::ReadTensors(record, graph.value().payload);
      CHECK(tensors.at("preprocess.mean").dims == std::vector<int64_t>{3, 1, 1});
      const std::vector<std::string> ops = Ops(record);
      // resnet8: no Transpose at all; mlp: one, back to H, W, C before its Flatten.
      CHECK(std::count(ops.begin(), ops.end(), "Transpose") == (arch[0] == 'm' ? 1 : 0));
    }
  }
}

TEST_CASE("exportOnnx options, formats and refusals", "[onnx-export]") {
  ExportOptions fmt;
  auto model = FromJson(R"({"arch": "lenet", "inputShape": [12, 12, 1], "numClasses": 3, "weightBits": 4})");
  SECTION("an untrained model has no input steps: qdq is refused, float works") {
    StatusOr<ExportedGraph> qdq = ExportOnnx(*model);
    CHECK(qdq.status().code() == StatusCode::kFailedPrecondition);
    CHECK(qdq.status().message().find("3.input_step") != std::string::npos);
    fmt.format = ExportFormat::kFloat;
    CHECK(ExportOnnx(*model, fmt).ok());
  }
  SECTION("float format of a quantized model: grid weights, no Q/DQ, no INT8") {
    Train(*model, Images(32, 12, 1, 3, 1));
    fmt.format = ExportFormat::kFloat;
    StatusOr<ExportedGraph> graph = ExportOnnx(*model, fmt);
    REQUIRE(graph.ok());
    const Json record = ParseJson(graph.value().json).value();
    const std::vector<std::string> ops = Ops(record);
    CHECK(std::count(ops.begin(), ops.end(), "QuantizeLinear") == 0);
    CHECK(std::count(ops.begin(), ops.end(), "DequantizeLinear") == 0);
    for (const Json& t : record.Find("tensors")->AsArray()) CHECK(t.Find("type")->AsString() == "FLOAT");
    // The graph still runs.
    const train::Dataset data = Images(8, 12, 1, 3, 2);
    const test::Evaluation e = test::Run(record, graph.value().payload, InputTensor(data));
    CHECK(e.at("logits").dims == std::vector<int64_t>{8, 3});
  }
  SECTION("qdq weights are the layer's codes within its bit range") {
    Train(*model, Images(32, 12, 1, 3, 1));
    StatusOr<ExportedGraph> graph = ExportOnnx(*model);
    REQUIRE(graph.ok());
    const Json record = ParseJson(graph.value().json).value();
    const auto tensors = test::ReadTensors(record, graph.value().payload);
    // lenet: first and last layers at edgeBits 8, the others at weightBits 4.
    const float lim4 = tensors.at("3.weight_codes").v.empty() ? 0 : 8.0f;
    for (float v : tensors.at("3.weight_codes").v) CHECK((v >= -lim4 && v <= lim4 - 1));
    CHECK(tensors.at("3.weight_codes").dims == std::vector<int64_t>{32, 16, 5, 5});
    CHECK(tensors.at("3.weight_step").dims == std::vector<int64_t>{32});
    CHECK(tensors.at("7.weight_codes").dims == std::vector<int64_t>{288, 128});
    CHECK(tensors.at("0.input_step").v[0] == 1.0f / 255.0f);
    CHECK(tensors.at("0.input_zero_point").type == "UINT8");
    CHECK(tensors.at("3.input_zero_point").v[0] == 0.0f);  // after ReLU and max_pool
  }
  SECTION("the API parses options and names bad ones") {
    StatusOr<api::ModelHandle> handle = api::ModelHandle::Create(
        R"({"arch": "mlp", "inputShape": [4, 4, 1], "numClasses": 3, "weightBits": 32})");
    REQUIRE(handle.ok());
    StatusOr<ExportedGraph> graph = handle.value().ExportOnnx("{}");
    REQUIRE(graph.ok());
    CHECK(graph.value().payload.size() % 8 == 0);
    CHECK(handle.value().ExportOnnx(R"({"format": "float"})").ok());
    CHECK(handle.value().ExportOnnx(R"({"format": "qdq"})").ok());  // nothing quantized
    StatusOr<ExportedGraph> bad = handle.value().ExportOnnx(R"({"format": "int4"})");
    CHECK(bad.status().code() == StatusCode::kInvalidArgument);
    CHECK(bad.status().message().find("options.format") != std::string::npos);
    bad = handle.value().ExportOnnx(R"({"fromat": "qdq"})");
    CHECK(bad.status().message().find("options.fromat") != std::string::npos);
    CHECK(handle.value().ExportOnnx("[]").status().code() == StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace qf::onnx
