// Float GEMM: the reference and every registered variant against a double-precision
// loop, in all four transpose forms, with and without accumulation, padded leading
// dimensions, NaN in the padding of A and B, and guard rows around C; the exact variants
// (all but Eigen) against the reference's bits, Inf, NaN, subnormals and -0 included.
#include "kernels/f32_gemm/f32_gemm.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/thread_pool.h"
#include "test_util.h"

namespace qf::kernels {
namespace {

using test::Guarded;

struct Form {
  Trans ta, tb;
  const char* name;
};
constexpr Form kForms[] = {
    {Trans::kNo, Trans::kNo, "A*B"},
    {Trans::kNo, Trans::kYes, "A*B^T"},
    {Trans::kYes, Trans::kNo, "A^T*B"},
    {Trans::kYes, Trans::kYes, "A^T*B^T"},
};

enum class Fill {
  kSigned,     // uniform [-1, 1]: the common case, partial sums cancel
  kPositive,   // uniform [0.5, 2]: partial sums only grow, the largest rounding error
  kWideRange,  // random sign and exponent in [2^-8, 2^9): cancellation across scales
  kConstant,   // a = -1.5, b = 0.25, C_old = 3: every sum exact, so results must be too
  kSparse,     // 80 % zeros (+0 and -0), the rest uniform [-1, 1]: a ReLU gradient
};
constexpr Fill kFills[] = {Fill::kSigned, Fill::kPositive, Fill::kWideRange, Fill::kConstant,
                           Fill::kSparse};
constexpr size_t kNumFills = sizeof(kFills) / sizeof(kFills[0]);

float Sentinel() {  // a NaN with a payload no kernel computes
  const uint32_t bits = 0x7FC0DEADu;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// A rows x cols row-major matrix, `ld` apart; the padding holds NaN, so a kernel that
// reads outside the matrix poisons its result.
std::vector<float> MakeMatrix(std::mt19937_64& rng, size_t rows, size_t cols, size_t ld, Fill fill,
                              float constant) {
  std::vector<float> m(rows * ld, std::numeric_limits<float>::quiet_NaN());
  std::uniform_real_distribution<float> unit(-1.f, 1.f), pos(0.5f, 2.f), mant(1.f, 2.f);
  std::uniform_int_distribution<int> expo(-8, 8);
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < cols; c++) {
      float x = constant;
      switch (fill) {
        case Fill::kSigned:
          x = unit(rng);
          break;
        case Fill::kPositive:
          x = pos(rng);
          break;
        case Fill::kWideRange:
          x = std::ldexp(mant(rng), expo(rng)) * ((rng() & 1) ? 1.f : -1.f);
          break;
        case Fill::kConstant:
          break;
        case Fill::kSparse:
          x = rng() % 5 == 0 ? unit(rng) : ((rng() & 1) ? 0.f : -0.f);
          break;
      }
      m[r * ld + c] = x;
    }
  }
  return m;
}

// Signed error / tolerance over the random fills of one variant: its mean must stay near
// zero (round-to-nearest is unbiased), which catches a variant that truncates or drops a
// term while staying inside the per-element bound on small problems.
struct Bias {
  double sum = 0;
  size_t count = 0;
};

// One problem: every variant against the double-precision truth.
void CheckProblem(std::mt19937_64& rng, size_t m, size_t n, size_t k, const Form& form,
                  bool accumulate, size_t pad, Fill fill, std::vector<Bias>& bias) {
  INFO(form.name << " m " << m << " n " << n << " k " << k << " accumulate " << accumulate
                 << " pad " << pad << " fill " << int(fill));
  const bool a_t = form.ta == Trans::kYes, b_t = form.tb == Trans::kYes;
  const size_t a_rows = a_t ? k : m, a_cols = a_t ? m : k;
  const size_t b_rows = b_t ? n : k, b_cols = b_t ? k : n;
  const size_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
  const std::vector<float> a = MakeMatrix(rng, a_rows, a_cols, lda, fill, -1.5f);
  const std::vector<float> b = MakeMatrix(rng, b_rows, b_cols, ldb, fill, 0.25f);
  const std::vector<float> c_old =
      accumulate ? MakeMatrix(rng, m, n, n, fill == Fill::kConstant ? fill : Fill::kSigned, 3.f)
                 : std::vector<float>(m * n, 0.f);
  auto a_at = [&](size_t i, size_t p) { return a_t ? a[p * lda + i] : a[i * lda + p]; };
  auto b_at = [&](size_t p, size_t j) { return b_t ? b[j * ldb + p] : b[p * ldb + j]; };

  // Truth in double: float products are exact there and k <= 4096 double additions
  // add error far below float's. The bound per element, for any summation order of the
  // k + 1 terms (C_old and the products), is
  //   |got - want| <= 4 * FLT_EPSILON * sqrt(k + 1) * (|C_old| + sum_p |a_ip * b_pj|).
  // It covers the worst case gamma_(k+1) ~ (k + 1) * FLT_EPSILON / 2 up to k + 1 = 64;
  // beyond, rounding errors add up like a random walk (~ sqrt(k + 1)), and the factor 4
  // leaves a wide margin for that.
  std::vector<double> want(m * n), tol(m * n);
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < n; j++) {
      double sum = 0, abs_sum = 0;
      for (size_t p = 0; p < k; p++) {
        const double prod = double(a_at(i, p)) * double(b_at(p, j));
        sum += prod;
        abs_sum += std::fabs(prod);
      }
      const double old = c_old[i * n + j];
      want[i * n + j] = old + sum;
      tol[i * n + j] = 4.0 * FLT_EPSILON * std::sqrt(double(k + 1)) * (std::fabs(old) + abs_sum);
    }
  }

  const Span<F32GemmKernel> kernels = F32GemmKernels();
  for (size_t v = 0; v < kernels.size; v++) {
    const F32GemmKernel& kernel = kernels[v];
    INFO(kernel.name);
    // Without accumulation C starts as NaN (the sentinel): its old contents must be
    // ignored, not multiplied by zero.
    Guarded<float> c(m, n, ldc, Sentinel());
    if (accumulate) {
      for (size_t i = 0; i < m; i++)
        std::memcpy(c.data() + i * ldc, &c_old[i * n], n * sizeof(float));
    }
    kernel.fn(form.ta, form.tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, accumulate);
    REQUIRE(c.Untouched());
    size_t bad = m * n;
    for (size_t e = 0; e < m * n && bad == m * n; e++) {
      const double err = double(c.at(e / n, e % n)) - want[e];
      const bool ok = fill == Fill::kConstant ? err == 0 : std::fabs(err) <= tol[e];
      if (!ok) bad = e;
      if (fill != Fill::kConstant && tol[e] > 0) {
        bias[v].sum += err / tol[e];
        bias[v].count++;
      }
    }
    if (bad != m * n) {
      INFO("C[" << bad / n << "][" << bad % n << "] = " << c.at(bad / n, bad % n) << ", want "
                << want[bad] << " +- " << tol[bad]);
      FAIL("outside the error bound");
    }
  }
}

