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

// export.h's bound (2) for one sample: 1e-4 * max|logit| + 4 * s_last * max|W_last|.
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
  return 1e-4 * max_logit + 4 * unit;
}

Agreement Compare(const Tensor& engine, const test::Evaluation& e, const Json& record,
                  bool qdq) {
  const test::Tensor& onnx = e.at("logits");
  REQUIRE(onnx.dims == std::vector<int64_t>{int64_t(engine.shape()[0]), int64_t(kClasses)});
  Agreement a;
  a.samples = engine.shape()[0];
  for (size_t i = 0; i < a.samples; i++) {
    const float* x = engine.data() + i * kClasses;
    const float* y = onnx.v.data() + i * kClasses;
    double max_logit = 0, diff = 0;
    for (size_t j = 0; j < kClasses; j++) {
      max_logit = std::max(max_logit, double(std::fabs(x[j])));
      diff = std::max(diff, double(std::fabs(x[j] - y[j])));
    }
    const double allowed = qdq ? Allowed(e, record, max_logit) : 1e-5 * max_logit;
    a.worst_ratio = std::max(a.worst_ratio, diff / allowed);
    a.within += diff <= allowed;
    a.argmax_equal += std::max_element(x, x + kClasses) - x == std::max_element(y, y + kClasses) - y;
  }
  return a;
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

        StatusOr<ExportedGraph> graph = ExportOnnx(*model);
        INFO(graph.status().message());
        REQUIRE(graph.ok());
        StatusOr<Json> record = ParseJson(graph.value().json);
        REQUIRE(record.ok());
        const bool qdq = bits < 32;
        CheckStructure(*model, record.value(), qdq);

        Tensor logits;
        model->Forward(eval_set.x.data(), kEval, &logits, nn::Mode::kEval);
        const test::Evaluation e =
            test::Run(record.value(), graph.value().payload, InputTensor(eval_set));
        const Agreement a = Compare(logits, e, record.value(), qdq);
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

}  // namespace
}  // namespace qf::onnx
