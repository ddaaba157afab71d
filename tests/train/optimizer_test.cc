// Optimizers: SGD (momentum, Nesterov, weight decay) and Adam against their update
// rules written out by hand, schedules, clipping, and masks that freeze elements.
#include "train/optimizer.h"

#include <catch.hpp>
#include <cmath>
#include <cstring>

namespace qf::train {
namespace {

nn::Param MakeParam(nn::Param::Kind kind, std::vector<float> values) {
  nn::Param p;
  p.kind = kind;
  p.value = Tensor(Shape{values.size()});
  p.value.values() = values;
  p.grad = Tensor(Shape{values.size()});
  return p;
}

TEST_CASE("SGD with momentum, Nesterov and weight decay follows its update rule",
          "[engine][train]") {
  for (bool nesterov : {false, true}) {
    OptimizerOptions o;
    o.momentum = 0.9f;
    o.nesterov = nesterov;
    o.weight_decay = 0.01f;
    auto opt = MakeOptimizer(o);
    REQUIRE(opt.ok());
    nn::Param w = MakeParam(nn::Param::Kind::kWeight, {1.0f, -2.0f});
    nn::Param b = MakeParam(nn::Param::Kind::kBias, {0.5f});
    double v[3] = {0, 0, 0}, x[3] = {1.0, -2.0, 0.5};
    for (int step = 0; step < 3; step++) {
      w.grad[0] = 0.3f, w.grad[1] = -0.1f, b.grad[0] = 0.2f;
      const double g[3] = {0.3 + 0.01 * x[0], -0.1 + 0.01 * x[1], 0.2};  // no decay on bias
      opt.value()->Step({&w, &b}, 0.1f);
      for (int i = 0; i < 3; i++) {
        v[i] = 0.9 * v[i] + g[i];
        x[i] -= 0.1 * (nesterov ? g[i] + 0.9 * v[i] : v[i]);
      }
      CHECK(w.value[0] == Approx(x[0]).epsilon(1e-5));
      CHECK(w.value[1] == Approx(x[1]).epsilon(1e-5));
      CHECK(b.value[0] == Approx(x[2]).epsilon(1e-5));
    }
  }
}

TEST_CASE("Adam follows its update rule and steps stay positive", "[engine][train]") {
  OptimizerOptions o;
  o.name = "adam";
  o.weight_decay = 0;
  auto opt = MakeOptimizer(o);
  REQUIRE(opt.ok());
  nn::Param w = MakeParam(nn::Param::Kind::kWeight, {1.0f});
  nn::Param s = MakeParam(nn::Param::Kind::kStep, {1e-3f});
  double m = 0, v = 0, x = 1.0;
  for (int t = 1; t <= 3; t++) {
    w.grad[0] = 0.5f;
    s.grad[0] = 100.0f;  // would push the step far below zero
    opt.value()->Step({&w, &s}, 0.01f);
    m = 0.9 * m + 0.1 * 0.5;
    v = 0.999 * v + 0.001 * 0.25;
    x -= 0.01 * (m / (1 - std::pow(0.9, t))) / (std::sqrt(v / (1 - std::pow(0.999, t))) + 1e-8);
    CHECK(w.value[0] == Approx(x).epsilon(1e-5));
    CHECK(s.value[0] > 0.0f);
  }
}

TEST_CASE("masked-out elements do not move at all", "[engine][train]") {
  for (const char* name : {"sgd", "adam"}) {
    INFO(name);
    OptimizerOptions o;
    o.name = name;
    o.weight_decay = 0.1f;
    auto opt = MakeOptimizer(o);
    REQUIRE(opt.ok());
    nn::Param w = MakeParam(nn::Param::Kind::kWeight, {1.0f, 2.0f, 3.0f, 4.0f});
    // Build momentum first, unmasked, so a leak through momentum would show.
    for (int i = 0; i < 2; i++) {
      for (float& g : w.grad.values()) g = 0.5f;
      opt.value()->Step({&w}, 0.1f);
    }
    const std::vector<float> before = w.value.values();
    opt.value()->SetMask(&w, {1, 0, 1, 0});
    for (int i = 0; i < 3; i++) {
      for (float& g : w.grad.values()) g = 0.5f;
      opt.value()->Step({&w}, 0.1f);
    }
    CHECK(std::memcmp(&w.value[1], &before[1], sizeof(float)) == 0);
    CHECK(std::memcmp(&w.value[3], &before[3], sizeof(float)) == 0);
    CHECK(w.value[0] != before[0]);
    CHECK(w.value[2] != before[2]);
    opt.value()->SetMask(&w, {});  // lifted: everything moves again
    opt.value()->Step({&w}, 0.1f);
    CHECK(w.value[1] != before[1]);
  }
}

TEST_CASE("schedules and clipping", "[engine][train]") {
  ScheduleOptions cosine{"cosine"};
  CHECK(ScheduledLr(cosine, 0.1f, 0, 10) == Approx(0.1f));
  CHECK(ScheduledLr(cosine, 0.1f, 5, 10) == Approx(0.05f));
  ScheduleOptions step{"step", 2, 0.5f};
  CHECK(ScheduledLr(step, 0.1f, 3, 10) == Approx(0.05f));
  CHECK(ScheduledLr(step, 0.1f, 4, 10) == Approx(0.025f));
  CHECK(!ValidateSchedule(ScheduleOptions{"linear"}).ok());

  nn::Param a = MakeParam(nn::Param::Kind::kWeight, {0, 0});
  a.grad[0] = 3.0f;
  a.grad[1] = 4.0f;
  CHECK(ClipGradNorm({&a}, 1.0f) == Approx(5.0f));
  CHECK(a.grad[0] == Approx(0.6f));
  CHECK(a.grad[1] == Approx(0.8f));
}

}  // namespace
}  // namespace qf::train
