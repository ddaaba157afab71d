// MaxPool2D, AvgPool2D and GlobalAvgPool: forward against a plain-loop oracle, backward
// against finite differences, tie and padding rules, and shape errors. Not a speed test.
#include "nn/pooling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "nn/gradcheck.h"

namespace qf::nn {
namespace {

Status BuildNamed(Layer& layer, const Shape& sample, bool non_negative = false) {
  BuildInfo info;
  info.name = "t";
  info.input_non_negative = non_negative;
  StatusOr<Shape> out = layer.Build(sample, info);
  return out.ok() ? OkStatus() : out.status();
}

// Shuffled multiples of `spacing` around 0: all values distinct and at least `spacing`
// apart, so a max never changes its argument under a perturbation below spacing / 2.
Tensor DistinctTensor(const Shape& shape, Rng& rng, float spacing = 0.05f) {
  Tensor t(shape);
  std::vector<size_t> order(t.size());
  std::iota(order.begin(), order.end(), size_t{0});
  rng.Shuffle(order.data(), order.size());
  for (size_t i = 0; i < t.size(); i++) {
    t[i] = (float(order[i]) - float(t.size()) / 2.0f) * spacing;
  }
  return t;
}

Pool2DOptions Options(size_t kh, size_t kw, size_t stride_h, size_t stride_w, Padding::Mode padding,
                      size_t top = 0, size_t left = 0, size_t bottom = 0, size_t right = 0) {
  Pool2DOptions o;
  o.kh = kh;
  o.kw = kw;
  o.stride_h = stride_h;
  o.stride_w = stride_w;
  o.padding = {padding, top, left, bottom, right};
  return o;
}

// The oracle: signed padded coordinates, every window tap tested against the image.
Tensor PoolOracle(const Tensor& x, const Pool2D& pool, bool max, size_t out_h, size_t out_w) {
  const size_t n = x.shape()[0], h = x.shape()[1], w = x.shape()[2], c = x.shape()[3];
  const Pool2DOptions& o = pool.options();
  Tensor y(Shape{n, out_h, out_w, c});
  for (size_t b = 0; b < n; b++) {
    for (size_t oy = 0; oy < out_h; oy++) {
      for (size_t ox = 0; ox < out_w; ox++) {
        for (size_t ch = 0; ch < c; ch++) {
          double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
          int count = 0;
          for (size_t ky = 0; ky < o.kh; ky++) {
            for (size_t kx = 0; kx < o.kw; kx++) {
              const long iy = long(oy * o.stride_h + ky) - long(pool.pad_top());
              const long ix = long(ox * o.stride_w + kx) - long(pool.pad_left());
              if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(w)) continue;
              const double v = x[((b * h + size_t(iy)) * w + size_t(ix)) * c + ch];
              acc = max ? std::max(acc, v) : acc + v;
              count++;
            }
          }
          REQUIRE(count > 0);
          y[((b * out_h + oy) * out_w + ox) * c + ch] = float(max ? acc : acc / count);
        }
      }
    }
  }
  return y;
}

struct PoolCase {
  Pool2DOptions options;
  Shape input;  // per sample
  Shape output;
};

std::vector<PoolCase> PoolCases() {
  return {
      {Options(2, 2, 2, 2, Padding::Mode::kValid), Shape{4, 5, 2}, Shape{2, 2, 2}},
      {Options(3, 3, 1, 1, Padding::Mode::kSame), Shape{4, 5, 2}, Shape{4, 5, 2}},
      {Options(3, 3, 2, 2, Padding::Mode::kSame), Shape{5, 6, 1}, Shape{3, 3, 1}},
      {Options(3, 2, 2, 1, Padding::Mode::kExplicit, 1, 0, 2, 1), Shape{5, 4, 3}, Shape{3, 4, 3}},
      {Options(1, 1, 2, 3, Padding::Mode::kValid), Shape{5, 7, 2}, Shape{3, 3, 2}},
      {Options(4, 4, 1, 1, Padding::Mode::kValid), Shape{4, 4, 3}, Shape{1, 1, 3}},
  };
}

TEST_CASE("max pool forward equals the oracle and its gradient finite differences",
          "[engine][nn]") {
  Rng rng(21);
  for (const PoolCase& pc : PoolCases()) {
    MaxPool2D pool(pc.options);
    StatusOr<Shape> out = pool.Build(pc.input, BuildInfo{"t"});
    REQUIRE(out.ok());
    INFO("input " << pc.input.ToString() << " output " << out.value().ToString());
    REQUIRE(out.value() == pc.output);
    const Tensor x = DistinctTensor(pc.input.WithBatch(2), rng);
    Tensor y;
    pool.Forward(x, &y, Mode::kEval);
    const Tensor want = PoolOracle(x, pool, true, pc.output[0], pc.output[1]);
    REQUIRE(y.shape() == want.shape());
    for (size_t i = 0; i < y.size(); i++) REQUIRE(y[i] == want[i]);
    // Distinct values 0.05 apart: the default perturbation 1e-2 never reorders them.
    test::CheckGradients(pool, x, 22);
  }
}

TEST_CASE("avg pool forward equals the oracle and its gradient finite differences",
          "[engine][nn]") {
  Rng rng(23);
  for (const PoolCase& pc : PoolCases()) {
    AvgPool2D pool(pc.options);
    StatusOr<Shape> out = pool.Build(pc.input, BuildInfo{"t"});
    REQUIRE(out.ok());
    INFO("input " << pc.input.ToString() << " output " << out.value().ToString());
    REQUIRE(out.value() == pc.output);
    const Tensor x = test::RandomTensor(pc.input.WithBatch(2), rng);
    Tensor y;
    pool.Forward(x, &y, Mode::kEval);
    const Tensor want = PoolOracle(x, pool, false, pc.output[0], pc.output[1]);
    REQUIRE(y.shape() == want.shape());
    for (size_t i = 0; i < y.size(); i++) REQUIRE(std::fabs(y[i] - want[i]) <= 1e-6f);
    test::GradCheckOptions o;
    o.tolerance.rtol = 1e-4;  // linear layer: only float rounding separates the two
    test::CheckGradients(pool, x, 24, o);
  }
}

TEST_CASE("avg pool counts only in-image cells", "[engine][nn]") {
  // 3x3 image, 3x3 window, stride 1, same padding: the corner window sees 4 cells,
  // the edge window 6, the centre all 9.
  AvgPool2D pool(Options(3, 3, 1, 1, Padding::Mode::kSame));
  REQUIRE(BuildNamed(pool, Shape{3, 3, 1}).ok());
  Tensor x(Shape{1, 3, 3, 1});
  for (size_t i = 0; i < 9; i++) x[i] = float(i + 1);  // 1 2 3 / 4 5 6 / 7 8 9
  Tensor y;
  pool.Forward(x, &y, Mode::kTrain);
  REQUIRE(y[0] == (1.0f + 2 + 4 + 5) / 4);
  REQUIRE(y[1] == (1.0f + 2 + 3 + 4 + 5 + 6) / 6);
  REQUIRE(y[4] == 5.0f);
  // Each output spreads dL/dy over its own count: dx of the corner cell gathers 1/4 from
  // its own window, 1/6 from two edge windows and 1/9 from the centre.
  Tensor dy(y.shape(), 1.0f), dx;
  pool.Backward(dy, &dx);
  REQUIRE(std::fabs(dx[0] - (1.0f / 4 + 2.0f / 6 + 1.0f / 9)) <= 1e-6f);
}

TEST_CASE("max pool sends a tie's gradient to the first maximum in scan order", "[engine][nn]") {
  MaxPool2D pool(Options(2, 2, 2, 2, Padding::Mode::kValid));
  REQUIRE(BuildNamed(pool, Shape{2, 2, 2}).ok());
  // Channel 0: all equal -> top-left. Channel 1: the maximum 3 at (0, 1) and (1, 0) ->
  // (0, 1), which the row-major scan meets first.
  Tensor x(Shape{1, 2, 2, 2});
  const float values[] = {7, 1, 7, 3, 7, 3, 7, 2};  // (h, w, c) row-major
  std::copy(values, values + 8, x.data());
  Tensor y;
  pool.Forward(x, &y, Mode::kTrain);
  REQUIRE(y[0] == 7.0f);
  REQUIRE(y[1] == 3.0f);
  Tensor dy(Shape{1, 1, 1, 2}), dx;
  dy[0] = 5.0f;
  dy[1] = -2.0f;
  pool.Backward(dy, &dx);
  const float want[] = {5, 0, 0, -2, 0, 0, 0, 0};
  for (size_t i = 0; i < 8; i++) REQUIRE(dx[i] == want[i]);
}

TEST_CASE("max pool ignores padding: all-negative inputs stay negative", "[engine][nn]") {
  MaxPool2D pool(Options(3, 3, 1, 1, Padding::Mode::kSame));
  REQUIRE(BuildNamed(pool, Shape{3, 4, 2}).ok());
  Rng rng(25);
  const Tensor x = test::RandomTensor(Shape{2, 3, 4, 2}, rng, -2.0f, -0.5f);
  Tensor y;
  pool.Forward(x, &y, Mode::kEval);
  for (size_t i = 0; i < y.size(); i++) {
    REQUIRE(y[i] < 0.0f);
    // Every output is one of the inputs (OutputsInputValues).
    REQUIRE(std::find(x.values().begin(), x.values().end(), y[i]) != x.values().end());
  }
  REQUIRE(pool.OutputsInputValues());
}

TEST_CASE("global average pool averages each channel over H x W", "[engine][nn]") {
  GlobalAvgPool pool;
  StatusOr<Shape> out = pool.Build(Shape{2, 3, 3}, BuildInfo{"t"});
  REQUIRE(out.ok());
  REQUIRE(out.value() == Shape{3});
  // x[b][h][w][c] = 100 b + 10 (3 h + w) + c: the mean over the six positions is
  // 100 b + 10 * 2.5 + c.
  Tensor x(Shape{2, 2, 3, 3});
  for (size_t b = 0; b < 2; b++) {
    for (size_t p = 0; p < 6; p++) {
      for (size_t c = 0; c < 3; c++) x[(b * 6 + p) * 3 + c] = float(100 * b + 10 * p + c);
    }
  }
  Tensor y;
  pool.Forward(x, &y, Mode::kTrain);
  REQUIRE(y.shape() == Shape{2, 3});
  for (size_t b = 0; b < 2; b++) {
    for (size_t c = 0; c < 3; c++) REQUIRE(y[b * 3 + c] == float(100 * b + 25 + c));
  }
  Rng rng(26);
  test::GradCheckOptions o;
  o.tolerance.rtol = 1e-4;  // linear
  test::CheckGradients(pool, test::RandomTensor(Shape{2, 2, 3, 3}, rng), 27, o);
}

TEST_CASE("pooling layers reject shapes and options they cannot pool", "[engine][nn]") {
  auto expect_invalid = [](Layer& layer, const Shape& input, const std::string& fragment) {
    const Status s = BuildNamed(layer, input);
    INFO(s.message());
    REQUIRE(s.code() == StatusCode::kInvalidArgument);
    REQUIRE(s.message().rfind("t: ", 0) == 0);  // names the layer
    REQUIRE(s.message().find(fragment) != std::string::npos);
  };
  MaxPool2D big(Options(4, 4, 1, 1, Padding::Mode::kValid));
  expect_invalid(big, Shape{3, 5, 1}, "window 4x4 is larger than the padded input 3x5");
  AvgPool2D big_padded(Options(4, 2, 1, 1, Padding::Mode::kExplicit, 0, 0, 1, 0));
  expect_invalid(big_padded, Shape{2, 2, 1}, "larger than the padded input 3x2");
  MaxPool2D pad(Options(2, 2, 1, 1, Padding::Mode::kExplicit, 0, 2, 0, 0));
  expect_invalid(pad, Shape{4, 4, 1}, "pads must be smaller than the window 2x2");
  AvgPool2D stride(Options(2, 2, 0, 1, Padding::Mode::kValid));
  expect_invalid(stride, Shape{4, 4, 1}, "stride 0x1");
  MaxPool2D rank(Options(2, 2, 2, 2, Padding::Mode::kValid));
  expect_invalid(rank, Shape{4, 4}, "[H, W, C]");
  expect_invalid(rank, Shape{4, 0, 2}, "got [4, 0, 2]");
  GlobalAvgPool global;
  expect_invalid(global, Shape{16}, "[H, W, C]");

  // "Same" padding always fits: a 4x4 window over a 3x3 image pads to 6x6.
  MaxPool2D same(Options(4, 4, 1, 1, Padding::Mode::kSame));
  REQUIRE(BuildNamed(same, Shape{3, 3, 1}).ok());
  REQUIRE((same.pad_top() == 1 && same.pad_bottom() == 2));
}

TEST_CASE("pooling passes non-negativity through", "[engine][nn]") {
  MaxPool2D max_pool(Options(2, 2, 2, 2, Padding::Mode::kValid));
  AvgPool2D avg_pool(Options(2, 2, 2, 2, Padding::Mode::kSame));
  GlobalAvgPool global;
  for (Layer* layer : {static_cast<Layer*>(&max_pool), static_cast<Layer*>(&avg_pool),
                       static_cast<Layer*>(&global)}) {
    REQUIRE(BuildNamed(*layer, Shape{4, 4, 2}, true).ok());
    REQUIRE(layer->OutputNonNegative(true));
    REQUIRE(!layer->OutputNonNegative(false));
  }
  REQUIRE(max_pool.OutputsInputValues());
  REQUIRE(!avg_pool.OutputsInputValues());
  REQUIRE(!global.OutputsInputValues());
}

}  // namespace
}  // namespace qf::nn
