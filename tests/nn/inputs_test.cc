// What a model takes in: uint8 pixels or float32 features, preprocessed as its spec says,
// with up to 65,535 classes. Checked against the same numbers computed here: float features
// equal to the pixels' preprocessed values give the pixel model's logits bit for bit; the
// spec's input settings survive JSON and the model file; datasets from JS are refused
// with the index of the first bad value or label.
#include <catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "api/options.h"
#include "core/json.h"
#include "io/model_file.h"
#include "nn/dense.h"
#include "nn/model.h"
#include "nn/model_json.h"
#include "train/synthetic.h"
#include "train/trainer.h"
#include "unlearn/bs.h"

namespace qf {
namespace {

std::unique_ptr<nn::Model> Make(const std::string& json) {
  StatusOr<Json> parsed = ParseJson(json);
  REQUIRE(parsed.ok());
  StatusOr<nn::ModelSpec> spec = nn::ModelSpecFromJson(parsed.value());
  INFO(spec.status().message());
  REQUIRE(spec.ok());
  StatusOr<std::unique_ptr<nn::Model>> model = nn::Model::Create(spec.value());
  INFO(model.status().message());
  REQUIRE(model.ok());
  return std::move(model).value();
}

std::vector<uint8_t> FloatBytes(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

Tensor Logits(nn::Model& model, const std::vector<uint8_t>& x, size_t n) {
  Tensor logits;
  model.Forward(x.data(), n, &logits, nn::Mode::kEval);
  return logits;
}

TEST_CASE("float features equal to the preprocessed pixels give the same logits", "[nn]") {
  // 2 channels: per-channel mean and std. The float model takes the values the pixel
  // model computes from its pixels, with no preprocessing of its own.
  const char* pixels_spec =
      R"({"arch": "mlp", "inputShape": [4, 4, 2], "numClasses": 5, "weightBits": 32, "seed": 3,
          "preprocess": {"mean": [0.5, 0.25], "std": [0.2, 0.4]}})";
  const char* features_spec =
      R"({"arch": "mlp", "inputShape": [4, 4, 2], "numClasses": 5, "weightBits": 32, "seed": 3,
          "inputType": "float32"})";
  auto pixel_model = Make(pixels_spec), feature_model = Make(features_spec);
  const size_t n = 3, values = n * 32;
  std::vector<uint8_t> pixels(values);
  std::vector<float> features(values);
  for (size_t i = 0; i < values; i++) {
    pixels[i] = uint8_t(i * 37 + 5);
    const float mean = i % 2 ? 0.25f : 0.5f, std = i % 2 ? 0.4f : 0.2f;
    features[i] = (float(pixels[i]) * (1.0f / 255.0f) - mean) / std;
  }
  const Tensor a = Logits(*pixel_model, pixels, n), b = Logits(*feature_model, FloatBytes(features), n);
  REQUIRE(a.size() == n * 5);
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  // And the preprocessing matters: without it the pixel model sees other values.
  auto plain = Make(R"({"arch": "mlp", "inputShape": [4, 4, 2], "numClasses": 5, "weightBits": 32, "seed": 3})");
  const Tensor c = Logits(*plain, pixels, n);
  CHECK(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)) != 0);
}

TEST_CASE("a model's input settings survive its description and its file", "[nn]") {
  auto model = Make(
      R"({"arch": "mlp", "inputShape": [6], "numClasses": 300, "weightBits": 4, "seed": 2,
          "inputType": "float32", "preprocess": {"scale": 0.5, "mean": [1], "std": [2]}})");
  const Json description = model->Describe();
  CHECK(description.Find("inputType")->AsString() == "float32");
  CHECK(description.Find("preprocess")->Dump() == R"({"scale":0.5,"mean":[1],"std":[2]})");
  CHECK(description.Find("numClasses")->AsNumber() == 300);
  // Labels above 255: a fit on them runs, and one past the classes is refused.
  train::Dataset data;
  data.sample = Shape{6};
  data.input = DType::kFloat32;
  std::vector<float> x(40 * 6);
  for (size_t i = 0; i < x.size(); i++) x[i] = float(i % 13) - 6.0f;
  data.x = FloatBytes(x);
  for (size_t i = 0; i < 40; i++) data.y.push_back(Label(i * 7 % 300));
  train::FitOptions fit;
  fit.epochs = 1;
  fit.batch_size = 8;
  REQUIRE(train::Fit(*model, data, fit).ok());
  data.y[3] = 300;
  CHECK(!train::Fit(*model, data, fit).ok());
  data.y[3] = 0;

  StatusOr<std::vector<uint8_t>> bytes = io::SaveModel(*model);
  REQUIRE(bytes.ok());
  StatusOr<std::unique_ptr<nn::Model>> loaded = io::LoadModel(bytes.value().data(), bytes.value().size());
  REQUIRE(loaded.ok());
  CHECK(loaded.value()->Describe().Dump() == description.Dump());
  const Tensor a = Logits(*model, data.x, 40), b = Logits(*loaded.value(), data.x, 40);
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  // A dataset of the other input type is refused by name.
  train::Dataset pixels = data;
  pixels.input = DType::kUint8;
  pixels.x.resize(40 * 6);
  const Status refused = train::ValidateDataset(pixels, model->input_shape(), model->input_type(),
                                                model->classes(), "dataset");
  CHECK(refused.message() == "dataset.x holds uint8 values, the model takes float32 (features: a Float32Array)");
}

