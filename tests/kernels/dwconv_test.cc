// Depthwise conv: the reference against hand-computed values and against the Conv2D
// reference one channel at a time; every registered variant and the driver of every
// ISA against the reference, bit-exact, with guard bytes after every output.
#include "kernels/dwconv/dwconv.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

#include "core/thread_pool.h"
#include "kernels/dwconv/f32.h"
#include "test_util.h"

namespace qf::kernels {
namespace {

using test::Guarded;
using test::RandomInts;

// Channel counts around the SIMD steps (16, then 8, then a scalar tail).
const size_t kChannels[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                            13, 14, 15, 16, 17, 23, 24, 25, 31, 32, 33};
constexpr size_t kNumChannels = sizeof(kChannels) / sizeof(kChannels[0]);

struct Window {
  size_t kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right;
};

DwConvShape Shape(size_t n, size_t h, size_t w, size_t c, const Window& win) {
  DwConvShape s;
  s.n = n;
  s.in_h = h;
  s.in_w = w;
  s.c = c;
  s.kh = win.kh;
  s.kw = win.kw;
  s.stride_h = win.stride_h;
  s.stride_w = win.stride_w;
  s.pad_top = win.pad_top;
  s.pad_left = win.pad_left;
  s.pad_bottom = win.pad_bottom;
  s.pad_right = win.pad_right;
  return s;
}

std::string Describe(const DwConvShape& s) {
  std::ostringstream o;
  o << "n " << s.n << ", " << s.in_h << "x" << s.in_w << "x" << s.c << ", kernel " << s.kh << "x"
    << s.kw << ", stride " << s.stride_h << "," << s.stride_w << ", pad t" << s.pad_top << " l"
    << s.pad_left << " b" << s.pad_bottom << " r" << s.pad_right;
  return o.str();
}

enum class Fill { kRandom, kExtremes, kConstant };

struct Problem {
  DwConvShape s;
  uint8_t zp;
  std::vector<uint8_t> x;
  std::vector<int8_t> w;
};

Problem MakeProblem(std::mt19937_64& rng, const DwConvShape& s, Fill fill) {
  const size_t nx = s.n * s.in_h * s.in_w * s.c, nw = s.kh * s.kw * s.c;
  Problem p{s, 0, {}, {}};
  switch (fill) {
    case Fill::kRandom:
      p.x = RandomInts<uint8_t>(rng, nx, 0, 255);
      p.w = RandomInts<int8_t>(rng, nw, -128, 127);
      p.zp = uint8_t(rng() % 256);
      break;
    case Fill::kExtremes:  // largest |products|: (255 - 0) * -128 and (0 - 255) * 127
      p.x = RandomInts<uint8_t>(rng, nx, 0, 1);
      for (auto& v : p.x) v = v ? 255 : 0;
      p.w = RandomInts<int8_t>(rng, nw, 0, 1);
      for (auto& v : p.w) v = v ? 127 : -128;
      p.zp = (rng() & 1) ? 255 : 0;
      break;
    case Fill::kConstant:  // every in-image product is 255 * -128; padding adds nothing
      p.x.assign(nx, 255);
      p.w.assign(nw, -128);
      p.zp = 0;
      break;
  }
  return p;
}

std::vector<int32_t> Reference(const Problem& p) {
  std::vector<int32_t> y(p.s.out_rows() * p.s.c);
  qf_dwconv__ref(p.s, p.x.data(), p.zp, p.w.data(), y.data(), p.s.c);
  return y;
}

// Small shapes: every window x image x batch (channels cycling through kChannels), and
// every channel count against a few windows. Invalid combinations are dropped.
std::vector<DwConvShape> SmallShapes() {
  std::vector<DwConvShape> shapes;
  const std::pair<size_t, size_t> kernels[] = {{1, 1}, {3, 3}, {5, 5}, {1, 3}, {3, 1}};
  const std::pair<size_t, size_t> strides[] = {{1, 1}, {2, 2}, {1, 2}};
  const size_t pads[][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {0, 0, 1, 1}, {2, 1, 0, 2}};
  const std::pair<size_t, size_t> images[] = {{1, 1}, {2, 3}, {5, 6}};
  size_t i = 0;
  for (auto [kh, kw] : kernels) {
    for (auto [sh, sw] : strides) {
      for (const auto& pad : pads) {
        const Window win{kh, kw, sh, sw, pad[0], pad[1], pad[2], pad[3]};
        for (auto [h, w] : images) {
          for (size_t n : {1, 3}) {
            const DwConvShape s = Shape(n, h, w, kChannels[i++ % kNumChannels], win);
            if (s.Valid()) shapes.push_back(s);
          }
        }
      }
    }
  }
  const Window windows[] = {{3, 3, 1, 1, 1, 1, 1, 1},
                            {3, 3, 2, 2, 0, 0, 1, 1},
                            {5, 5, 1, 1, 2, 2, 2, 2},
                            {1, 3, 1, 2, 0, 1, 0, 1},
                            {1, 1, 1, 1, 0, 0, 0, 0}};
  for (size_t c : kChannels) {
    for (const Window& win : windows) {
      shapes.push_back(Shape(1, 5, 6, c, win));
      shapes.push_back(Shape(3, 2, 3, c, win));
    }
  }
  return shapes;
}

// Layer-sized problems (MobileNet-like blocks).
std::vector<DwConvShape> LayerShapes() {
  return {
      Shape(1, 28, 28, 8, {3, 3, 1, 1, 1, 1, 1, 1}),
      Shape(3, 14, 14, 32, {3, 3, 1, 1, 1, 1, 1, 1}),
      Shape(3, 14, 14, 33, {3, 3, 2, 2, 0, 0, 1, 1}),
      Shape(1, 14, 14, 48, {5, 5, 1, 1, 2, 2, 2, 2}),
      Shape(2, 7, 7, 40, {7, 7, 1, 1, 0, 0, 0, 0}),  // window covers the image
      Shape(1, 28, 28, 1, {3, 3, 2, 2, 1, 1, 1, 1}),
  };
}

std::vector<DwConvShape> AllShapes() {
  std::vector<DwConvShape> shapes = SmallShapes();
  for (const DwConvShape& s : LayerShapes()) {
    REQUIRE(s.Valid());
    shapes.push_back(s);
  }
  return shapes;
}

size_t Mismatches(const Guarded<int32_t>& y, const std::vector<int32_t>& want, size_t rows,
                  size_t cols) {
  size_t bad = 0;
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < cols; c++) bad += y.at(r, c) != want[r * cols + c];
  }
  return bad;
}

