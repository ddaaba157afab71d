// u8 x s8 GEMM: every registered microkernel and the driver of every ISA against the
// reference, bit-exact, with guard bytes around every output.
#include "kernels/u8s8_gemm/u8s8_gemm.h"

#include <algorithm>
#include <string>

#include "core/thread_pool.h"
#include "kernels/u8s8_gemm/driver.h"
#include "test_util.h"

namespace qf::kernels {
namespace {

using test::Guarded;
using test::RandomInts;

struct Problem {
  size_t m, k, n;
  uint8_t a_zp;
  std::vector<uint8_t> a;
  std::vector<int8_t> b;
};

enum class Fill { kRandom, kExtremes, kConstant };

Problem MakeProblem(std::mt19937_64& rng, size_t m, size_t k, size_t n, Fill fill) {
  Problem p{m, k, n, 0, {}, {}};
  switch (fill) {
    case Fill::kRandom:
      p.a = RandomInts<uint8_t>(rng, m * k, 0, 255);
      p.b = RandomInts<int8_t>(rng, k * n, -128, 127);
      p.a_zp = uint8_t(rng() % 256);
      break;
    case Fill::kExtremes:  // largest |products|: 255 * -128 and 0 - 255 with 127
      p.a = RandomInts<uint8_t>(rng, m * k, 0, 1);
      for (auto& x : p.a) x = x ? 255 : 0;
      p.b = RandomInts<int8_t>(rng, k * n, 0, 1);
      for (auto& x : p.b) x = x ? 127 : -128;
      p.a_zp = (rng() & 1) ? 255 : 0;
      break;
    case Fill::kConstant:
      p.a.assign(m * k, 255);
      p.b.assign(k * n, -128);
      p.a_zp = 0;
      break;
  }
  return p;
}

std::vector<int32_t> Reference(const Problem& p) {
  std::vector<int32_t> c(p.m * p.n);
  qf_u8s8_gemm__ref(p.m, p.n, p.k, p.a.data(), p.k, p.a_zp, p.b.data(), p.n, c.data(), p.n);
  return c;
}

TEST_CASE("u8s8 gemm reference matches hand-computed values", "[kernels][u8s8_gemm]") {
  // (A - 3) * B with A = [[3, 4, 5]], B = [[1, -1], [2, 0], [-128, 127]]
  const uint8_t a[] = {3, 4, 5};
  const int8_t b[] = {1, -1, 2, 0, -128, 127};
  int32_t c[2];
  qf_u8s8_gemm__ref(1, 2, 3, a, 3, 3, b, 2, c, 2);
  CHECK(c[0] == 0 * 1 + 1 * 2 + 2 * -128);
  CHECK(c[1] == 0 * -1 + 1 * 0 + 2 * 127);
}

TEST_CASE("u8s8 gemm microkernels match the reference", "[kernels][u8s8_gemm]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (const U8S8GemmUkernel& uk : U8S8GemmUkernels()) {
    INFO("ukernel " << uk.name);
    const size_t depths[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 256, 4096};
    for (size_t k : depths) {
      for (size_t mr = 1; mr <= uk.mr; mr++) {
        for (size_t nc = 1; nc <= uk.nr; nc++) {
          for (Fill fill : {Fill::kRandom, Fill::kExtremes, Fill::kConstant}) {
            INFO("mr " << mr << " nc " << nc << " k " << k << " fill " << int(fill));
            const Problem p = MakeProblem(rng, mr, k, nc, fill);
            const size_t kc = PackedDepth(k, uk.kr);
            std::vector<int16_t> a16(mr * kc);
            PackRowsU8ToS16(mr, k, kc, p.a.data(), k, p.a_zp, a16.data());
            std::vector<int8_t> w(PackedWeightsSize(k, nc, uk.nr, uk.kr));
            PackWeightsS8(k, nc, uk.nr, uk.kr, p.b.data(), nc, w.data());

            Guarded<int32_t> c(mr, nc, uk.nr + 3, int32_t(0x5EEDBEEF));
            uk.fn(mr, nc, kc, a16.data(), kc, w.data(), c.data(), c.ld());

            const std::vector<int32_t> want = Reference(p);
            for (size_t i = 0; i < mr; i++) {
              for (size_t j = 0; j < nc; j++) {
                INFO("at " << i << "," << j);
                REQUIRE(c.at(i, j) == want[i * nc + j]);
              }
            }
            REQUIRE(c.Untouched());
          }
        }
      }
    }
  }
}

// Driver shapes: around the tiles (MR = 4, NR = 8), powers of two +-1, M = 1.
TEST_CASE("u8s8 gemm driver matches the reference for every ISA", "[kernels][u8s8_gemm]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  struct Shape {
    size_t m, k, n;
  };
  std::vector<Shape> shapes;
  for (size_t m : {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33}) {
    for (size_t n : {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64}) shapes.push_back({m, 24, n});
  }
  for (size_t k : {1, 2, 3, 5, 31, 32, 33, 127, 128, 129, 1023, 1024, 1025, 4096}) {
    shapes.push_back({5, k, 11});
    shapes.push_back({1, k, 8});
  }
  shapes.push_back({70, 784, 40});   // more rows than one MC block at this depth
  shapes.push_back({130, 3136, 9});  // deep, several MC blocks

