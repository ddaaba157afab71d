// Model-level behaviour the unlearning methods rely on: deep copies that are independent
// of the original, shadow weights snapped to the grid, and the gradient with respect to
// the input (FGSM).
#include "nn/model.h"

#include <catch.hpp>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "io/model_file.h"
#include "nn/gradcheck.h"
#include "nn/state_snapshot.h"
#include "train/loss.h"
#include "train/synthetic.h"
#include "train/trainer.h"

namespace qf::nn {
namespace {

// A fresh `arch` on 12x12 inputs, 9 classes.
std::unique_ptr<Model> Create12x12(const std::string& arch) {
  ModelSpec spec;
  spec.arch = arch;
  spec.input = Shape{12, 12, 1};
  spec.classes = 9;
  auto model = Model::Create(spec);
  REQUIRE(model.ok());
  return std::move(model).value();
}

// A resnet8 on 12x12 inputs, trained one epoch on `data` (64 synthetic images).
std::unique_ptr<Model> TrainedResnet8(const train::Dataset& data, const train::FitOptions& o) {
  std::unique_ptr<Model> model = Create12x12("resnet8");
  REQUIRE(train::Fit(*model, data, o).ok());
  return model;
}

train::FitOptions OneEpoch() {
  train::FitOptions o;
  o.epochs = 1;
  o.batch_size = 16;
  return o;
}

// Each parameter's layer, found through Sequential and Residual containers: the leaf layer
// whose name prefixes the parameter's and whose type is its own.
TEST_CASE("a model records the layer of each parameter", "[engine][nn]") {
  std::unique_ptr<Model> model = Create12x12("resnet8");
  const std::vector<Model::ParamLayer>& layers = model->param_layers();
  REQUIRE(layers.size() == model->params().size());
  size_t in_body = 0, norms = 0;
  for (size_t i = 0; i < layers.size(); i++) {
    const std::string& param = model->params()[i]->name;
    INFO(param << " in " << layers[i].name << " (" << layers[i].type << ")");
    REQUIRE(param.size() > layers[i].name.size());
    CHECK(param.compare(0, layers[i].name.size() + 1, layers[i].name + ".") == 0);
    CHECK(param.find('.', layers[i].name.size() + 1) == std::string::npos);
    CHECK(layers[i].type != "sequential");
    CHECK(layers[i].type != "residual");
    if (layers[i].name.find(".body.") != std::string::npos) {
      CHECK((layers[i].type == "conv2d" || layers[i].type == "batch_norm"));
      in_body++;
    }
    norms += layers[i].type == "batch_norm";
  }
  CHECK(in_body > 0);
  CHECK(norms > 0);
  CHECK(layers.back().type == "dense");
  // The layers' records survive a copy.
  auto copy = model->Copy();
  REQUIRE(copy.ok());
  REQUIRE(copy.value()->param_layers().size() == layers.size());
  for (size_t i = 0; i < layers.size(); i++) {
    CHECK(copy.value()->param_layers()[i].name == layers[i].name);
    CHECK(copy.value()->param_layers()[i].type == layers[i].type);
  }
}

TEST_CASE("a copied model predicts like the original and trains independently", "[engine][nn]") {
  const train::Dataset data = test::SyntheticImages(64, 12, 9, 1);
  const train::FitOptions o = OneEpoch();
  auto model = TrainedResnet8(data, o);
  Tensor before, cloned, after;
  model->Forward(data.x.data(), 64, &before, Mode::kEval);

  auto clone = model->Copy();
  REQUIRE(clone.ok());
  clone.value()->Forward(data.x.data(), 64, &cloned, Mode::kEval);
  CHECK(cloned.values() == before.values());

  REQUIRE(train::Fit(*clone.value(), data, o).ok());
  model->Forward(data.x.data(), 64, &after, Mode::kEval);
  CHECK(after.values() == before.values());  // the original did not move
  clone.value()->Forward(data.x.data(), 64, &cloned, Mode::kEval);
  CHECK(cloned.values() != before.values());
}

TEST_CASE("snapped shadow weights predict the same and hold nothing below the grid",
          "[engine][nn]") {
  const train::Dataset data = test::SyntheticImages(64, 12, 9, 1);
  const train::FitOptions o = OneEpoch();
  auto model = TrainedResnet8(data, o);
  // The file with shadow weights against the one without them, loaded and saved again
  // with shadows (code * step): equal exactly when the shadows are on the grid.
  auto through_codes = [](Model& m) {
    auto codes_only = io::SaveModel(m, io::SaveOptions{/*include_shadow=*/false});
    REQUIRE(codes_only.ok());
    auto loaded = io::LoadModel(codes_only.value().data(), codes_only.value().size());
    REQUIRE(loaded.ok());
    return io::SaveModel(*loaded.value(), io::SaveOptions{}).value();
  };
  CHECK(io::SaveModel(*model, io::SaveOptions{}).value() != through_codes(*model));
  Tensor before, after;
  model->Forward(data.x.data(), 64, &before, Mode::kEval);
  SnapShadowWeights(*model);
  model->Forward(data.x.data(), 64, &after, Mode::kEval);
  CHECK(after.values() == before.values());
  CHECK(io::SaveModel(*model, io::SaveOptions{}).value() == through_codes(*model));
}

void CheckInputGradient(const std::string& arch, Mode mode) {
  INFO(arch);
  ModelSpec spec;
  spec.arch = arch;
  spec.input = Shape{8, 8, 1};
  spec.classes = 5;
  spec.weight_bits = 32;
  auto model = Model::Create(spec);
  REQUIRE(model.ok());
  const train::Dataset data = test::SyntheticImages(3, 8, 5, 2);
  if (mode == Mode::kEvalGradient) {  // running statistics of their own, away from 0 / 1
    train::FitOptions o = OneEpoch();
    o.lr = 0.01f;
    REQUIRE(train::Fit(*model.value(), test::SyntheticImages(64, 8, 5, 3), o).ok());
  }
  Tensor logits, dlogits, dinput;
  model.value()->Forward(data.x.data(), 3, &logits, mode);
  train::SoftmaxCrossEntropy(logits, data.y.data(), nullptr, 1.0f, &dlogits);
  model.value()->Backward(dlogits, &dinput);
  REQUIRE(dinput.shape() == Shape{3, 8, 8, 1});

  // The loss as a function of the float input the network sees (pixels / 255).
  Tensor x(Shape{3, 8, 8, 1});
  for (size_t i = 0; i < x.size(); i++) x[i] = data.x[i] / 255.0f;
  auto loss = [&](const Tensor& input) {
    Tensor z;
    model.value()->net().Forward(input, &z, mode);
    return double(train::SoftmaxCrossEntropy(z, data.y.data(), nullptr, 1.0f, nullptr));
  };
  size_t checked = 0;
  for (size_t i = 0; i < x.size(); i += 7) {
    const float saved = x[i];
    const float eps = 1e-3f;
    x[i] = saved + eps;
    const double plus = loss(x);
    x[i] = saved - eps;
    const double minus = loss(x);
    x[i] = saved;
    // A probe moves every activation the input reaches: some cross a ReLU or max-pool
    // kink within +-eps. Measured natively: at most 2.7e-3 absolute error (at |g| 8e-2).
    test::CheckGradient(dinput[i], (plus - minus) / (2 * eps), {2e-2, 2e-3},
                        "input " + std::to_string(i));
    checked++;
  }
  CHECK(checked > 20);
}

TEST_CASE("the input gradient matches finite differences", "[engine][nn]") {
  CheckInputGradient("lenet", Mode::kTrain);
  // The model as deployed: BatchNorm with its running statistics, through residual blocks.
  CheckInputGradient("resnet8", Mode::kEvalGradient);
}

TEST_CASE("eval-mode gradients move no state, also of a never-trained model", "[engine][nn]") {
  const train::Dataset data = test::SyntheticImages(64, 12, 9, 4);
  std::unique_ptr<Model> fresh = Create12x12("resnet8");  // input steps not yet set from data
  std::unique_ptr<Model> trained = TrainedResnet8(data, OneEpoch());
  for (Model* model : {fresh.get(), trained.get()}) {
    INFO((model == trained.get() ? "trained" : "fresh"));
    const auto before = io::SaveModel(*model);
    REQUIRE(before.ok());
    Tensor eval, logits, dlogits, dinput;
    model->Forward(data.x.data(), 16, &eval, Mode::kEval);
    model->Forward(data.x.data(), 16, &logits, Mode::kEvalGradient);
    train::SoftmaxCrossEntropy(logits, data.y.data(), nullptr, 1.0f, &dlogits);
    model->Backward(dlogits, &dinput);
    // The eval function (BatchNorm unfolded: equal within rounding), with a gradient.
    REQUIRE(logits.shape() == eval.shape());
    for (size_t i = 0; i < eval.size(); i++) {
      REQUIRE(std::fabs(logits[i] - eval[i]) <= 1e-4f * (1 + std::fabs(eval[i])));
    }
    double norm = 0;
    for (float g : dinput.values()) norm += std::fabs(g);
    CHECK(norm > 0);
    const auto after = io::SaveModel(*model);
    REQUIRE(after.ok());
    CHECK(after.value() == before.value());
  }
  // A training-mode Forward of the fresh model does move state (its input steps).
  const auto before = io::SaveModel(*fresh);
  Tensor logits;
  fresh->Forward(data.x.data(), 16, &logits, Mode::kTrain);
  CHECK(io::SaveModel(*fresh).value() != before.value());
}

// Layers read the activations a caching Forward left (no copies), so any Forward after
// it ends what Backward may use; Model::Backward checks this flag and stops the program
// when it is unset.
TEST_CASE("Backward is allowed only right after a caching Forward", "[engine][nn]") {
  const train::Dataset data = test::SyntheticImages(16, 12, 9, 6);
  std::unique_ptr<Model> model = Create12x12("lenet");
  Model& m = *model;
  CHECK_FALSE(m.ready_for_backward());
  Tensor logits;
  const std::pair<Mode, bool> runs[] = {{Mode::kTrain, true},
                                        {Mode::kEval, false},
                                        {Mode::kEvalGradient, true},
                                        {Mode::kCalibrate, false},
                                        {Mode::kTrain, true}};
  for (const auto& [mode, ready] : runs) {
    m.Forward(data.x.data(), 4, &logits, mode);
    CHECK(m.ready_for_backward() == ready);
  }
}

}  // namespace
}  // namespace qf::nn
