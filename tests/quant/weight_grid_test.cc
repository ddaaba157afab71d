// Weight grids against plain references: the level tables each scheme defines (written
// here from the definitions in quant/weight_grid.h), nearest-level codes by brute force,
// the deployed int8 values, and the straight-through and parameter gradients against
// finite differences of the surrogate they differentiate.
#include "quant/weight_grid.h"

#include <algorithm>
#include <catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "core/random.h"

namespace qf::quant {
namespace {

constexpr WeightScheme kAll[] = {WeightScheme::kUniform, WeightScheme::kAsymmetric,
                                 WeightScheme::kPowerOfTwo, WeightScheme::kApot,
                                 WeightScheme::kCodebook};

// A grid over its own parameter storage, fitted to `w`.
struct OwnedGrid {
  std::vector<float> scales, offsets, levels;
  WeightGrid grid;

  OwnedGrid(WeightScheme scheme, int bits, bool per_channel, size_t rows, size_t channels,
            const std::vector<float>& w) {
    grid.scheme = scheme;
    grid.bits = bits;
    grid.per_channel = per_channel;
    grid.rows = rows;
    grid.channels = channels;
    if (HasScales(scheme)) scales.assign(grid.groups(), 1.0f), grid.scales = scales.data();
    if (HasOffsets(scheme)) offsets.assign(grid.groups(), 0.0f), grid.offsets = offsets.data();
    if (HasLevels(scheme)) {
      levels.assign(grid.groups() * grid.codes(), 0.0f);
      grid.levels = levels.data();
    }
    FitGrid(w.data(), StepRule::kLsqInitial, grid);
  }
};

// The grid's weights for w: quantized to the grid, then dequantized.
std::vector<float> OnGrid(const WeightGrid& grid, const std::vector<float>& w) {
  GridTable table;
  BuildTable(grid, &table);
  std::vector<int8_t> codes(w.size());
  std::vector<float> w_hat(w.size());
  QuantizeToGrid(grid, table, w.data(), codes.data());
  DequantizeGrid(grid, table, codes.data(), w_hat.data());
  return w_hat;
}

std::vector<float> RandomWeights(size_t n, uint64_t seed, float shift = 0.0f) {
  Rng rng(seed);
  std::vector<float> w(n);
  for (float& v : w) v = rng.Normal() * 0.3f + shift;
  return w;
}

std::vector<std::pair<WeightScheme, int>> Supported() {
  std::vector<std::pair<WeightScheme, int>> all;
  for (WeightScheme s : kAll) {
    for (int bits : {2, 3, 4, 8}) {
      if (SchemeBitsError(s, bits).empty()) all.push_back({s, bits});
    }
  }
  return all;
}

TEST_CASE("scheme names round trip, and bits a scheme has no grid at are named",
          "[engine][quant]") {
  for (WeightScheme s : kAll) {
    WeightScheme back = WeightScheme::kUniform;
    REQUIRE(SchemeFromName(SchemeName(s), &back));
    CHECK(back == s);
  }
  WeightScheme unused;
  CHECK(!SchemeFromName("log2", &unused));
  CHECK(SchemeBitsError(WeightScheme::kPowerOfTwo, 8).find("2, 3 or 4 bits") != std::string::npos);
  CHECK(SchemeBitsError(WeightScheme::kCodebook, 5).find("2, 3, 4 or 8 bits") != std::string::npos);
  CHECK(Supported().size() == 5 * 4 - 1);
}

TEST_CASE("apot magnitudes are the sums of one power of two per term", "[engine][quant]") {
  // 4 bits: 3 magnitude bits, terms {0, 1, 1/4, 1/16} and {0, 1/2}, in sixteenths.
  CHECK(ApotLevels(4) == std::vector<int64_t>{0, 1, 4, 8, 9, 12, 16, 24});
  CHECK(ApotLevels(3) == std::vector<int64_t>{0, 1, 2, 4});  // one term: pow2's levels
  CHECK(ApotLevels(2) == std::vector<int64_t>{0, 1});
  const std::vector<int64_t> eight = ApotLevels(8);
  REQUIRE(eight.size() == 128);
  CHECK(eight[1] == 1);         // 2^-10 in units of itself
  CHECK(eight.back() == 1920);  // 1 + 1/2 + 1/4 + 1/8, in 1024ths
}

TEST_CASE("each scheme's table holds the levels its definition gives", "[engine][quant]") {
  const std::vector<float> w = RandomWeights(40 * 3, 5, 0.2f);
  for (const auto& [scheme, bits] : Supported()) {
    INFO(SchemeName(scheme) << " " << bits << " bits");
    OwnedGrid g(scheme, bits, true, 40, 3, w);
    GridTable table;
    BuildTable(g.grid, &table);
    const QRange r = SignedRange(bits);
    for (size_t c = 0; c < 3; c++) {
      for (int q = r.qn; q <= r.qp; q++) {
        const double level = double(table.value(c, q)) * double(table.steps[c]);
        // int8; the table schemes' values are symmetric, within [-127, 127].
        CHECK(int(table.value(c, q)) >=
              (scheme == WeightScheme::kUniform || scheme == WeightScheme::kAsymmetric ? -128
                                                                                       : -127));
        CHECK(int(table.value(c, q)) <= 127);
        switch (scheme) {
          case WeightScheme::kUniform:
            CHECK(int(table.value(c, q)) == q);
            CHECK(table.steps[c] == g.scales[c]);
            break;
          case WeightScheme::kAsymmetric: {
            const int z = int(std::nearbyint(g.offsets[c] / g.scales[c]));
            CHECK(int(table.value(c, q)) == q + std::clamp(z, -128 - r.qn, 127 - r.qp));
            break;
          }
          case WeightScheme::kPowerOfTwo: {
            const int a = q == r.qn ? r.qp : std::abs(q);  // code qn reads as -qp
            const double want =
                a == 0 ? 0.0 : (q < 0 ? -1 : 1) * double(g.scales[c]) * std::ldexp(1.0, a - r.qp);
            CHECK(level == want);  // powers of two of alpha: exact
            break;
          }
          case WeightScheme::kApot: {
            const std::vector<int64_t> t = ApotLevels(bits);
            const int a = q == r.qn ? r.qp : std::abs(q);
            const double want =
                (q < 0 ? -1 : 1) * double(g.scales[c]) * double(t[size_t(a)]) / double(t.back());
            // Exact up to float rounding where the numerators fit int8; else snapped to
            // alpha / 127, at most half of it away.
            const double tolerance = t.back() <= 127 ? 1e-6 * double(g.scales[c])
                                                     : 0.5 * double(g.scales[c]) / 127.0 + 1e-6;
            CHECK(std::fabs(level - want) <= tolerance);
            break;
          }
          case WeightScheme::kCodebook: {
            const float* levels = g.levels.data() + c * g.grid.codes();
            float top = 0.0f;
            for (size_t k = 0; k < g.grid.codes(); k++) top = std::max(top, std::fabs(levels[k]));
            CHECK(std::fabs(level - double(levels[q - r.qn])) <= top / 254.0 * (1 + 1e-5));
            break;
          }
        }
      }
    }
  }
}

TEST_CASE("grid codes are the nearest levels, found by brute force", "[engine][quant]") {
  for (bool per_channel : {true, false}) {
    for (const auto& [scheme, bits] : Supported()) {
      INFO(SchemeName(scheme) << " " << bits << " bits, per channel " << per_channel);
      const size_t rows = 50, channels = 4;
      std::vector<float> w = RandomWeights(rows * channels, 7 + size_t(bits), -0.1f);
      OwnedGrid g(scheme, bits, per_channel, rows, channels, w);
      // Values beyond the grid on both sides, and exactly on levels.
      w[0] = 50.0f;
      w[1] = -50.0f;
      GridTable table;
      BuildTable(g.grid, &table);
      w[2] = float(table.value(per_channel ? 2 : 0, 1)) * table.steps[per_channel ? 2 : 0];
      std::vector<int8_t> codes(w.size()), deployed(w.size());
      std::vector<float> w_hat(w.size());
      QuantizeToGrid(g.grid, table, w.data(), codes.data());
      DeployCodes(g.grid, table, codes.data(), deployed.data());
      DequantizeGrid(g.grid, table, codes.data(), w_hat.data());
      const QRange r = SignedRange(bits);
      for (size_t i = 0; i < w.size(); i++) {
        const size_t group = per_channel ? i % channels : 0;
        const float f = table.steps[group];
        double best = INFINITY;
        for (int q = r.qn; q <= r.qp; q++) {
          best = std::min(best, std::fabs(double(w[i]) - double(table.value(group, q)) * f));
        }
        const double got = std::fabs(double(w[i]) - double(w_hat[i]));
        INFO("weight " << i << " = " << w[i]);
        CHECK(got <= best + 1e-5 * f);  // nearest, up to float rounding at midpoints
        CHECK(deployed[i] == table.value(group, codes[i]));
        CHECK(w_hat[i] == float(deployed[i]) * f);  // deployed = simulated, exactly
      }
      CHECK(w_hat[2] == w[2]);  // a level maps to itself
    }
  }
}

TEST_CASE("NaN weights get the code of the level nearest 0", "[engine][quant]") {
  for (const auto& [scheme, bits] : Supported()) {
    INFO(SchemeName(scheme) << " " << bits << " bits");
    std::vector<float> w = RandomWeights(30, 11, 0.3f);
    OwnedGrid g(scheme, bits, false, 30, 1, w);
    w[3] = NAN;
    const std::vector<float> w_hat = OnGrid(g.grid, w);
    GridTable table;
    BuildTable(g.grid, &table);
    float nearest = INFINITY;
    for (int q = table.qn; q < table.qn + int(table.codes); q++) {
      const float level = float(table.value(0, q)) * table.steps[0];
      if (std::fabs(level) < std::fabs(nearest)) nearest = level;
    }
    CHECK(w_hat[3] == nearest);
  }
}

// The surrogate each scheme's backward differentiates, with every weight's code, side of
// the clip and rounding residual frozen at the point of the check (w0 and the parameters
// p0), as in nn/quantized_gradients_test.cc:
//   uniform, asymmetric  inside: w + s r0, r0 = round(v0) - v0;  outside: s * clip (+ beta)
//   pow2, apot           inside: w + alpha (m0 - w0 / alpha0);   outside: alpha * m0
//   codebook             inside: L[q0] + (w - w0);               outside: L[q0]
double Surrogate(const WeightGrid& grid, const GridTable& table0, const std::vector<float>& w0,
                 const std::vector<int8_t>& codes0, const std::vector<float>& w,
                 const std::vector<float>& g) {
  const QRange r = grid.range();
  double loss = 0.0;
  for (size_t i = 0; i < w.size(); i++) {
    const size_t k = grid.per_channel ? i % grid.channels : 0;
    double hat = 0.0;
    switch (grid.scheme) {
      case WeightScheme::kUniform:
      case WeightScheme::kAsymmetric: {
        const double z = double(table0.value(k, r.qn) - r.qn);
        const double s0 = double(table0.steps[k]);
        const double v0 = double(w0[i]) / s0 - z;
        const double beta = grid.offsets ? double(grid.offsets[k]) : 0.0;
        const double s = double(grid.scales[k]);
        if (v0 >= r.qn && v0 <= r.qp) {
          hat = double(w[i]) + s * (std::nearbyint(v0) - v0);
        } else {
          hat = s * (v0 < r.qn ? r.qn : r.qp) + beta;
        }
        break;
      }
      case WeightScheme::kPowerOfTwo:
      case WeightScheme::kApot: {
        const double top = double(table0.value(k, r.qp));
        const double m0 = double(table0.value(k, codes0[i])) / top;
        const double hi = top * double(table0.steps[k]);
        const double alpha0 = double(table0.steps[k]) * top;
        const double alpha = double(grid.scales[k]);
        const bool inside = std::fabs(double(w0[i])) <= hi;
        hat = inside ? double(w[i]) + alpha * (m0 - double(w0[i]) / alpha0) : alpha * m0;
        break;
      }
      case WeightScheme::kCodebook: {
        float lo = INFINITY, hi = -INFINITY;
        for (int q = r.qn; q <= r.qp; q++) {
          lo = std::min(lo, float(table0.value(k, q)) * table0.steps[k]);
          hi = std::max(hi, float(table0.value(k, q)) * table0.steps[k]);
        }
        const double level = double(grid.levels[k * grid.codes() + size_t(codes0[i] - r.qn)]);
        const bool inside = w0[i] >= lo && w0[i] <= hi;
        hat = inside ? level + double(w[i]) - double(w0[i]) : level;
        break;
      }
    }
    loss += hat * double(g[i]);
  }
  return loss;
}

TEST_CASE("grid gradients match finite differences of the straight-through surrogate",
          "[engine][quant]") {
  for (bool per_channel : {true, false}) {
    for (const auto& [scheme, bits] : Supported()) {
      INFO(SchemeName(scheme) << " " << bits << " bits, per channel " << per_channel);
      const size_t rows = 24, channels = 3;
      std::vector<float> w0 = RandomWeights(rows * channels, 13 + size_t(bits), 0.1f);
      OwnedGrid g(scheme, bits, per_channel, rows, channels, w0);
      w0[0] = 100.0f;  // beyond every grid
      w0[1] = -100.0f;
      // Shrink the grid a little so that more of the outermost weights clip.
      for (float& s : g.scales) s *= 0.7f;
      for (float& l : g.levels) l *= 0.7f;
      GridTable table;
      BuildTable(g.grid, &table);
      std::vector<int8_t> codes(w0.size());
      QuantizeToGrid(g.grid, table, w0.data(), codes.data());
      std::vector<float> upstream = RandomWeights(w0.size(), 17);
      std::vector<float> dw(w0.size());
      OwnedGrid grads = g;  // same shapes; zeroed below
      for (auto* v : {&grads.scales, &grads.offsets, &grads.levels})
        std::fill(v->begin(), v->end(), 0.0f);
      grads.grid.scales = grads.scales.empty() ? nullptr : grads.scales.data();
      grads.grid.offsets = grads.offsets.empty() ? nullptr : grads.offsets.data();
      grads.grid.levels = grads.levels.empty() ? nullptr : grads.levels.data();
      QuantizeToGridBackward(g.grid, table, w0.data(), codes.data(), upstream.data(), dw.data(),
                             grads.grid);

      size_t clipped = 0;
      for (float d : dw) clipped += d == 0.0f;
      CHECK(clipped > 0);
      CHECK(clipped < dw.size());
      const double eps = 1e-3;
      const auto fd = [&](float* value, std::vector<float>* w) {
        const float saved = *value;
        *value = float(saved + eps);
        const double plus = Surrogate(g.grid, table, w0, codes, *w, upstream);
        *value = float(saved - eps);
        const double minus = Surrogate(g.grid, table, w0, codes, *w, upstream);
        *value = saved;
        return (plus - minus) / (2 * eps);
      };
      std::vector<float> w = w0;
      for (size_t i = 0; i < w.size(); i += 5) {
        INFO("dL/dw[" << i << "]");
        CHECK(dw[i] == Approx(fd(&w[i], &w)).margin(1e-3));
      }
      const float scale = LsqGradScale(g.grid.group_size(), SignedRange(bits).qp);
      for (size_t k = 0; k < g.scales.size(); k++) {
        INFO("scale " << k);
        CHECK(grads.scales[k] == Approx(scale * fd(&g.scales[k], &w)).margin(1e-3));
      }
      for (size_t k = 0; k < g.offsets.size(); k++) {
        INFO("offset " << k);
        CHECK(grads.offsets[k] == Approx(scale * fd(&g.offsets[k], &w)).margin(1e-3));
      }
      // A level's gradient is the surrogate's derivative divided by how many weights it
      // stands for.
      std::vector<size_t> count(g.levels.size(), 0);
      for (size_t i = 0; i < codes.size() && !count.empty(); i++) {
        count[(per_channel ? i % channels : 0) * g.grid.codes() + size_t(codes[i] - table.qn)]++;
      }
      for (size_t k = 0; k < g.levels.size(); k++) {
        INFO("level " << k << ", standing for " << count[k] << " weights");
        CHECK(grads.levels[k] ==
              Approx(fd(&g.levels[k], &w) / double(std::max<size_t>(count[k], 1))).margin(1e-3));
      }
    }
  }
}

TEST_CASE("fitted grids: k-means codebooks and least-squared-error scales", "[engine][quant]") {
  // Two tight clusters and a 2-bit codebook: k-means puts levels on them.
  std::vector<float> w;
  for (int i = 0; i < 20; i++) w.push_back(-1.0f + 0.001f * float(i % 3));
  for (int i = 0; i < 20; i++) w.push_back(0.5f + 0.001f * float(i % 3));
  OwnedGrid g(WeightScheme::kCodebook, 2, false, w.size(), 1, w);
  const std::vector<float> w_hat = OnGrid(g.grid, w);
  double error = 0.0;
  for (size_t i = 0; i < w.size(); i++) error = std::max(error, double(std::fabs(w[i] - w_hat[i])));
  CHECK(error < 0.01);  // the snapping to 1/127 of the largest level, and the spread

  // pow2's and apot's alpha: no candidate (a fraction k / 100 of max|w|) does better.
  const std::vector<float> x = RandomWeights(64, 19);
  float top = 0.0f;
  for (float v : x) top = std::max(top, std::fabs(v));
  for (WeightScheme s : {WeightScheme::kPowerOfTwo, WeightScheme::kApot}) {
    OwnedGrid p(s, 4, false, x.size(), 1, x);
    auto mse = [&](float alpha) {
      float a = alpha;
      WeightGrid one = p.grid;
      one.scales = &a;
      const std::vector<float> h = OnGrid(one, x);
      double e = 0.0;
      for (size_t i = 0; i < x.size(); i++) e += double(x[i] - h[i]) * double(x[i] - h[i]);
      return e;
    };
    const double fitted = mse(p.scales[0]);
    for (int k = 1; k <= kMseStepCandidates; k++) {
      CHECK(fitted <= mse(top * float(k) / float(kMseStepCandidates)));
    }
  }
}

}  // namespace
}  // namespace qf::quant