// Features that are all negative: on a pixel grid (step 1/255, zero point 0, as qforget
// 1.0 quantized every model's first layer) they would all read as 0 and nothing could be
// learned. The first quantized layer learns its input step instead (zero point 128).
TEST_CASE("a quantized model of negative features learns them", "[nn]") {
  auto model = Make(R"({"arch": "mlp", "inputShape": [4], "numClasses": 4, "weightBits": 4,
                        "edgeBits": 4, "seed": 3, "inputType": "float32"})");
  train::Dataset data;
  data.sample = Shape{4};
  data.input = DType::kFloat32;
  std::vector<float> x;
  for (size_t i = 0; i < 400; i++) {
    const Label label = Label(i % 4);
    data.y.push_back(label);
    for (size_t f = 0; f < 4; f++) x.push_back(-1.0f - (f == label ? 5.0f : 0.0f) - float(i % 7) / 7);
  }
  data.x = FloatBytes(x);
  train::FitOptions fit;
  fit.epochs = 5;
  fit.batch_size = 16;
  fit.lr = 0.01f;  // unnormalized features up to -7
  REQUIRE(train::Fit(*model, data, fit).ok());
  const Tensor logits = Logits(*model, data.x, 400);
  size_t correct = 0;
  for (size_t i = 0; i < 400; i++) {
    size_t best = 0;
    for (size_t c = 1; c < 4; c++) best = logits[i * 4 + c] > logits[i * 4 + best] ? c : best;
    correct += best == data.y[i];
  }
  CHECK(correct >= 380);
}

// inputNonNegative: the first quantized layer's grid starts at 0 (zero point 0) for float
// features said to be >= 0; the key survives the description and the file (version 3).
TEST_CASE("inputNonNegative puts the first layer's grid at 0", "[nn]") {
  const char* common = R"("arch": "mlp", "inputShape": [5], "numClasses": 3, "weightBits": 4,
                          "inputType": "float32")";
  auto plain = Make(std::string("{") + common + "}");
  auto declared = Make(std::string("{") + common + R"(, "inputNonNegative": true})");
  auto first = [](nn::Model& m) -> nn::Dense& { return dynamic_cast<nn::Dense&>(m.net().layer(1)); };
  CHECK(first(*plain).input_quantizer().zero_point() == 128);
  CHECK(first(*declared).input_quantizer().zero_point() == 0);
  CHECK(declared->Describe().Find("inputNonNegative")->AsBool());
  CHECK(plain->Describe().Find("inputNonNegative") == nullptr);
  StatusOr<std::vector<uint8_t>> bytes = io::SaveModel(*declared);
  REQUIRE(bytes.ok());
  CHECK(bytes.value()[8] == 3);
  StatusOr<std::unique_ptr<nn::Model>> loaded = io::LoadModel(bytes.value().data(), bytes.value().size());
  REQUIRE(loaded.ok());
  CHECK(first(*loaded.value()).input_quantizer().zero_point() == 0);
}

