// Learning on real data: lenet at 4 bits, trained on 2,000 Fashion-MNIST images from
// Debian's dataset-fashion-mnist, must end well above chance (10 %) on 1,000 test images.
// Skipped with a warning where the package is absent; under CI (CI=true) that fails.
#include <catch.hpp>

#include <fstream>

#include "io/idx.h"
#include "nn/model.h"
#include "test_util.h"
#include "train/trainer.h"

namespace qf::train {
namespace {

Dataset ToDataset(io::Dataset d) {
  Dataset out;
  out.sample = Shape{d.rows, d.cols, 1};
  out.x = std::move(d.images);
  out.y.assign(d.labels.begin(), d.labels.end());
  return out;
}

TEST_CASE("lenet 4-bit learns Fashion-MNIST from 2,000 images", "[engine][data]") {
  const std::string labels =
      std::string(io::kDebianFashionMnistDir) + "/train-labels-idx1-ubyte.gz";
  if (!test::PresentOrSkip(bool(std::ifstream(labels)),
                           labels + " (Debian: dataset-fashion-mnist)")) {
    return;
  }
  auto train = io::LoadFashionMnist(io::kDebianFashionMnistDir, io::Split::kTrain, 2000);
  auto test = io::LoadFashionMnist(io::kDebianFashionMnistDir, io::Split::kTest, 1000);
  REQUIRE(train.ok());
  REQUIRE(test.ok());
  const Dataset train_set = ToDataset(std::move(train).value());
  const Dataset test_set = ToDataset(std::move(test).value());

  nn::ModelSpec spec;
  spec.arch = "lenet";
  spec.weight_bits = 4;
  auto model = nn::Model::Create(spec);
  REQUIRE(model.ok());
  FitOptions o;
  o.epochs = 3;
  o.batch_size = 32;
  o.lr = 0.05f;
  o.schedule.name = "cosine";
  auto history = Fit(*model.value(), train_set, o);
  REQUIRE(history.ok());
  const float accuracy = Evaluate(*model.value(), test_set).accuracy;
  INFO("test accuracy " << accuracy);
  CHECK(accuracy > 0.65f);
}

}  // namespace
}  // namespace qf::train
