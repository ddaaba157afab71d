// Conv2D: the reference against hand-computed values and against a GEMM over an
// independently built im2col matrix; every registered variant and the driver of every
// ISA against the reference, bit-exact, with guard bytes after every output.
#include "kernels/conv2d/conv2d.h"

#include <string>

#include "core/thread_pool.h"
#include "kernels/conv2d_test_util.h"
#include "kernels/u8s8_gemm/u8s8_gemm.h"
#include "test_util.h"

namespace qf::kernels {
namespace {

using test::Describe;
using test::Guarded;
using test::RandomInts;

// Channel counts around the GEMM tiles (NR = 8, KR = 2) and powers of two +-1.
const size_t kChannels[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 32, 33};
constexpr size_t kNumChannels = sizeof(kChannels) / sizeof(kChannels[0]);

struct Window {
  size_t kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right;
};

Conv2DShape Shape(size_t n, size_t h, size_t w, size_t cin, size_t cout, const Window& win) {
  Conv2DShape s;
  s.n = n;
  s.in_h = h;
  s.in_w = w;
  s.cin = cin;
  s.cout = cout;
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

enum class Fill { kRandom, kExtremes, kConstant };

struct Problem {
  Conv2DShape s;
  uint8_t zp;
  std::vector<uint8_t> x;
  std::vector<int8_t> w;
};

Problem MakeProblem(std::mt19937_64& rng, const Conv2DShape& s, Fill fill) {
  const size_t nx = s.n * s.in_h * s.in_w * s.cin, nw = s.depth() * s.cout;
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
  std::vector<int32_t> y(p.s.out_rows() * p.s.cout);
  qf_conv2d__ref(p.s, p.x.data(), p.zp, p.w.data(), y.data(), p.s.cout);
  return y;
}

// im2col straight from the definition, independent of Im2ColU8.
std::vector<uint8_t> NaiveIm2Col(const Problem& p) {
  const Conv2DShape& s = p.s;
  std::vector<uint8_t> cols;
  for (size_t b = 0; b < s.n; b++) {
    for (size_t oy = 0; oy < s.out_h(); oy++) {
      for (size_t ox = 0; ox < s.out_w(); ox++) {
        for (size_t ky = 0; ky < s.kh; ky++) {
          for (size_t kx = 0; kx < s.kw; kx++) {
            const long iy = long(oy * s.stride_h + ky) - long(s.pad_top);
            const long ix = long(ox * s.stride_w + kx) - long(s.pad_left);
            for (size_t ci = 0; ci < s.cin; ci++) {
              const bool inside = iy >= 0 && iy < long(s.in_h) && ix >= 0 && ix < long(s.in_w);
              cols.push_back(inside ? p.x[((b * s.in_h + iy) * s.in_w + ix) * s.cin + ci] : p.zp);
            }
          }
        }
      }
    }
  }
  return cols;
}

// Small shapes: every window x image x batch (channels cycling through kChannels), and
// every channel count against a few windows. Invalid combinations are dropped.
std::vector<Conv2DShape> SmallShapes() {
  std::vector<Conv2DShape> shapes;
  const std::pair<size_t, size_t> kernels[] = {{1, 1}, {3, 3}, {5, 5}, {1, 3}};
  const std::pair<size_t, size_t> strides[] = {{1, 1}, {2, 2}, {2, 1}};
  const size_t pads[][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {0, 0, 1, 1}, {1, 0, 2, 1}};
  const std::pair<size_t, size_t> images[] = {{1, 1}, {2, 3}, {5, 6}};
  size_t i = 0;
  for (auto [kh, kw] : kernels) {
    for (auto [sh, sw] : strides) {
      for (const auto& pad : pads) {
        const Window win{kh, kw, sh, sw, pad[0], pad[1], pad[2], pad[3]};
        for (auto [h, w] : images) {
          for (size_t n : {1, 3}) {
            const size_t cin = kChannels[i % kNumChannels];
            const size_t cout = kChannels[(7 * i + 5) % kNumChannels];
            i++;
            const Conv2DShape s = Shape(n, h, w, cin, cout, win);
            if (s.Valid()) shapes.push_back(s);
          }
        }
      }
    }
  }
  for (size_t cin : kChannels) {
    for (size_t cout : kChannels) {
      shapes.push_back(Shape(1, 3, 4, cin, cout, {3, 3, 1, 1, 1, 1, 1, 1}));
    }
    for (size_t other : {1, 8, 9}) {
      shapes.push_back(Shape(1, 5, 6, cin, other, {3, 3, 2, 2, 0, 0, 1, 1}));
      shapes.push_back(Shape(1, 5, 6, other, cin, {1, 3, 1, 2, 1, 0, 1, 2}));
    }
  }
  return shapes;
}

// Layer-sized problems and the driver's special paths.
std::vector<Conv2DShape> LayerShapes() {
  return {
      Shape(1, 28, 28, 1, 8, {3, 3, 1, 1, 1, 1, 1, 1}),
      Shape(3, 28, 28, 1, 8, {5, 5, 1, 1, 2, 2, 2, 2}),
      Shape(1, 28, 28, 1, 8, {3, 3, 2, 2, 0, 0, 0, 0}),
      Shape(1, 28, 28, 1, 8, {5, 5, 2, 2, 1, 1, 2, 2}),
      Shape(3, 14, 14, 16, 32, {3, 3, 1, 1, 1, 1, 1, 1}),  // 2 im2col chunks
      Shape(3, 14, 14, 16, 32, {1, 1, 1, 1, 0, 0, 0, 0}),  // pointwise path
      Shape(1, 14, 14, 16, 32, {3, 3, 2, 2, 0, 0, 1, 1}),
      Shape(1, 14, 14, 16, 32, {1, 1, 2, 2, 0, 0, 0, 0}),
      Shape(3, 5, 5, 4, 10, {5, 5, 1, 1, 0, 0, 0, 0}),   // whole-image path
      Shape(1, 3, 3, 33, 17, {3, 3, 2, 2, 0, 0, 0, 0}),  // whole-image path
      Shape(3, 6, 7, 33, 9, {5, 5, 1, 1, 2, 2, 2, 2}),   // depth 825: 2 im2col chunks
      Shape(2, 1, 9, 3, 5, {1, 3, 1, 1, 0, 1, 0, 1}),
  };
}

std::vector<Conv2DShape> AllShapes() {
  std::vector<Conv2DShape> shapes = SmallShapes();
  for (const Conv2DShape& s : LayerShapes()) {
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

TEST_CASE("conv2d shape: output dims and validity", "[kernels][conv2d]") {
  Conv2DShape s = Shape(2, 28, 28, 1, 8, {3, 3, 1, 1, 1, 1, 1, 1});
  CHECK(s.Valid());
  CHECK(s.out_h() == 28);
  CHECK(s.out_w() == 28);
  CHECK(s.depth() == 9);
  CHECK(s.out_rows() == 2 * 28 * 28);

  s = Shape(1, 14, 15, 4, 4, {3, 3, 2, 2, 0, 0, 1, 1});  // (14+1-3)/2+1, (15+1-3)/2+1
  CHECK(s.Valid());
  CHECK(s.out_h() == 7);
  CHECK(s.out_w() == 7);

  s = Shape(1, 2, 3, 1, 1, {1, 3, 1, 1, 0, 0, 0, 0});
  CHECK(s.Valid());
  CHECK(s.out_h() == 2);
  CHECK(s.out_w() == 1);

  const Conv2DShape good = Shape(1, 4, 4, 2, 3, {3, 3, 1, 1, 0, 0, 0, 0});
  REQUIRE(good.Valid());
  auto broken = [&](auto mutate) {
    Conv2DShape b = good;
    mutate(b);
    return !b.Valid();
  };
  CHECK(broken([](Conv2DShape& b) { b.n = 0; }));
  CHECK(broken([](Conv2DShape& b) { b.in_h = 0; }));
  CHECK(broken([](Conv2DShape& b) { b.in_w = 0; }));
  CHECK(broken([](Conv2DShape& b) { b.cin = 0; }));
  CHECK(broken([](Conv2DShape& b) { b.cout = 0; }));
  CHECK(broken([](Conv2DShape& b) { b.kh = 0; }));
  CHECK(broken([](Conv2DShape& b) { b.stride_w = 0; }));
  CHECK(broken([](Conv2DShape& b) { b.kh = 5; }));  // window larger than the image
  CHECK(!broken([](Conv2DShape& b) { b.kh = 5, b.pad_bottom = 1; }));
  CHECK(broken([](Conv2DShape& b) { b.pad_left = kMaxConvExtent; }));
  CHECK(broken([](Conv2DShape& b) { b.n = SIZE_MAX / 2; }));  // element count overflows
  // Depth: exactly kMaxGemmDepth is allowed, one more channel row is not.
  CHECK(!broken([](Conv2DShape& b) { b.kh = b.kw = b.in_h = b.in_w = 16, b.cin = 256; }));
  CHECK(broken([](Conv2DShape& b) { b.kh = b.kw = b.in_h = b.in_w = 16, b.cin = 257; }));
}

TEST_CASE("conv2d reference matches hand-computed values", "[kernels][conv2d]") {
  // x (2x2, zp 1) - zp = [[0, 1], [2, 3]]; 3x3 kernel, padding 1: every output window
  // covers the whole image. Channel 0 weights 1..9 row-major, channel 1 their negation.
  const uint8_t x[] = {1, 2, 3, 4};
  int8_t w[18];
  for (int t = 0; t < 9; t++) w[2 * t] = int8_t(t + 1), w[2 * t + 1] = int8_t(-(t + 1));
  const Conv2DShape s = Shape(1, 2, 2, 1, 2, {3, 3, 1, 1, 1, 1, 1, 1});
  int32_t y[8];
  qf_conv2d__ref(s, x, 1, w, y, 2);
  // (0,0): image pixels meet taps 5, 6, 8, 9: 0*5 + 1*6 + 2*8 + 3*9
  CHECK(y[0] == 49);
  CHECK(y[2] == 0 * 4 + 1 * 5 + 2 * 7 + 3 * 8);  // (0,1)
  CHECK(y[4] == 0 * 2 + 1 * 3 + 2 * 5 + 3 * 6);  // (1,0)
  CHECK(y[6] == 0 * 1 + 1 * 2 + 2 * 4 + 3 * 5);  // (1,1)
  for (int i = 0; i < 4; i++) CHECK(y[2 * i + 1] == -y[2 * i]);

  // Stride 2 on a 1x3 row, padding right 1: windows {x0, x1} and {x2, pad}.
  const uint8_t row[] = {10, 20, 30};
  const int8_t taps[] = {3, -2};
  const Conv2DShape s2 = Shape(1, 1, 3, 1, 1, {1, 2, 1, 2, 0, 0, 0, 1});
  REQUIRE(s2.out_w() == 2);
  int32_t y2[2];
  qf_conv2d__ref(s2, row, 10, taps, y2, 1);
  CHECK(y2[0] == 0 * 3 + 10 * -2);
  CHECK(y2[1] == 20 * 3);
}

TEST_CASE("conv2d reference equals reference gemm over im2col; Im2ColU8 equals naive im2col",
          "[kernels][conv2d]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  const std::vector<Conv2DShape> shapes = AllShapes();
  for (size_t i = 0; i < shapes.size(); i += 5) {
    const Conv2DShape& s = shapes[i];
    INFO(Describe(s));
    const Problem p = MakeProblem(rng, s, Fill::kRandom);
    const std::vector<uint8_t> cols = NaiveIm2Col(p);
    const size_t m = s.out_rows(), k = s.depth();
    REQUIRE(cols.size() == m * k);

    std::vector<int32_t> via_gemm(m * s.cout);
    qf_u8s8_gemm__ref(m, s.cout, k, cols.data(), k, p.zp, p.w.data(), s.cout, via_gemm.data(),
                      s.cout);
    REQUIRE(via_gemm == Reference(p));

    // Im2ColU8 in two pieces split at an arbitrary row, into rows wider than depth.
    const size_t split = m / 3;
    Guarded<uint8_t> got(m, k, k + 3, 0xA5);
    Im2ColU8(s, p.x.data(), p.zp, 0, split, got.data(), got.ld());
    Im2ColU8(s, p.x.data(), p.zp, split, m - split, got.data() + split * got.ld(), got.ld());
    size_t bad = 0;
    for (size_t r = 0; r < m; r++) {
      for (size_t c = 0; c < k; c++) bad += got.at(r, c) != cols[r * k + c];
    }
    REQUIRE(bad == 0);
    REQUIRE(got.Untouched());
  }
}

TEST_CASE("conv2d variants match the reference", "[kernels][conv2d]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (const Conv2DShape& s : AllShapes()) {
    for (Fill fill : {Fill::kRandom, Fill::kExtremes, Fill::kConstant}) {
      INFO(Describe(s) << ", fill " << int(fill));
      const Problem p = MakeProblem(rng, s, fill);
      const std::vector<int32_t> want = Reference(p);
      for (const Conv2DKernel& v : Conv2DKernels()) {
        if (v.isa == Isa::kRef) continue;  // `want` is the reference
        INFO("variant " << v.name);
        Guarded<int32_t> y(s.out_rows(), s.cout, s.cout + 3, int32_t(0x5EEDBEEF));
        v.fn(s, p.x.data(), p.zp, p.w.data(), y.data(), y.ld());
        REQUIRE(Mismatches(y, want, s.out_rows(), s.cout) == 0);
        REQUIRE(y.Untouched());
      }
    }
  }
}

// Threads take whole im2col chunks (driver.cc): the layer shapes span many chunks.
TEST_CASE("conv2d variants give the same bytes at any thread count", "[kernels][conv2d]") {
  if (!ThreadsAvailable()) return;
  test::OneThreadAfter restore;
  std::mt19937_64 rng(test::TestSeed());
  for (const Conv2DShape& s : LayerShapes()) {
    INFO(Describe(s));
    const Problem p = MakeProblem(rng, s, Fill::kRandom);
    const std::vector<int32_t> want = Reference(p);
    for (const Conv2DKernel& v : Conv2DKernels()) {
      if (v.isa == Isa::kRef) continue;
      for (size_t threads : {2, 3, 4}) {
        INFO("variant " << v.name << ", " << threads << " threads");
        REQUIRE(SetThreads(threads).ok());
        Guarded<int32_t> y(s.out_rows(), s.cout, s.cout + 3, int32_t(0x5EEDBEEF));
        v.fn(s, p.x.data(), p.zp, p.w.data(), y.data(), y.ld());
        REQUIRE(Mismatches(y, want, s.out_rows(), s.cout) == 0);
        REQUIRE(y.Untouched());
      }
    }
  }
}

TEST_CASE("conv2d variants are exact at the deepest allowed depth", "[kernels][conv2d]") {
  // depth 16*16*256 = kMaxGemmDepth, every product 255 * -128: acc = -2139095040.
  const Conv2DShape s = Shape(1, 16, 16, 256, 9, {16, 16, 1, 1, 0, 0, 0, 0});
  REQUIRE(s.depth() == kMaxGemmDepth);
  std::mt19937_64 rng(1);
  const Problem p = MakeProblem(rng, s, Fill::kConstant);
  const std::vector<int32_t> want = Reference(p);
  REQUIRE(want[0] == -2139095040);
  for (const Conv2DKernel& v : Conv2DKernels()) {
    INFO("variant " << v.name);
    Guarded<int32_t> y(1, s.cout, s.cout + 1, 7);
    v.fn(s, p.x.data(), p.zp, p.w.data(), y.data(), y.ld());
    REQUIRE(Mismatches(y, want, 1, s.cout) == 0);
    REQUIRE(y.Untouched());
  }
}

TEST_CASE("conv2d driver epilogues equal reference conv + reference requant", "[kernels][conv2d]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  const std::vector<Conv2DShape> small = SmallShapes();
  std::vector<Conv2DShape> shapes = LayerShapes();
  for (size_t i = 0; i < small.size(); i += 7) shapes.push_back(small[i]);

  for (Isa isa : {Isa::kScalar, Isa::kWasmSimd}) {
    const GemmKernels kernels = GemmKernelsFor(isa);
    INFO("isa " << IsaName(kernels.isa));
    for (const Conv2DShape& s : shapes) {
      INFO(Describe(s));
      const Problem p = MakeProblem(rng, s, Fill::kRandom);
      const std::vector<int32_t> acc = Reference(p);
      const size_t m = s.out_rows(), n = s.cout;
      const std::vector<float> scale = test::RandomFloats(rng, n, 1e-4f, 4e-3f);
      const std::vector<float> bias = test::RandomFloats(rng, n, -20.f, 20.f);
      const PackedWeights w = PackConv2DWeights(kernels, s, p.w.data());

      Guarded<int32_t> y(m, n, n + 2, -7);
      Conv2DU8S8(kernels, s, p.x.data(), p.zp, w, OutputI32{y.data(), y.ld()});
      REQUIRE(Mismatches(y, acc, m, n) == 0);
      REQUIRE(y.Untouched());

      Guarded<float> f(m, n, n + 2, -0.0f);
      Conv2DU8S8(kernels, s, p.x.data(), p.zp, w,
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
        Conv2DU8S8(kernels, s, p.x.data(), p.zp, w,
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

}  // namespace
}  // namespace qf::kernels