TEST_CASE("dwconv shape: output dims and validity", "[kernels][dwconv]") {
  DwConvShape s = Shape(2, 14, 15, 32, {3, 3, 2, 2, 0, 0, 1, 1});
  CHECK(s.Valid());
  CHECK(s.out_h() == 7);
  CHECK(s.out_w() == 7);
  CHECK(s.out_rows() == 2 * 7 * 7);

  const DwConvShape good = Shape(1, 4, 4, 3, {3, 3, 1, 1, 0, 0, 0, 0});
  REQUIRE(good.Valid());
  auto broken = [&](auto mutate) {
    DwConvShape b = good;
    mutate(b);
    return !b.Valid();
  };
  CHECK(broken([](DwConvShape& b) { b.n = 0; }));
  CHECK(broken([](DwConvShape& b) { b.in_h = 0; }));
  CHECK(broken([](DwConvShape& b) { b.c = 0; }));
  CHECK(broken([](DwConvShape& b) { b.kw = 0; }));
  CHECK(broken([](DwConvShape& b) { b.stride_h = 0; }));
  CHECK(broken([](DwConvShape& b) { b.kw = 6; }));  // window larger than the image
  CHECK(!broken([](DwConvShape& b) { b.kw = 6, b.pad_left = 1, b.pad_right = 1; }));
  CHECK(broken([](DwConvShape& b) { b.c = SIZE_MAX / 4; }));  // element count overflows
  // Taps: exactly kMaxDwConvTaps is allowed, one more kernel column is not.
  CHECK(!broken([](DwConvShape& b) { b.kh = b.kw = b.in_h = b.in_w = 256; }));
  CHECK(broken([](DwConvShape& b) { b.kh = 256, b.kw = b.in_h = b.in_w = 257; }));
}