  for (Isa isa : {Isa::kScalar, Isa::kWasmSimd}) {
    const GemmKernels kernels = GemmKernelsFor(isa);
    INFO("isa " << IsaName(kernels.isa));
    for (const Shape& s : shapes) {
      for (Fill fill : {Fill::kRandom, Fill::kExtremes}) {
        INFO("m " << s.m << " k " << s.k << " n " << s.n << " fill " << int(fill));
        const Problem p = MakeProblem(rng, s.m, s.k, s.n, fill);
        const PackedWeights w(kernels, s.k, s.n, p.b.data(), s.n);
        Guarded<int32_t> c(s.m, s.n, s.n + 5, -7);
        GemmU8S8(kernels, s.m, p.a.data(), s.k, p.a_zp, w, OutputI32{c.data(), c.ld()});
        const std::vector<int32_t> want = Reference(p);
        size_t mismatches = 0;
        for (size_t i = 0; i < s.m; i++) {
          for (size_t j = 0; j < s.n; j++) mismatches += c.at(i, j) != want[i * s.n + j];
        }
        REQUIRE(mismatches == 0);
        REQUIRE(c.Untouched());
      }
    }
  }
}

TEST_CASE("u8s8 gemm driver epilogues equal reference gemm + reference requant",
          "[kernels][u8s8_gemm]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (Isa isa : {Isa::kScalar, Isa::kWasmSimd}) {
    const GemmKernels kernels = GemmKernelsFor(isa);
    INFO("isa " << IsaName(kernels.isa));
    for (size_t m : {1, 3, 4, 9}) {
      for (size_t n : {1, 5, 8, 17, 35}) {
        const size_t k = 50;
        INFO("m " << m << " n " << n);
        const Problem p = MakeProblem(rng, m, k, n, Fill::kRandom);
        const std::vector<int32_t> acc = Reference(p);
        const std::vector<float> scale = test::RandomFloats(rng, n, 1e-4f, 4e-3f);
        const std::vector<float> bias = test::RandomFloats(rng, n, -20.f, 20.f);
        const PackedWeights w(kernels, k, n, p.b.data(), n);

        Guarded<float> f(m, n, n + 2, -0.0f);
        GemmU8S8(kernels, m, p.a.data(), k, p.a_zp, w,
                 OutputF32{f.data(), f.ld(), scale.data(), bias.data()});
        REQUIRE(f.Untouched());

        for (auto [qmin, qmax] : {std::pair<uint8_t, uint8_t>{0, 255}, {0, 60}, {10, 200}}) {
          INFO("clamp " << int(qmin) << ".." << int(qmax));
          Guarded<uint8_t> q(m, n, n + 3, 0xA5);
          GemmU8S8(kernels, m, p.a.data(), k, p.a_zp, w,
                   OutputU8{q.data(), q.ld(), scale.data(), bias.data(), qmin, qmax});
          REQUIRE(q.Untouched());
          for (size_t i = 0; i < m; i++) {
            float want_f[64];
            uint8_t want_q[64];
            qf_requant_f32__ref(n, &acc[i * n], scale.data(), bias.data(), want_f);
            qf_requant_u8__ref(n, &acc[i * n], scale.data(), bias.data(), qmin, qmax, want_q);
            for (size_t j = 0; j < n; j++) {
              REQUIRE(std::memcmp(&want_f[j], f.data() + i * f.ld() + j, sizeof(float)) == 0);
              REQUIRE(int(q.at(i, j)) == int(want_q[j]));
            }
          }
        }
      }
    }
  }
}

// Tasks of row blocks and column slices (driver.cc): every output written once, by one
// task, whatever the thread count; the shapes are past the one-thread threshold.
TEST_CASE("u8s8 gemm driver gives the same bytes at any thread count", "[kernels][u8s8_gemm]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  test::OneThreadAfter restore;
  struct Shape {
    size_t m, k, n;
  };
  // Many row blocks; few rows (column slices); one row; n not a multiple of NR.
  for (const Shape& s : {Shape{300, 1024, 96}, Shape{9, 2048, 200}, Shape{1, 4096, 301},
                         Shape{70, 784, 40}}) {
    INFO("m " << s.m << " k " << s.k << " n " << s.n);
    for (Isa isa : {Isa::kScalar, Isa::kWasmSimd}) {
      const GemmKernels kernels = GemmKernelsFor(isa);
      const Problem p = MakeProblem(rng, s.m, s.k, s.n, Fill::kRandom);
      const PackedWeights w(kernels, s.k, s.n, p.b.data(), s.n);
      const std::vector<float> scale = test::RandomFloats(rng, s.n, 1e-5f, 1e-4f);
      const std::vector<float> bias = test::RandomFloats(rng, s.n, -20.f, 20.f);
      const auto run = [&] {
        Guarded<int32_t> c(s.m, s.n, s.n + 5, -7);
        GemmU8S8(kernels, s.m, p.a.data(), s.k, p.a_zp, w, OutputI32{c.data(), c.ld()});
        Guarded<uint8_t> q(s.m, s.n, s.n + 3, 0xA5);
        GemmU8S8(kernels, s.m, p.a.data(), s.k, p.a_zp, w,
                 OutputU8{q.data(), q.ld(), scale.data(), bias.data(), 0, 255});
        REQUIRE(c.Untouched());
        REQUIRE(q.Untouched());
        std::vector<int32_t> out;
        for (size_t i = 0; i < s.m; i++) {
          for (size_t j = 0; j < s.n; j++) out.push_back(c.at(i, j)), out.push_back(q.at(i, j));
        }
        return out;
      };
      REQUIRE(SetThreads(1).ok());
      const std::vector<int32_t> one = run();
      if (!ThreadsAvailable()) continue;
      for (size_t threads : {2, 3, 4}) {
        INFO(threads << " threads, isa " << IsaName(kernels.isa));
        REQUIRE(SetThreads(threads).ok());
        REQUIRE(run() == one);
      }
    }
  }
}

}  // namespace
}  // namespace qf::kernels