void CheckBias(const std::vector<Bias>& bias) {
  const Span<F32GemmKernel> kernels = F32GemmKernels();
  for (size_t v = 0; v < kernels.size; v++) {
    INFO(kernels[v].name << ": mean signed error / bound over " << bias[v].count << " outputs");
    REQUIRE(bias[v].count > 0);
    const double mean = bias[v].sum / double(bias[v].count);
    INFO("mean " << mean);
    REQUIRE(std::fabs(mean) <= 0.02);
  }
}

TEST_CASE("f32 gemm variants match hand-computed values", "[kernels][f32_gemm]") {
  const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
  // A*B, A*B^T, A^T*B, A^T*B^T of A = [[1, 2], [3, 4]], B = [[5, 6], [7, 8]].
  const float want[4][4] = {{19, 22, 43, 50}, {17, 23, 39, 53}, {26, 30, 38, 44}, {23, 31, 34, 46}};
  for (const F32GemmKernel& kernel : F32GemmKernels()) {
    for (size_t f = 0; f < 4; f++) {
      INFO(kernel.name << " " << kForms[f].name);
      float c[4];
      kernel.fn(kForms[f].ta, kForms[f].tb, 2, 2, 2, a, 2, b, 2, c, 2, false);
      CHECK(std::memcmp(c, want[f], sizeof(c)) == 0);
      kernel.fn(kForms[f].ta, kForms[f].tb, 2, 2, 2, a, 2, b, 2, c, 2, true);
      for (size_t e = 0; e < 4; e++) CHECK(c[e] == 2 * want[f][e]);
    }
  }
}