TEST_CASE("dwconv reference matches hand-computed values", "[kernels][dwconv]") {
  // Two channels, 2x2 image, zp 1, 3x3 kernel with padding 1: every window covers the
  // whole image. x - zp is [[0, 1], [2, 3]] in channel 0 and [[1, 1], [1, 1]] in
  // channel 1; weights are 1..9 (channel 0) and 10 * (1..9) (channel 1).
  const uint8_t x[] = {1, 2, 2, 2, 3, 2, 4, 2};
  int8_t w[18];
  for (int t = 0; t < 9; t++) w[2 * t] = int8_t(t + 1), w[2 * t + 1] = int8_t(10 * (t + 1));
  const DwConvShape s = Shape(1, 2, 2, 2, {3, 3, 1, 1, 1, 1, 1, 1});
  int32_t y[8];
  qf_dwconv__ref(s, x, 1, w, y, 2);
  // (0,0): image pixels meet taps 5, 6, 8, 9.
  CHECK(y[0] == 0 * 5 + 1 * 6 + 2 * 8 + 3 * 9);
  CHECK(y[1] == 10 * (5 + 6 + 8 + 9));
  CHECK(y[2] == 0 * 4 + 1 * 5 + 2 * 7 + 3 * 8);  // (0,1)
  CHECK(y[3] == 10 * (4 + 5 + 7 + 8));
  CHECK(y[4] == 0 * 2 + 1 * 3 + 2 * 5 + 3 * 6);  // (1,0)
  CHECK(y[5] == 10 * (2 + 3 + 5 + 6));
  CHECK(y[6] == 0 * 1 + 1 * 2 + 2 * 4 + 3 * 5);  // (1,1)
  CHECK(y[7] == 10 * (1 + 2 + 4 + 5));
}

TEST_CASE("dwconv reference equals the conv2d reference channel by channel", "[kernels][dwconv]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  const std::vector<DwConvShape> shapes = AllShapes();
  for (size_t i = 0; i < shapes.size(); i += 9) {
    const DwConvShape& s = shapes[i];
    INFO(Describe(s));
    const Problem p = MakeProblem(rng, s, Fill::kRandom);
    const std::vector<int32_t> want = Reference(p);

    Conv2DShape one;  // the same window, one channel in and out
    one.n = s.n, one.in_h = s.in_h, one.in_w = s.in_w, one.cin = one.cout = 1;
    one.kh = s.kh, one.kw = s.kw, one.stride_h = s.stride_h, one.stride_w = s.stride_w;
    one.pad_top = s.pad_top, one.pad_left = s.pad_left;
    one.pad_bottom = s.pad_bottom, one.pad_right = s.pad_right;
    REQUIRE(one.out_rows() == s.out_rows());
    size_t bad = 0;
    for (size_t c = 0; c < s.c; c++) {
      std::vector<uint8_t> xc;
      std::vector<int8_t> wc;
      for (size_t j = c; j < p.x.size(); j += s.c) xc.push_back(p.x[j]);
      for (size_t j = c; j < p.w.size(); j += s.c) wc.push_back(p.w[j]);
      std::vector<int32_t> yc(one.out_rows());
      qf_conv2d__ref(one, xc.data(), p.zp, wc.data(), yc.data(), 1);
      for (size_t r = 0; r < yc.size(); r++) bad += yc[r] != want[r * s.c + c];
    }
    REQUIRE(bad == 0);
  }
}

