// Epilogues: every registered variant against the reference, bit-exact, on random
// accumulators, on exact rounding ties, and at the int32 and clamp extremes.
#include "kernels/requant/requant.h"

#include <cmath>

#include "test_util.h"

namespace qf::kernels {
namespace {

TEST_CASE("requant u8 reference rounds half to even and clamps", "[kernels][requant]") {
  const int32_t acc[] = {1, 3, 5, -3, 1000, 7};
  const float scale[] = {0.5f, 0.5f, 0.5f, 1.f, 1.f, 1.f};
  const float offset[] = {0.f, 0.f, 0.f, 0.f, 0.f, -2.f};
  uint8_t out[6];
  qf_requant_u8__ref(6, acc, scale, offset, 0, 255, out);
  CHECK(int(out[0]) == 0);    // 0.5 -> 0
  CHECK(int(out[1]) == 2);    // 1.5 -> 2
  CHECK(int(out[2]) == 2);    // 2.5 -> 2
  CHECK(int(out[3]) == 0);    // clamped below
  CHECK(int(out[4]) == 255);  // clamped above
  CHECK(int(out[5]) == 5);
}

TEST_CASE("requant variants match the reference", "[kernels][requant]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (size_t n : {1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 100}) {
    INFO("n " << n);
    std::vector<int32_t> acc = test::RandomInts<int32_t>(rng, n, -200000, 200000);
    acc[0] = INT32_MAX;
    if (n > 1) acc[1] = INT32_MIN;
    const std::vector<float> scale = test::RandomFloats(rng, n, 1e-5f, 2e-3f);
    std::vector<float> offset = test::RandomFloats(rng, n, -30.f, 300.f);
    // Exact ties: acc * 0.5 + 0 lands on k + 0.5.
    std::vector<float> tie_scale(n, 0.5f), tie_offset(n, 0.f);
    std::vector<int32_t> tie_acc = test::RandomInts<int32_t>(rng, n, 0, 511);

    std::vector<float> want_f(n);
    qf_requant_f32__ref(n, acc.data(), scale.data(), offset.data(), want_f.data());
    for (const RequantF32Kernel& kernel : RequantF32Kernels()) {
      INFO(kernel.name);
      test::Guarded<float> got(1, n, n + 4, 123.f);
      kernel.fn(n, acc.data(), scale.data(), offset.data(), got.data());
      REQUIRE(std::memcmp(got.data(), want_f.data(), n * sizeof(float)) == 0);
      REQUIRE(got.Untouched());
    }
    for (const RequantU8Kernel& kernel : RequantU8Kernels()) {
      INFO(kernel.name);
      for (auto [qmin, qmax] : {std::pair<uint8_t, uint8_t>{0, 255}, {0, 100}, {3, 7}}) {
        for (bool ties : {false, true}) {
          INFO("qmin " << int(qmin) << " qmax " << int(qmax) << " ties " << ties);
          const auto& a = ties ? tie_acc : acc;
          const auto& s = ties ? tie_scale : scale;
          const auto& o = ties ? tie_offset : offset;
          std::vector<uint8_t> want(n);
          qf_requant_u8__ref(n, a.data(), s.data(), o.data(), qmin, qmax, want.data());
          test::Guarded<uint8_t> got(1, n, n + 5, 0xEE);
          kernel.fn(n, a.data(), s.data(), o.data(), qmin, qmax, got.data());
          REQUIRE(std::memcmp(got.data(), want.data(), n) == 0);
          REQUIRE(got.Untouched());
        }
      }
    }
  }
}

}  // namespace
}  // namespace qf::kernels
