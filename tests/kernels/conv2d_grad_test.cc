// Convolution gradients: every variant against a double-precision computation written
// from the geometry (not through im2col), within the GEMM rounding bound; every variant
// bit for bit the reference, Inf and NaN included; dispatch.
#include "kernels/conv2d_grad/conv2d_grad.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/conv2d_test_util.h"
#include "test_util.h"

namespace qf::kernels {
namespace {

using test::Describe;

// A random valid geometry: channel counts around the SIMD widths (4 lanes; 64 output
// channels in registers for dw, 32 input channels for dx) and windows with strides and
// uneven padding.
Conv2DShape RandomShape(std::mt19937_64& rng) {
  const size_t channels[] = {1, 2, 3, 4, 5, 7, 8, 12, 16, 31, 33, 36, 64, 67};
  constexpr size_t kNum = sizeof(channels) / sizeof(channels[0]);
  for (;;) {
    Conv2DShape s;
    s.n = 1 + rng() % 3;
    s.in_h = 1 + rng() % 8;
    s.in_w = 1 + rng() % 8;
    s.cin = channels[rng() % kNum];
    s.cout = channels[rng() % kNum];
    s.kh = 1 + rng() % 3;
    s.kw = 1 + rng() % 3;
    s.stride_h = 1 + rng() % 2;
    s.stride_w = 1 + rng() % 2;
    s.pad_top = rng() % 2;
    s.pad_left = rng() % 2;
    s.pad_bottom = rng() % 3;
    s.pad_right = rng() % 2;
    if (s.Valid()) return s;
  }
}

// The identity shapes (im2col is the input itself): 1x1 stride 1, and whole-image windows.
Conv2DShape IdentityShape(std::mt19937_64& rng, bool whole_image) {
  Conv2DShape s;
  s.n = 1 + rng() % 5;
  s.in_h = 1 + rng() % 4;
  s.in_w = 1 + rng() % 4;
  s.cin = 1 + rng() % 40;
  s.cout = 1 + rng() % 70;
  if (whole_image) {
    s.kh = s.in_h;
    s.kw = s.in_w;
  }
  return s;
}

// Every tenth trial an identity shape of each kind, else a random one.
Conv2DShape TrialShape(std::mt19937_64& rng, int trial) {
  if (trial % 10 == 8) return IdentityShape(rng, false);
  if (trial % 10 == 9) return IdentityShape(rng, true);
  return RandomShape(rng);
}

// 80 % zeros (+0 and -0) when sparse, like ReLU'd activations and gradients; else [-1, 1].
std::vector<float> MakeValues(std::mt19937_64& rng, size_t n, bool sparse) {
  std::uniform_real_distribution<float> unit(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = !sparse || rng() % 5 == 0 ? unit(rng) : ((rng() & 1) ? 0.f : -0.f);
  return v;
}

struct Problem {
  Conv2DShape s;
  std::vector<float> x, dy, w, dx_old;
};

Problem MakeProblem(std::mt19937_64& rng, const Conv2DShape& s, bool sparse_x, bool sparse_dy) {
  const size_t nx = s.n * s.in_h * s.in_w * s.cin;
  return {s, MakeValues(rng, nx, sparse_x), MakeValues(rng, s.out_rows() * s.cout, sparse_dy),
          MakeValues(rng, s.depth() * s.cout, false), MakeValues(rng, nx, false)};
}

// The gradients in double, from the geometry: each window cell inside the image pairs an
// input pixel with a weight row. `abs` collects the sums of |terms| for the error bound,
// `terms` how many terms each element has.
struct Truth {
  std::vector<double> dw, dx, dw_abs, dx_abs;
  size_t dw_terms, dx_terms;
};

Truth Exact(const Problem& p) {
  const Conv2DShape& s = p.s;
  const size_t cin = s.cin, cout = s.cout;
  Truth t{std::vector<double>(s.depth() * cout),
          std::vector<double>(p.x.size()),
          std::vector<double>(s.depth() * cout),
          std::vector<double>(p.x.size()),
          s.out_rows(),
          s.kh * s.kw * cout + 1};
  for (size_t i = 0; i < p.x.size(); i++) {
    t.dx[i] = p.dx_old[i];
    t.dx_abs[i] = std::fabs(p.dx_old[i]);
  }
  size_t r = 0;
  for (size_t b = 0; b < s.n; b++) {
    for (size_t oy = 0; oy < s.out_h(); oy++) {
      for (size_t ox = 0; ox < s.out_w(); ox++, r++) {
        for (size_t ky = 0; ky < s.kh; ky++) {
          for (size_t kx = 0; kx < s.kw; kx++) {
            const int64_t iy = int64_t(oy * s.stride_h + ky) - int64_t(s.pad_top);
            const int64_t ix = int64_t(ox * s.stride_w + kx) - int64_t(s.pad_left);
            if (iy < 0 || ix < 0 || iy >= int64_t(s.in_h) || ix >= int64_t(s.in_w)) continue;
            const size_t pixel = ((b * s.in_h + size_t(iy)) * s.in_w + size_t(ix)) * cin;
            for (size_t ci = 0; ci < cin; ci++) {
              const size_t row = ((ky * s.kw + kx) * cin + ci) * cout;
              for (size_t co = 0; co < cout; co++) {
                const double g = p.dy[r * cout + co];
                const double wx = double(p.x[pixel + ci]) * g, gw = g * p.w[row + co];
                t.dw[row + co] += wx;
                t.dw_abs[row + co] += std::fabs(wx);
                t.dx[pixel + ci] += gw;
                t.dx_abs[pixel + ci] += std::fabs(gw);
              }
            }
          }
        }
      }
    }
  }
  return t;
}

// |got - want| <= 4 eps sqrt(terms + 1) sum |terms|, the GEMM tests' bound.
void CheckNear(const char* what, const std::vector<float>& got, const std::vector<double>& want,
               const std::vector<double>& abs, size_t terms) {
  const double eps = std::numeric_limits<float>::epsilon();
  for (size_t i = 0; i < got.size(); i++) {
    const double tol = 4 * eps * std::sqrt(double(terms) + 1) * abs[i];
    if (!(std::fabs(got[i] - want[i]) <= tol)) {
      INFO(what << "[" << i << "] = " << got[i] << ", want " << want[i] << " +- " << tol);
      FAIL("outside the rounding bound");
    }
  }
}

TEST_CASE("conv2d gradient variants match a double-precision computation",
          "[kernels][conv2d_grad]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 120; trial++) {
    const Conv2DShape s = TrialShape(rng, trial);
    const Problem p = MakeProblem(rng, s, rng() & 1, rng() & 1);
    const Truth truth = Exact(p);
    for (const Conv2DGradKernel& kernel : Conv2DGradKernels()) {
      INFO(kernel.name << ", " << Describe(s));
      // Sentinels in dw: every element must be written.
      std::vector<float> dw(s.depth() * s.cout, std::numeric_limits<float>::quiet_NaN());
      kernel.weight(s, p.x.data(), p.dy.data(), dw.data());
      CheckNear("dw", dw, truth.dw, truth.dw_abs, truth.dw_terms);
      std::vector<float> dx = p.dx_old;
      kernel.input(s, p.dy.data(), p.w.data(), dx.data());
      CheckNear("dx", dx, truth.dx, truth.dx_abs, truth.dx_terms);
    }
  }
}

bool SameBits(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  for (size_t i = 0; i < got.size(); i++) {
    const bool same = std::memcmp(&got[i], &want[i], sizeof(float)) == 0 ||
                      (std::isnan(got[i]) && std::isnan(want[i]));  // payloads may differ
    if (!same) {
      UNSCOPED_INFO(what << "[" << i << "] = " << got[i] << ", want " << want[i]);
      return false;
    }
  }
  return true;
}

TEST_CASE("conv2d gradient variants are bit for bit the reference", "[kernels][conv2d_grad]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 200; trial++) {
    const Conv2DShape s = TrialShape(rng, trial);
    const int special = trial % 4;  // none, an Inf in dy, a NaN in w, a NaN in x
    Problem p = MakeProblem(rng, s, trial & 1, (trial >> 1) & 1);
    if (special == 1) p.dy[rng() % p.dy.size()] = std::numeric_limits<float>::infinity();
    if (special == 2) p.w[rng() % p.w.size()] = std::numeric_limits<float>::quiet_NaN();
    if (special == 3) p.x[rng() % p.x.size()] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> want_dw(s.depth() * s.cout), want_dx = p.dx_old;
    qf_conv2d_weight_grad__ref(s, p.x.data(), p.dy.data(), want_dw.data());
    qf_conv2d_input_grad__ref(s, p.dy.data(), p.w.data(), want_dx.data());
    for (const Conv2DGradKernel& kernel : Conv2DGradKernels()) {
      if (kernel.isa == Isa::kRef) continue;
      INFO(kernel.name << ", " << Describe(s) << ", special " << special);
      std::vector<float> dw(want_dw.size()), dx = p.dx_old;
      kernel.weight(s, p.x.data(), p.dy.data(), dw.data());
      CHECK(SameBits(dw, want_dw, "dw"));
      kernel.input(s, p.dy.data(), p.w.data(), dx.data());
      CHECK(SameBits(dx, want_dx, "dx"));
    }
  }
}

// Layer-sized problems, large enough to be split over threads (dw by channel parts, dx by
// images: wasmsimd.cc), with sparse x (dw splats x) or sparse dy (dw splats dy).
TEST_CASE("conv2d gradient variants give the reference's bits at any thread count",
          "[kernels][conv2d_grad]") {
  if (!ThreadsAvailable()) return;
  test::OneThreadAfter restore;
  auto shape = [](size_t n, size_t hw, size_t cin, size_t cout, size_t k, size_t stride,
                  size_t pad) {
    Conv2DShape s;
    s.n = n, s.in_h = s.in_w = hw, s.cin = cin, s.cout = cout, s.kh = s.kw = k;
    s.stride_h = s.stride_w = stride;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad;
    return s;
  };
  const Conv2DShape shapes[] = {
      shape(8, 12, 6, 16, 5, 1, 0),    // lenet conv2
      shape(4, 28, 16, 16, 3, 1, 1),   // resnet8, first stage
      shape(4, 14, 16, 32, 3, 2, 1),   // resnet8, a strided stage entry
      shape(2, 7, 64, 67, 3, 1, 1),    // 64 channels and a tail of 3
      shape(2, 9, 70, 5, 3, 1, 1),     // more input channels than a chunk
  };
  std::mt19937_64 rng(test::TestSeed());
  for (const Conv2DShape& s : shapes) {
    REQUIRE(s.Valid());
    for (int sparse = 0; sparse < 2; sparse++) {
      const Problem p = MakeProblem(rng, s, sparse == 0, sparse == 1);
      std::vector<float> want_dw(s.depth() * s.cout), want_dx = p.dx_old;
      qf_conv2d_weight_grad__ref(s, p.x.data(), p.dy.data(), want_dw.data());
      qf_conv2d_input_grad__ref(s, p.dy.data(), p.w.data(), want_dx.data());
      for (const Conv2DGradKernel& kernel : Conv2DGradKernels()) {
        if (kernel.isa == Isa::kRef) continue;
        for (size_t threads : {2, 3, 4}) {
          INFO(kernel.name << ", " << Describe(s) << ", sparse " << (sparse ? "dy" : "x") << ", "
                           << threads << " threads");
          REQUIRE(SetThreads(threads).ok());
          std::vector<float> dw(want_dw.size()), dx = p.dx_old;
          kernel.weight(s, p.x.data(), p.dy.data(), dw.data());
          CHECK(SameBits(dw, want_dw, "dw"));
          kernel.input(s, p.dy.data(), p.w.data(), dx.data());
          CHECK(SameBits(dx, want_dx, "dx"));
        }
      }
    }
  }
}

TEST_CASE("conv2d gradient dispatch returns a variant for every ISA", "[kernels][conv2d_grad]") {
  CHECK(Conv2DGradFor(Isa::kRef).weight == qf_conv2d_weight_grad__ref);
  CHECK(Conv2DGradFor(Isa::kScalar).input == qf_conv2d_input_grad_im2col<Isa::kScalar>);
#if defined(QF_HAVE_WASMSIMD)
  CHECK(Conv2DGradFor(Isa::kWasmSimd).weight == qf_conv2d_weight_grad__wasmsimd);
#else
  CHECK(Conv2DGradFor(Isa::kWasmSimd).weight == qf_conv2d_weight_grad_im2col<Isa::kScalar>);
#endif
  CHECK(Conv2DGradFor(BestIsa()).input != nullptr);
}

}  // namespace
}  // namespace qf::kernels