TEST_CASE("dwconv variants match the reference", "[kernels][dwconv]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (const DwConvShape& s : AllShapes()) {
    for (Fill fill : {Fill::kRandom, Fill::kExtremes, Fill::kConstant}) {
      INFO(Describe(s) << ", fill " << int(fill));
      const Problem p = MakeProblem(rng, s, fill);
      const std::vector<int32_t> want = Reference(p);
      for (const DwConvKernel& v : DwConvKernels()) {
        if (v.isa == Isa::kRef) continue;  // `want` is the reference
        INFO("variant " << v.name);
        Guarded<int32_t> y(s.out_rows(), s.c, s.c + 3, int32_t(0x5EEDBEEF));
        v.fn(s, p.x.data(), p.zp, p.w.data(), y.data(), y.ld());
        REQUIRE(Mismatches(y, want, s.out_rows(), s.c) == 0);
        REQUIRE(y.Untouched());
      }
    }
  }
}

TEST_CASE("dwconv variants are exact at the largest allowed window", "[kernels][dwconv]") {
  // 256x256 taps = kMaxDwConvTaps, every product 255 * -128: acc = -2139095040.
  const DwConvShape s = Shape(1, 256, 256, 17, {256, 256, 1, 1, 0, 0, 0, 0});
  REQUIRE(s.kh * s.kw == kMaxDwConvTaps);
  std::mt19937_64 rng(1);
  const Problem p = MakeProblem(rng, s, Fill::kConstant);
  const std::vector<int32_t> want = Reference(p);
  REQUIRE(want[0] == -2139095040);
  for (const DwConvKernel& v : DwConvKernels()) {
    INFO("variant " << v.name);
    Guarded<int32_t> y(1, s.c, s.c + 1, 7);
    v.fn(s, p.x.data(), p.zp, p.w.data(), y.data(), y.ld());
    REQUIRE(Mismatches(y, want, 1, s.c) == 0);
    REQUIRE(y.Untouched());
  }
}

TEST_CASE("dwconv driver epilogues equal reference dwconv + reference requant",
          "[kernels][dwconv]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  const std::vector<DwConvShape> small = SmallShapes();
  std::vector<DwConvShape> shapes = LayerShapes();
  for (size_t i = 0; i < small.size(); i += 7) shapes.push_back(small[i]);

  for (Isa isa : {Isa::kRef, Isa::kScalar, Isa::kWasmSimd}) {
    const DwConvConfig config = DwConvConfigFor(isa);
    INFO("isa " << IsaName(config.isa));
    for (const DwConvShape& s : shapes) {
      INFO(Describe(s));
      const Problem p = MakeProblem(rng, s, Fill::kRandom);
      const std::vector<int32_t> acc = Reference(p);
      const size_t m = s.out_rows(), n = s.c;
      const std::vector<float> scale = test::RandomFloats(rng, n, 1e-4f, 4e-3f);
      const std::vector<float> bias = test::RandomFloats(rng, n, -20.f, 20.f);

      Guarded<int32_t> y(m, n, n + 2, -7);
      DwConvU8S8(config, s, p.x.data(), p.zp, p.w.data(), OutputI32{y.data(), y.ld()});
      REQUIRE(Mismatches(y, acc, m, n) == 0);
      REQUIRE(y.Untouched());

      Guarded<float> f(m, n, n + 2, -0.0f);
      DwConvU8S8(config, s, p.x.data(), p.zp, p.w.data(),
                 OutputF32{f.data(), f.ld(), scale.data(), bias.data()});
      REQUIRE(f.Untouched());
      std::vector<float> want_f(n);
      size_t bad = 0;
      for (size_t r = 0; r < m; r++) {
        qf_requant_f32__ref(n, &acc[r * n], scale.data(), bias.data(), want_f.data());
        bad += std::memcmp(want_f.data(), f.data() + r * f.ld(), n * sizeof(float)) != 0;
      }
      REQUIRE(bad == 0);

      for (auto [qmin, qmax] : {std::pair<uint8_t, uint8_t>{0, 255}, {0, 60}, {10, 200}}) {
        INFO("clamp " << int(qmin) << ".." << int(qmax));
        Guarded<uint8_t> q(m, n, n + 3, 0xA5);
        DwConvU8S8(config, s, p.x.data(), p.zp, p.w.data(),
                   OutputU8{q.data(), q.ld(), scale.data(), bias.data(), qmin, qmax});
        REQUIRE(q.Untouched());
        std::vector<uint8_t> want_q(n);
        for (size_t r = 0; r < m; r++) {
          qf_requant_u8__ref(n, &acc[r * n], scale.data(), bias.data(), qmin, qmax, want_q.data());
          bad += std::memcmp(want_q.data(), q.data() + r * q.ld(), n) != 0;
        }
        REQUIRE(bad == 0);
      }
    }
  }
}

