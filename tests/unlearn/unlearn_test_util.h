// What the unlearning method tests share: a small trained model with a class-wise forget
// request, and running a forget session to its end.
#pragma once

#include <catch.hpp>
#include <memory>
#include <vector>

#include "train/synthetic.h"
#include "train/trainer.h"
#include "unlearn/forget.h"

namespace qf::unlearn::test_util {

struct Fixture {
  std::unique_ptr<nn::Model> model;
  train::Dataset forget, retain;
};

inline nn::ModelSpec MlpSpec() {
  nn::ModelSpec spec;
  spec.arch = "mlp";
  spec.input = Shape{12, 12, 1};
  spec.classes = 9;
  spec.weight_bits = 4;
  return spec;
}

// The mlp's input and classes in a 4-bit resnet8: a model with BatchNorm.
inline nn::ModelSpec Resnet8Spec() {
  nn::ModelSpec spec = MlpSpec();
  spec.arch = "resnet8";
  return spec;
}

// A 4-bit mlp (or `spec`) trained briefly on synthetic data (confident, not saturated: on
// a saturated model every forget gradient vanishes; fit seed `fit_seed`); the forget set
// is every sample of class 0.
inline Fixture TrainedClassForget(uint64_t fit_seed = 1, int fit_epochs = 2,
                                  const nn::ModelSpec& spec = MlpSpec()) {
  Fixture f;
  f.model = std::move(nn::Model::Create(spec)).value();
  const train::Dataset all = test::SyntheticImages(540, 12, 9, 1);
  train::FitOptions o;
  o.epochs = fit_epochs;
  o.batch_size = 32;
  o.lr = 0.01f;
  o.schedule.name = "constant";  // pinned: the tests' numbers must not follow fit's defaults
  o.seed = fit_seed;
  REQUIRE(train::Fit(*f.model, all, o).ok());
  std::vector<uint32_t> forget_ids, retain_ids;
  for (uint32_t i = 0; i < all.size(); i++) (all.y[i] == 0 ? forget_ids : retain_ids).push_back(i);
  f.forget = train::Subset(all, forget_ids);
  f.retain = train::Subset(all, retain_ids);
  return f;
}

inline std::unique_ptr<nn::Model> RunToEnd(nn::Model& model, ForgetRequest request,
                                           std::vector<EpochReport>* reports) {
  auto session = ForgetSession::Start(model, std::move(request));
  REQUIRE(session.ok());
  while (!session.value()->done()) REQUIRE(session.value()->Step(3, reports).ok());
  return session.value()->TakeResult();
}

}  // namespace qf::unlearn::test_util