TEST_CASE("bad input settings are refused with the key named", "[nn]") {
  struct Case {
    const char* spec;
    const char* fragment;
  };
  const Case cases[] = {
      {R"("inputType": "int8")", "inputType must be 'uint8' (pixels) or 'float32' (features), got 'int8'"},
      {R"("preprocess": {"std": [0]})", "preprocess.std[0] must be a finite number > 0, got 0"},
      {R"("preprocess": {"mean": [1, 2]})", "preprocess.mean must have 1 or 3 values"},
      {R"("preprocess": {"scale": -1})", "preprocess.scale must be a finite number > 0"},
      {R"("preprocess": {"offset": 1})", "preprocess.offset: unknown key (expected scale, mean, std)"},
      {R"("preprocess": {"mean": ["a"]})", "preprocess.mean[0]: expected a number"},
      {R"("preprocess": 2)", "preprocess: expected an object {scale, mean, std}"},
      {R"("numClasses": 65536)", "numClasses: 65536 is outside the allowed range 2..65535"},
      {R"("inputNonNegative": "yes")", "inputNonNegative"},
      {R"("inputLayout": "chw")", "inputLayout must be 'nhwc' (channels last) or 'nchw' (channels first), got 'chw'"},
  };
  for (const Case& c : cases) {
    const bool classes = std::string(c.spec).find("numClasses") != std::string::npos;
    const std::string json = std::string(R"({"arch": "mlp", "inputShape": [4, 4, 3], "weightBits": 4, )") +
                             (classes ? "" : R"("numClasses": 4, )") + c.spec + "}";
    INFO(json);
    StatusOr<Json> parsed = ParseJson(json);
    REQUIRE(parsed.ok());
    StatusOr<nn::ModelSpec> spec = nn::ModelSpecFromJson(parsed.value());
    Status status = spec.status();
    if (spec.ok()) status = nn::Model::Create(spec.value()).status();
    INFO(status.message());
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK(status.message().find(c.fragment) != std::string::npos);
  }
}

TEST_CASE("datasets from JS: float features must be finite, labels classes", "[nn]") {
  const Json shape = ParseJson("[2, 3]").value();
  const std::vector<float> good = {0, 1, 2, 3, 4, 5};
  std::vector<float> bad = good;
  bad[4] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<uint8_t> good_x = FloatBytes(good), bad_x = FloatBytes(bad);
  const uint16_t labels16[] = {1000, 7};
  const int32_t labels32[] = {3, -1};
  const uint8_t* y16 = reinterpret_cast<const uint8_t*>(labels16);
  const uint8_t* y32 = reinterpret_cast<const uint8_t*>(labels32);

  StatusOr<train::Dataset> ok =
      api::DatasetFromBuffers(good_x.data(), 6, DType::kFloat32, y16, 2, DType::kUint16, shape, "forget");
  REQUIRE(ok.ok());
  CHECK(ok.value().y == std::vector<Label>{1000, 7});
  CHECK(ok.value().input == DType::kFloat32);
  CHECK(ok.value().x == good_x);

  auto message = [&](const std::vector<uint8_t>& x, DType xt, const uint8_t* y, DType yt) {
    return api::DatasetFromBuffers(x.data(), 6, xt, y, 2, yt, shape, "forget").status().message();
  };
  CHECK(message(bad_x, DType::kFloat32, y16, DType::kUint16) ==
        "forget.x[4] is NaN: features must be finite numbers");
  bad[4] = -std::numeric_limits<float>::infinity();
  CHECK(message(FloatBytes(bad), DType::kFloat32, y16, DType::kUint16) ==
        "forget.x[4] is -Infinity: features must be finite numbers");
  CHECK(message(good_x, DType::kFloat32, y32, DType::kInt32) ==
        "forget.y[1] = -1 is not a class: labels are in [0, 65535)");
  CHECK(message(good_x, DType::kUint16, y16, DType::kUint16) ==
        "forget.x must be a Uint8Array (pixels) or a Float32Array (features)");
  CHECK(message(good_x, DType::kFloat32, y16, DType::kFloat32) ==
        "forget.y must be a Uint8Array, a Uint16Array or an Int32Array of labels");
}