// LayerShapes and a batch of more images than kMaxThreads: the float backward's pieces
// (f32.cc) one image each, of two images, and all of them in one.
std::vector<DwConvShape> BackwardShapes() {
  std::vector<DwConvShape> shapes = LayerShapes();
  shapes.push_back(Shape(20, 8, 8, 16, {3, 3, 1, 1, 1, 1, 1, 1}));
  shapes.push_back(Shape(5, 5, 6, 3, {3, 3, 2, 1, 1, 0, 1, 2}));
  return shapes;
}

// dx and dw added by DwConvF32BackwardAccumulate against the same sums in double: within
// 4 eps sqrt(K) sum|term| of each element's K terms (the old value among them).
TEST_CASE("dwconv float backward against sums in double", "[kernels][dwconv]") {
  std::mt19937_64 rng(test::TestSeed());
  for (const DwConvShape& s : BackwardShapes()) {
    INFO(Describe(s));
    const size_t nx = s.n * s.in_h * s.in_w * s.c, nw = s.kh * s.kw * s.c;
    const std::vector<float> x = test::RandomFloats(rng, nx, -1.f, 1.f),
                             w = test::RandomFloats(rng, nw, -1.f, 1.f),
                             dy = test::RandomFloats(rng, s.out_rows() * s.c, -1.f, 1.f),
                             dx_old = test::RandomFloats(rng, nx, -1.f, 1.f),
                             dw_old = test::RandomFloats(rng, nw, -1.f, 1.f);
    // Each element's sum, the sum of its terms' magnitudes and its count of terms.
    struct Sum {
      double value = 0, magnitude = 0;
      size_t terms = 1;
    };
    std::vector<Sum> dx_want(nx), dw_want(nw);
    for (size_t i = 0; i < nx; i++) dx_want[i] = {dx_old[i], std::fabs(dx_old[i])};
    for (size_t i = 0; i < nw; i++) dw_want[i] = {dw_old[i], std::fabs(dw_old[i])};
    const auto add = [](Sum& sum, double term) {
      sum.value += term, sum.magnitude += std::fabs(term), sum.terms++;
    };
    for (size_t b = 0; b < s.n; b++) {
      for (size_t oy = 0; oy < s.out_h(); oy++) {
        for (size_t ox = 0; ox < s.out_w(); ox++) {
          const float* g = dy.data() + ((b * s.out_h() + oy) * s.out_w() + ox) * s.c;
          for (size_t ky = 0; ky < s.kh; ky++) {
            for (size_t kx = 0; kx < s.kw; kx++) {
              const long iy = long(oy * s.stride_h + ky) - long(s.pad_top);
              const long ix = long(ox * s.stride_w + kx) - long(s.pad_left);
              if (iy < 0 || ix < 0 || iy >= long(s.in_h) || ix >= long(s.in_w)) continue;
              const size_t at = ((b * s.in_h + size_t(iy)) * s.in_w + size_t(ix)) * s.c;
              for (size_t ch = 0; ch < s.c; ch++) {
                add(dw_want[(ky * s.kw + kx) * s.c + ch], double(x[at + ch]) * g[ch]);
                add(dx_want[at + ch], double(w[(ky * s.kw + kx) * s.c + ch]) * g[ch]);
              }
            }
          }
        }
      }
    }
    std::vector<float> dx = dx_old, dw = dw_old;
    DwConvF32BackwardAccumulate(s, x.data(), w.data(), dy.data(), dx.data(), dw.data());
    const auto bad = [](const std::vector<float>& got, const std::vector<Sum>& want) {
      size_t n = 0;
      for (size_t i = 0; i < got.size(); i++) {
        const double tolerance =
            4 * FLT_EPSILON * std::sqrt(double(want[i].terms)) * want[i].magnitude;
        n += !(std::fabs(got[i] - want[i].value) <= tolerance);
      }
      return n;
    };
    CHECK(bad(dx, dx_want) == 0);
    CHECK(bad(dw, dw_want) == 0);
    // Without dx, dw alone.
    std::vector<float> dw_alone = dw_old;
    DwConvF32BackwardAccumulate(s, x.data(), w.data(), dy.data(), nullptr, dw_alone.data());
    CHECK(std::memcmp(dw_alone.data(), dw.data(), nw * sizeof(float)) == 0);
  }
}

