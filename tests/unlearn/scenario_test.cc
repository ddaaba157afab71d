// Forget scenarios: the three forms, their splits, and every refusal.
#include "unlearn/scenario.h"

#include <catch.hpp>

namespace qf::unlearn {
namespace {

std::vector<Label> Labels(size_t n) {
  std::vector<Label> y(n);
  for (size_t i = 0; i < n; i++) y[i] = uint8_t(i % 5);
  return y;
}

TEST_CASE("scenarios split the training set", "[unlearn]") {
  const std::vector<Label> y = Labels(100);
  auto random = ResolveScenario("random:0.1", y, 5, 7);
  REQUIRE(random.ok());
  CHECK(random.value().forget_ids.size() == 10);
  CHECK(random.value().retain_ids.size() == 90);
  CHECK(!random.value().excluded_class);
  auto again = ResolveScenario("random:0.1", y, 5, 7);
  CHECK(again.value().forget_ids == random.value().forget_ids);  // seeded
  auto other = ResolveScenario("random:0.1", y, 5, 8);
  CHECK(other.value().forget_ids != random.value().forget_ids);

  auto cls = ResolveScenario("class:3", y, 5, 0);
  REQUIRE(cls.ok());
  CHECK(cls.value().forget_ids.size() == 20);
  for (uint32_t id : cls.value().forget_ids) CHECK(y[id] == 3);
  CHECK(cls.value().excluded_class == uint8_t(3));

  auto ids = ResolveScenario("ids:[42, 7, 99]", y, 5, 0);
  REQUIRE(ids.ok());
  CHECK(ids.value().forget_ids == std::vector<uint32_t>{7, 42, 99});
  CHECK(ids.value().retain_ids.size() == 97);
}

TEST_CASE("bad scenarios are refused", "[unlearn]") {
  const std::vector<Label> y = Labels(100);
  const std::pair<const char*, const char*> cases[] = {
      {"random:0", "fraction in (0, 1)"},
      {"random:1.5", "fraction in (0, 1)"},
      {"random:abc", "scenario random:<fraction>"},
      {"random:0.001", "forgets no sample"},
      {"class:5", "class in [0, 5)"},
      {"class:1.5", "class in [0, 5)"},
      {"ids:[]", "forgets no sample"},
      {"ids:[3, 100]", "ids[1] = 100 is not a training sample"},
      {"ids:[-1]", "ids[0] = -1 is not a training sample"},
      {"ids:[4, 4]", "ids[1] = 4 is repeated"},
      {"ids:3", "JSON array"},
      {"ids:[1", "scenario ids:[...] is not a JSON array"},
      // Past 2^32 (and 2^53): refused, never narrowed onto another sample's id.
      {"ids:[4294967298]", "ids[0] = 4294967298 is not a training sample"},
      {"ids:[9007199254740992]", "is not a training sample"},
      {"everything", "scenario must be"},
  };
  for (const auto& [spec, fragment] : cases) {
    INFO(spec);
    auto split = ResolveScenario(spec, y, 5, 0);
    REQUIRE(!split.ok());
    CHECK(split.status().message().find(fragment) != std::string::npos);
  }
  std::vector<Label> bad_labels = Labels(10);
  bad_labels[4] = 7;
  auto label = ResolveScenario("random:0.5", bad_labels, 5, 0);
  REQUIRE(!label.ok());
  CHECK(label.status().message().find("labels[4] = 7 is not a class") != std::string::npos);
  std::vector<Label> one_class(10, 2);
  auto all = ResolveScenario("class:2", one_class, 5, 0);
  REQUIRE(!all.ok());
  CHECK(all.status().message().find("every sample") != std::string::npos);
}

TEST_CASE("WithoutClass drops one class", "[unlearn]") {
  train::Dataset d;
  d.sample = Shape{1};
  d.x = {10, 11, 12, 13};
  d.y = {0, 1, 0, 2};
  const train::Dataset out = WithoutClass(d, 0);
  CHECK(out.y == std::vector<Label>{1, 2});
  CHECK(out.x == std::vector<uint8_t>{11, 13});
}

}  // namespace
}  // namespace qf::unlearn