TEST_CASE("f32 gemm variants handle empty dimensions", "[kernels][f32_gemm]") {
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  for (const F32GemmKernel& kernel : F32GemmKernels()) {
    for (const Form& form : kForms) {
      INFO(kernel.name << " " << form.name);
      // k == 0: an empty sum, C = 0 or C unchanged.
      Guarded<float> c(3, 2, 4, Sentinel());
      kernel.fn(form.ta, form.tb, 3, 2, 0, a, 4, b, 4, c.data(), 4, false);
      REQUIRE(c.Untouched());
      for (size_t e = 0; e < 6; e++) CHECK(c.at(e / 2, e % 2) == 0.f);
      c.data()[1] = 7.f;
      kernel.fn(form.ta, form.tb, 3, 2, 0, a, 4, b, 4, c.data(), 4, true);
      CHECK(c.at(0, 1) == 7.f);
      CHECK(c.at(0, 0) == 0.f);
      // m == 0 or n == 0: nothing to write.
      for (bool accumulate : {false, true}) {
        Guarded<float> none(0, 2, 4, Sentinel());
        kernel.fn(form.ta, form.tb, 0, 2, 2, a, 4, b, 4, none.data(), 4, accumulate);
        CHECK(none.Untouched());
        Guarded<float> empty_rows(3, 0, 4, Sentinel());
        kernel.fn(form.ta, form.tb, 3, 0, 2, a, 4, b, 4, empty_rows.data(), 4, accumulate);
        CHECK(empty_rows.Untouched());
      }
    }
  }
}

TEST_CASE("f32 gemm variants match a double loop on small shapes", "[kernels][f32_gemm]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  std::vector<Bias> bias(F32GemmKernels().size);
  // Around packet sizes (4 and 8 floats) and Eigen's register tiles; fill and padding
  // drawn per problem so every form and mode sees all of them over the sweep.
  const size_t dims[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17};
  const size_t pads[] = {0, 1, 3};
  for (size_t m : dims) {
    for (size_t n : dims) {
      for (size_t k : dims) {
        for (const Form& form : kForms) {
          for (bool accumulate : {false, true}) {
            const Fill fill = kFills[rng() % kNumFills];
            const size_t pad = pads[rng() % 3];
            CheckProblem(rng, m, n, k, form, accumulate, pad, fill, bias);
          }
        }
      }
    }
  }
  CheckBias(bias);
}

TEST_CASE("f32 gemm variants match a double loop on vectors, deep K and blocked shapes",
          "[kernels][f32_gemm]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  std::vector<Bias> bias(F32GemmKernels().size);
  struct Shape {
    size_t m, n, k;
  };
  const Shape shapes[] = {// dot products (1 x K x 1), around powers of two, down to the deepest K
                          {1, 1, 31},
                          {1, 1, 32},
                          {1, 1, 33},
                          {1, 1, 255},
                          {1, 1, 256},
                          {1, 1, 257},
                          {1, 1, 4096},
                          // column and row vectors, outer products (K x 1 and 1 x K results)
                          {257, 1, 1},
                          {1, 257, 1},
                          {1000, 1, 3},
                          {1, 1000, 3},
                          {64, 64, 1},
                          // deep K with a few outputs: crosses Eigen's depth blocking
                          {3, 5, 4096},
                          {17, 9, 4096},
                          {1, 33, 4096},
                          // large enough for Eigen's blocked GEMM in every dimension
                          {64, 64, 64},
                          {100, 37, 300},
                          {257, 33, 129},
                          {33, 130, 300}};
  for (const Shape& s : shapes) {
    for (const Form& form : kForms) {
      for (bool accumulate : {false, true}) {
        for (Fill fill : kFills) {
          const size_t pad = (rng() & 1) ? 5 : 0;
          CheckProblem(rng, s.m, s.n, s.k, form, accumulate, pad, fill, bias);
        }
      }
    }
  }
  CheckBias(bias);
}

// ---- exact variants: the reference's bits -------------------------------------------

// Values for the exactness tests, which need more than rounding-sized differences to
// show: what the zero-skipping variants skip (+0 and -0, alone or whole rows and columns
// of them, so that either operand is the sparser), and what IEEE arithmetic does at its
// edges (Inf, NaN, subnormal products and sums, overflow to Inf).
enum class Exact {
  kDense,      // uniform [-1, 1]
  kSparse,     // 80 % zeros (+0 and -0)
  kRowSparse,  // whole rows or columns of the stored matrix zero (ReLU'd pixels, pooled dy)
  kSpecial,    // a mix: zeros, subnormals, tiny and huge values, Inf and NaN
};
constexpr Exact kExacts[] = {Exact::kDense, Exact::kSparse, Exact::kRowSparse, Exact::kSpecial};