// The float kernels and the int8 driver run on the thread pool (f32.cc, driver.cc): the
// same bytes at 2, 3 and 4 threads as at 1.
TEST_CASE("dwconv float kernels and driver give the same bytes at any thread count",
          "[kernels][dwconv]") {
  if (!ThreadsAvailable()) return;
  test::OneThreadAfter restore;
  std::mt19937_64 rng(test::TestSeed());
  for (const DwConvShape& s : BackwardShapes()) {
    INFO(Describe(s));
    const size_t nx = s.n * s.in_h * s.in_w * s.c, nw = s.kh * s.kw * s.c;
    const size_t ny = s.out_rows() * s.c;
    const std::vector<float> x = test::RandomFloats(rng, nx, -1.f, 1.f),
                             w = test::RandomFloats(rng, nw, -1.f, 1.f),
                             bias = test::RandomFloats(rng, s.c, -1.f, 1.f),
                             dy = test::RandomFloats(rng, ny, -1.f, 1.f),
                             dx_old = test::RandomFloats(rng, nx, -1.f, 1.f),
                             scale = test::RandomFloats(rng, s.c, 1e-4f, 4e-3f);
    const Problem p = MakeProblem(rng, s, Fill::kRandom);
    auto run = [&](size_t threads) {
      REQUIRE(SetThreads(threads).ok());
      std::vector<std::vector<float>> out = {std::vector<float>(ny), dx_old,
                                             std::vector<float>(nw, 0.5f), std::vector<float>(ny)};
      DwConvF32(s, x.data(), w.data(), bias.data(), out[0].data());
      DwConvF32BackwardAccumulate(s, x.data(), w.data(), dy.data(), out[1].data(), out[2].data());
      DwConvU8S8(DwConvConfigFor(BestIsa()), s, p.x.data(), p.zp, p.w.data(),
                 OutputF32{out[3].data(), s.c, scale.data(), bias.data()});
      return out;
    };
    const std::vector<std::vector<float>> want = run(1);
    for (size_t threads : {2, 3, 4}) {
      const std::vector<std::vector<float>> got = run(threads);
      for (size_t i = 0; i < want.size(); i++) {
        INFO(threads << " threads, output " << i << " (y, dx, dw, int8 y)");
        CHECK(std::memcmp(got[i].data(), want[i].data(), want[i].size() * sizeof(float)) == 0);
      }
    }
  }
}

}  // namespace
}  // namespace qf::kernels
