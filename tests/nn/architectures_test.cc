// The built-in architectures: they build for several input shapes and class counts,
// run forward and backward, learn a synthetic task, and refuse bad specs.
#include <catch.hpp>

#include "nn/model.h"
#include "train/synthetic.h"
#include "train/trainer.h"

namespace qf::nn {
namespace {

TEST_CASE("every architecture builds and trains a step for several shapes", "[engine][nn]") {
  for (const char* arch : {"mlp", "lenet", "resnet8", "mobilenetv2"}) {
    for (Shape input : {Shape{28, 28, 1}, Shape{16, 12, 3}}) {
      for (int bits : {32, 4, 2}) {
        INFO(arch << " " << input.ToString() << " bits " << bits);
        ModelSpec spec;
        spec.arch = arch;
        spec.input = input;
        spec.classes = 7;
        spec.weight_bits = bits;
        auto model = Model::Create(spec);
        REQUIRE(model.ok());
        std::vector<uint8_t> x(3 * input.size());
        for (size_t i = 0; i < x.size(); i++) x[i] = uint8_t(i * 31);
        Tensor logits;
        model.value()->Forward(x.data(), 3, &logits, Mode::kTrain);
        REQUIRE(logits.shape() == Shape{3, 7});
        size_t non_finite = 0, non_zero = 0;
        for (float v : logits.values()) non_finite += !std::isfinite(v);
        Tensor dlogits(logits.shape(), 0.1f);
        model.value()->Backward(dlogits);
        for (Param* p : model.value()->params()) {
          for (float g : p->grad.values()) {
            non_finite += !std::isfinite(g);
            non_zero += g != 0.0f;
          }
        }
        CHECK(non_finite == 0);
        CHECK(non_zero > 0);
      }
    }
  }
}

TEST_CASE("lenet and resnet8 learn synthetic classes at 4 bits", "[engine][nn]") {
  const train::Dataset data = test::SyntheticImages(400, 12, 9, 21);
  const train::Dataset held_out = test::SyntheticImages(200, 12, 9, 22);
  for (const char* arch : {"lenet", "resnet8"}) {
    INFO(arch);
    ModelSpec spec;
    spec.arch = arch;
    spec.input = Shape{12, 12, 1};
    spec.classes = 9;
    spec.weight_bits = 4;
    auto model = Model::Create(spec);
    REQUIRE(model.ok());
    train::FitOptions o;
    o.epochs = 3;
    o.batch_size = 32;
    o.lr = 0.05f;
    REQUIRE(train::Fit(*model.value(), data, o).ok());
    CHECK(train::Evaluate(*model.value(), held_out).accuracy > 0.8f);
  }
}

TEST_CASE("bad model specs are refused with the argument named", "[engine][nn]") {
  struct Case {
    const char* fragment;
    ModelSpec spec;
  };
  std::vector<Case> cases;
  ModelSpec s;
  s.weight_bits = 5;
  cases.push_back({"weightBits must be 2, 3, 4, 8 or 32", s});
  s = ModelSpec();
  s.arch = "vgg";
  cases.push_back({"arch must be one of", s});
  s = ModelSpec();
  s.classes = 1;
  cases.push_back({"numClasses must be in [2, 65535]", s});
  s = ModelSpec();
  s.arch = "lenet";
  s.input = Shape{784};
  cases.push_back({"needs inputShape [H, W, C]", s});
  s = ModelSpec();
  s.arch = "lenet";
  s.input = Shape{2, 2, 1};
  cases.push_back({"window 2x2 is larger than the padded input 1x1", s});
  for (const Case& c : cases) {
    INFO(c.fragment);
    auto model = Model::Create(c.spec);
    REQUIRE(!model.ok());
    CHECK(model.status().message().find(c.fragment) != std::string::npos);
  }
}

}  // namespace
}  // namespace qf::nn