float ExactValue(std::mt19937_64& rng, Exact kind) {
  std::uniform_real_distribution<float> unit(-1.f, 1.f), mant(1.f, 2.f);
  const float sign = (rng() & 1) ? 1.f : -1.f;
  switch (kind) {
    case Exact::kDense:
      return unit(rng);
    case Exact::kSparse:
    case Exact::kRowSparse:
      return rng() % 5 == 0 ? unit(rng) : sign * 0.f;
    case Exact::kSpecial:
      switch (rng() % 10) {
        case 0:
          return sign * 0.f;
        case 1:  // subnormal
          return sign * std::ldexp(mant(rng), -140);
        case 2:  // a product of two of these is subnormal or underflows to +-0
          return sign * std::ldexp(mant(rng), -70);
        case 3:  // products overflow to +-Inf; sums of them meet as Inf - Inf = NaN
          return sign * std::ldexp(mant(rng), 70);
        case 4:
          return rng() % 8 == 0 ? sign * std::numeric_limits<float>::infinity()
                                : std::ldexp(mant(rng), -1);
        case 5:
          return rng() % 8 == 0 ? std::numeric_limits<float>::quiet_NaN()
                                : std::ldexp(mant(rng), -1);
        default:
          return unit(rng);
      }
  }
  return 0.f;
}

// rows x cols, `ld` apart; the padding holds the NaN sentinel (a kernel that reads it
// poisons its result).
std::vector<float> MakeExactMatrix(std::mt19937_64& rng, size_t rows, size_t cols, size_t ld,
                                   Exact kind) {
  std::vector<float> m(rows * ld, Sentinel());
  const bool by_rows = rng() & 1;  // kRowSparse: zero rows, or zero columns
  std::vector<bool> live(by_rows ? rows : cols);
  for (size_t i = 0; i < live.size(); i++) live[i] = rng() % 4 == 0;
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < cols; c++) {
      float x = ExactValue(rng, kind);
      if (kind == Exact::kRowSparse)
        x = live[by_rows ? r : c] ? ExactValue(rng, Exact::kDense) : 0.f;
      m[r * ld + c] = x;
    }
  }
  return m;
}

// The bits, or both NaN: IEEE 754 and WebAssembly leave open which NaN an operation on
// NaNs returns (and the columns form multiplies b * a where the reference has a * b).
bool SameFloat(float x, float y) {
  return std::memcmp(&x, &y, sizeof(x)) == 0 || (std::isnan(x) && std::isnan(y));
}

// A GEMM that must be bit for bit the reference.
struct Candidate {
  std::string name;
  F32GemmFn fn;
};

// The registered exact variants (the reference aside).
std::vector<Candidate> ExactVariants() {
  std::vector<Candidate> out;
  for (const F32GemmKernel& kernel : F32GemmKernels()) {
    if (kernel.exact && kernel.isa != Isa::kRef) out.push_back({kernel.name, kernel.fn});
  }
  return out;
}

// `candidates` (default: every exact variant) against the reference on one problem; C
// with padding and guard rows.
void CheckExact(std::mt19937_64& rng, size_t m, size_t n, size_t k, const Form& form,
                bool accumulate, size_t pad, Exact a_kind, Exact b_kind,
                const std::vector<Candidate>& candidates = ExactVariants()) {
  INFO(form.name << " m " << m << " n " << n << " k " << k << " accumulate " << accumulate
                 << " pad " << pad << " a " << int(a_kind) << " b " << int(b_kind));
  const bool a_t = form.ta == Trans::kYes, b_t = form.tb == Trans::kYes;
  const size_t a_rows = a_t ? k : m, a_cols = a_t ? m : k;
  const size_t b_rows = b_t ? n : k, b_cols = b_t ? k : n;
  const size_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
  const std::vector<float> a = MakeExactMatrix(rng, a_rows, a_cols, lda, a_kind);
  const std::vector<float> b = MakeExactMatrix(rng, b_rows, b_cols, ldb, b_kind);
  const std::vector<float> c_old =
      MakeExactMatrix(rng, m, n, n, a_kind == Exact::kSpecial ? Exact::kSpecial : Exact::kDense);
  auto start = [&](Guarded<float>& c) {
    // Not accumulating, C holds the NaN sentinel: it must not be read.
    if (!accumulate || n == 0) return;
    for (size_t i = 0; i < m; i++) {
      std::memcpy(c.data() + i * ldc, c_old.data() + i * n, n * sizeof(float));
    }
  };
  Guarded<float> want(m, n, ldc, Sentinel());
  start(want);
  qf_f32_gemm__ref(form.ta, form.tb, m, n, k, a.data(), lda, b.data(), ldb, want.data(), ldc,
                   accumulate);
  for (const Candidate& candidate : candidates) {
    INFO(candidate.name);
    Guarded<float> got(m, n, ldc, Sentinel());
    start(got);
    candidate.fn(form.ta, form.tb, m, n, k, a.data(), lda, b.data(), ldb, got.data(), ldc,
                 accumulate);
    REQUIRE(got.Untouched());
    for (size_t e = 0; e < m * n; e++) {
      const float g = got.at(e / n, e % n), w = want.at(e / n, e % n);
      if (!SameFloat(g, w)) {
        uint32_t gb, wb;
        std::memcpy(&gb, &g, 4);
        std::memcpy(&wb, &w, 4);
        INFO("C[" << e / n << "][" << e % n << "] = " << g << " (0x" << std::hex << gb << "), want "
                  << w << " (0x" << wb << ")");
        FAIL("not the reference's bits");
      }
    }
  }
}