// The same samples as [C, H, W] and as [H, W, C]: an NCHW model and an NHWC model with
// the same seed (the network is built on [H, W, C] either way, so its weights are the
// same) must agree bit for bit, per-channel preprocessing included, and so must the
// input gradient, returned in each model's layout.
TEST_CASE("an NCHW model reads channel planes as an NHWC model reads pixels", "[nn]") {
  const char* common = R"("arch": "lenet", "numClasses": 4, "weightBits": 32, "seed": 5,
                          "preprocess": {"mean": [0.1, 0.6, 0.3], "std": [0.5, 0.2, 0.9]})";
  auto nhwc = Make(std::string(R"({"inputShape": [12, 10, 3], )") + common + "}");
  auto nchw = Make(std::string(R"({"inputShape": [3, 12, 10], "inputLayout": "nchw", )") + common + "}");
  CHECK(nchw->net_input_shape() == Shape{12, 10, 3});
  CHECK(nchw->Describe().Find("inputLayout")->AsString() == "nchw");
  CHECK(nhwc->Describe().Find("inputLayout") == nullptr);
  const size_t n = 2, h = 12, w = 10, c = 3, size = h * w * c;
  std::vector<uint8_t> hwc(n * size), chw(n * size);
  for (size_t s = 0; s < n; s++) {
    for (size_t y = 0; y < h; y++) {
      for (size_t x = 0; x < w; x++) {
        for (size_t k = 0; k < c; k++) {
          const uint8_t v = uint8_t((s * 131 + y * 17 + x * 29 + k * 71) % 256);
          hwc[s * size + (y * w + x) * c + k] = v;
          chw[s * size + (k * h + y) * w + x] = v;
        }
      }
    }
  }
  Tensor a, b, da, db, dlogits;
  nhwc->Forward(hwc.data(), n, &a, nn::Mode::kEvalGradient);
  nchw->Forward(chw.data(), n, &b, nn::Mode::kEvalGradient);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  dlogits.Resize(a.shape());
  for (size_t i = 0; i < dlogits.size(); i++) dlogits[i] = float(i % 3) - 1.0f;
  nhwc->Backward(dlogits, &da);
  nchw->Backward(dlogits, &db);
  REQUIRE(db.shape() == Shape{n, c, h, w});
  for (size_t s = 0; s < n; s++) {
    for (size_t y = 0; y < h; y++) {
      for (size_t x = 0; x < w; x++) {
        for (size_t k = 0; k < c; k++) {
          REQUIRE(da[s * size + (y * w + x) * c + k] == db[s * size + (k * h + y) * w + x]);
        }
      }
    }
  }
  // The file keeps the layout (as version 3, which qforget 1.0 refuses).
  StatusOr<std::vector<uint8_t>> bytes = io::SaveModel(*nchw);
  REQUIRE(bytes.ok());
  CHECK(bytes.value()[8] == 3);
  StatusOr<std::unique_ptr<nn::Model>> loaded = io::LoadModel(bytes.value().data(), bytes.value().size());
  REQUIRE(loaded.ok());
  CHECK(loaded.value()->spec().input_layout == nn::InputLayout::kNCHW);
  const Tensor l = Logits(*loaded.value(), chw, n);
  CHECK(std::memcmp(l.data(), Logits(*nchw, chw, n).data(), l.size() * sizeof(float)) == 0);
  // Refused: NCHW for a shape that is not [C, H, W]; flips and crops of channel planes.
  StatusOr<Json> flat = ParseJson(R"({"arch": "mlp", "inputShape": [6], "numClasses": 3,
                                      "weightBits": 4, "inputLayout": "nchw"})");
  REQUIRE(flat.ok());
  const Status status = nn::ModelSpecFromJson(flat.value()).status();
  CHECK(status.message() == "inputLayout: 'nchw' needs a [C, H, W] inputShape, got [6]");
  train::Dataset data;
  data.sample = Shape{3, 12, 10};
  data.x = chw;
  data.y = {0, 1};
  train::FitOptions fit;
  fit.augment.flip = true;
  const Status augmented = train::Fit(*nchw, data, fit).status();
  CHECK(augmented.message().find("augmentation needs H x W x C inputs") != std::string::npos);
  CHECK(augmented.message().find("(inputLayout 'nchw')") != std::string::npos);
}

TEST_CASE("boundary shrink's neighbour of float features moves each by epsilon", "[nn]") {
  auto model = Make(R"({"arch": "mlp", "inputShape": [5], "numClasses": 3, "weightBits": 4, "seed": 4,
                        "inputType": "float32", "preprocess": {"scale": 2, "mean": [1], "std": [3]}})");
  const std::vector<float> x = {0.5f, -2.0f, 3.25f, 0.0f, 10.0f};
  const Label label = 1;
  std::vector<uint8_t> out;
  unlearn::FgsmNeighbours(*model, FloatBytes(x).data(), &label, 1, 0.25f, &out);
  REQUIRE(out.size() == 5 * 4);
  std::vector<float> moved(5);
  std::memcpy(moved.data(), out.data(), out.size());
  int changed = 0;
  for (size_t i = 0; i < 5; i++) {
    INFO(i);
    const float d = moved[i] - x[i];
    CHECK((d == 0.25f || d == -0.25f || d == 0.0f));
    changed += d != 0.0f;
  }
  CHECK(changed > 0);
}

}  // namespace
}  // namespace qf
