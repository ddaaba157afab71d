// Table-lookup GEMM: every registered microkernel (with its table builder) and the
// whole-matrix driver against the u8 x s8 reference, bit-exact, for weights of 2 and 3
// bits, with guard bytes around every output.
#include "kernels/lut_gemm/lut_gemm.h"

#include "kernels/u8s8_gemm/u8s8_gemm.h"
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

// kMaxPositive / kMaxNegative: every product +-255 * 2^(b-1), the largest sums.
enum class Fill { kRandom, kExtremes, kMaxPositive, kMaxNegative };

Problem MakeProblem(std::mt19937_64& rng, size_t m, size_t k, size_t n, int bits, Fill fill) {
  const int wmin = -(1 << (bits - 1)), wmax = (1 << (bits - 1)) - 1;
  Problem p{m, k, n, 0, {}, {}};
  switch (fill) {
    case Fill::kRandom:
      p.a = RandomInts<uint8_t>(rng, m * k, 0, 255);
      p.b = RandomInts<int8_t>(rng, k * n, wmin, wmax);
      p.a_zp = uint8_t(rng() % 256);
      break;
    case Fill::kExtremes:
      p.a = RandomInts<uint8_t>(rng, m * k, 0, 1);
      for (auto& x : p.a) x = x ? 255 : 0;
      p.b = RandomInts<int8_t>(rng, k * n, 0, 1);
      for (auto& x : p.b) x = int8_t(x ? wmax : wmin);
      p.a_zp = (rng() & 1) ? 255 : 0;
      break;
    case Fill::kMaxPositive:  // (0 - 255) * wmin
      p.a.assign(m * k, 0);
      p.b.assign(k * n, int8_t(wmin));
      p.a_zp = 255;
      break;
    case Fill::kMaxNegative:  // (255 - 0) * wmin
      p.a.assign(m * k, 255);
      p.b.assign(k * n, int8_t(wmin));
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

constexpr Fill kFills[] = {Fill::kRandom, Fill::kExtremes, Fill::kMaxPositive, Fill::kMaxNegative};

TEST_CASE("lut gemm microkernels match the reference", "[kernels][lut_gemm]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (const LutGemmUkernel& uk : LutGemmUkernels()) {
    INFO("ukernel " << uk.name);
    const size_t flush = LutFlushGroups(uk.bits) * kLutGroup;  // depth of one int16 run
    const size_t depths[] = {1,  2,  3,  4,         5,     7,         8,
                             15, 16, 17, flush - 1, flush, flush + 1, 2 * flush + 2,
                             63, 64, 65, 255,       256,   4096};
    for (size_t k : depths) {
      for (size_t mr = 1; mr <= uk.mr; mr++) {
        for (size_t nc = 1; nc <= uk.nr; nc++) {
          for (Fill fill : kFills) {
            INFO("mr " << mr << " nc " << nc << " k " << k << " fill " << int(fill));
            const Problem p = MakeProblem(rng, mr, k, nc, uk.bits, fill);
            const size_t kc = LutGroups(k) * kLutGroup, stride = LutTableStride(k, uk.bits);
            std::vector<int16_t> a16(mr * kc), tables(mr * stride);
            PackRowsU8ToS16(mr, k, kc, p.a.data(), k, p.a_zp, a16.data());
            uk.tables(mr, k, uk.bits, a16.data(), kc, tables.data());
            std::vector<uint8_t> w(LutPackedWeightsSize(k, nc, uk.bits));
            PackLutWeights(k, nc, uk.bits, p.b.data(), nc, w.data());

            Guarded<int32_t> c(mr, nc, uk.nr + 3, int32_t(0x5EEDBEEF));
            uk.fn(mr, nc, LutGroups(k), tables.data(), stride, w.data(), c.data(), c.ld());

            const std::vector<int32_t> want = Reference(p);
            size_t mismatches = 0;
            for (size_t i = 0; i < mr; i++) {
              for (size_t j = 0; j < nc; j++) mismatches += c.at(i, j) != want[i * nc + j];
            }
            REQUIRE(mismatches == 0);
            REQUIRE(c.Untouched());
          }
        }
      }
    }
  }
}

// Shapes around the tiles (MR <= 4, NR = 16, groups of 3), odd m, n and k, several row
// blocks, the deepest k the int32 bound allows.
TEST_CASE("lut gemm driver matches the reference", "[kernels][lut_gemm]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  struct Shape {
    size_t m, k, n;
  };
  std::vector<Shape> shapes;
  for (size_t m : {1, 2, 3, 4, 5, 7, 9, 17, 33}) {
    for (size_t n : {1, 7, 15, 16, 17, 31, 33, 64}) shapes.push_back({m, 25, n});
  }
  for (size_t k : {1, 2, 3, 5, 31, 32, 33, 127, 128, 129, 1023, 1024, 1025}) {
    shapes.push_back({5, k, 11});
    shapes.push_back({1, k, 16});
  }
  shapes.push_back({70, 784, 40});   // several row blocks for 3 bits
  shapes.push_back({37, 150, 16});   // lenet conv2's depth
  shapes.push_back({130, 3136, 9});  // deep, several row blocks

  for (const LutGemmUkernel& uk : LutGemmUkernels()) {
    INFO("ukernel " << uk.name);
    for (const Shape& s : shapes) {
      for (Fill fill : kFills) {
        INFO("m " << s.m << " k " << s.k << " n " << s.n << " fill " << int(fill));
        const Problem p = MakeProblem(rng, s.m, s.k, s.n, uk.bits, fill);
        std::vector<uint8_t> w(LutPackedWeightsSize(s.k, s.n, uk.bits));
        PackLutWeights(s.k, s.n, uk.bits, p.b.data(), s.n, w.data());
        Guarded<int32_t> c(s.m, s.n, s.n + 5, -7);
        GemmU8LutI32(uk, s.m, s.k, s.n, p.a.data(), s.k, p.a_zp, w.data(), c.data(), c.ld());
        const std::vector<int32_t> want = Reference(p);
        size_t mismatches = 0;
        for (size_t i = 0; i < s.m; i++) {
          for (size_t j = 0; j < s.n; j++) mismatches += c.at(i, j) != want[i * s.n + j];
        }
        REQUIRE(mismatches == 0);
        REQUIRE(c.Untouched());
      }
    }
    // k = kMaxGemmDepth at the largest |products|: the int32 bound, reached.
    for (Fill fill : {Fill::kMaxPositive, Fill::kMaxNegative}) {
      const Problem p = MakeProblem(rng, 1, kMaxGemmDepth, 3, uk.bits, fill);
      std::vector<uint8_t> w(LutPackedWeightsSize(p.k, p.n, uk.bits));
      PackLutWeights(p.k, p.n, uk.bits, p.b.data(), p.n, w.data());
      int32_t c[3];
      GemmU8LutI32(uk, 1, p.k, p.n, p.a.data(), p.k, p.a_zp, w.data(), c, 3);
      const std::vector<int32_t> want = Reference(p);
      REQUIRE(std::vector<int32_t>(c, c + 3) == want);
    }
  }
}

}  // namespace
}  // namespace qf::kernels