TEST_CASE("exact f32 gemm variants are bit for bit the reference on small shapes",
          "[kernels][f32_gemm]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  // Around the 4 x 4 register tile and the 4-lane vectors, empty dimensions included;
  // the value kinds and padding drawn per problem.
  const size_t dims[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 17};
  const size_t depths[] = {0, 1, 2, 3, 5, 8, 17, 33};
  for (size_t m : dims) {
    for (size_t n : dims) {
      for (size_t k : depths) {
        for (const Form& form : kForms) {
          for (bool accumulate : {false, true}) {
            CheckExact(rng, m, n, k, form, accumulate, rng() % 3, kExacts[rng() % 4],
                       kExacts[rng() % 4]);
          }
        }
      }
    }
  }
}

TEST_CASE(
    "exact f32 gemm variants are bit for bit the reference on deep, wide and blocked "
    "shapes",
    "[kernels][f32_gemm]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  struct Shape {
    size_t m, n, k;
  };
  // Deep dot products; shapes whose streamed operand needs several depth blocks (partial
  // sums kept between them, in C or, accumulating, in scratch), down to the smallest
  // block; the wasmsimd variant's 32-lane rows and 256 KiB panels; backward-pass-like.
  const Shape shapes[] = {{1, 1, 4097},  {3, 5, 4096},    {17, 9, 3001},  {5, 300, 600},
                          {300, 6, 700}, {2, 2000, 40},   {1, 9001, 20},  {37, 41, 9},
                          {64, 33, 150}, {130, 260, 300}, {257, 33, 129}, {400, 32, 256},
                          {256, 144, 16}};
  for (const Shape& s : shapes) {
    for (const Form& form : kForms) {
      for (bool accumulate : {false, true}) {
        for (Exact a_kind : kExacts) {
          const Exact b_kind = kExacts[rng() % 4];
          CheckExact(rng, s.m, s.n, s.k, form, accumulate, (rng() & 1) ? 3 : 0, a_kind, b_kind);
        }
      }
    }
  }
}

// What layers get (registry.cc): the exact variant of each ISA in slices of C over the
// thread pool, on shapes past the one-thread threshold, slicing rows or columns.
TEST_CASE("dispatched f32 gemms are bit for bit the reference at any thread count",
          "[kernels][f32_gemm]") {
  test::OneThreadAfter restore;
  std::mt19937_64 rng(test::TestSeed());
  const std::vector<Candidate> dispatched = {{"F32GemmFor(kScalar)", F32GemmFor(Isa::kScalar)},
                                             {"F32GemmFor(kWasmSimd)", F32GemmFor(Isa::kWasmSimd)}};
  struct Shape {
    size_t m, n, k;
  };
  for (size_t threads : {1, 2, 3, 4}) {
    if (threads > 1 && !ThreadsAvailable()) break;
    INFO(threads << " threads");
    REQUIRE(SetThreads(threads).ok());
    for (const Shape& s : {Shape{301, 77, 40}, Shape{5, 3001, 60}, Shape{64, 64, 129}, Shape{25, 16, 9000}}) {
      for (const Form& form : kForms) {
        for (bool accumulate : {false, true}) {
          CheckExact(rng, s.m, s.n, s.k, form, accumulate, 2, Exact::kRowSparse,
                     kExacts[rng() % 4], dispatched);
        }
      }
    }
  }
}

TEST_CASE("f32 gemm dispatch returns a variant for every ISA", "[kernels][f32_gemm]") {
  CHECK(F32GemmFor(Isa::kRef) == qf_f32_gemm__ref);
  // Eigen is registered but never dispatched to: it is not exact.
  for (const F32GemmKernel& kernel : F32GemmKernels()) {
    INFO(kernel.name);
    CHECK(kernel.exact == (kernel.fn != qf_f32_gemm__eigen));
  }
  CHECK(F32GemmFor(BestIsa()) != nullptr);
}

}  // namespace
}  // namespace qf::kernels
