// Weight grids: tables, nearest-level codes, straight-through gradients and fitting.
// Element-wise passes run in pieces of rows over the thread pool; per-group sums by
// SumRows, so that they are the same bytes at any thread count.
#include "quant/weight_grid.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "core/check.h"
#include "core/thread_pool.h"

namespace qf::quant {
namespace {

constexpr int kInt8Max = 127;  // table values stay in [-127, 127]
constexpr int kLloydIterations = 30;

constexpr std::pair<WeightScheme, const char*> kNames[] = {
    {WeightScheme::kUniform, "uniform"},   {WeightScheme::kAsymmetric, "asymmetric"},
    {WeightScheme::kPowerOfTwo, "pow2"},   {WeightScheme::kApot, "apot"},
    {WeightScheme::kCodebook, "codebook"},
};

// The integer magnitudes t_0 = 0 < ... < t_qp of pow2 and apot, snapped to [0, 127] when
// the largest does not fit (t_j -> round(t_j * 127 / t_qp)).
std::vector<int> TableMagnitudes(WeightScheme scheme, int bits) {
  std::vector<int64_t> t;
  if (scheme == WeightScheme::kApot) {
    t = ApotLevels(bits);
  } else {
    const int qp = SignedRange(bits).qp;
    t.assign(size_t(qp) + 1, 0);
    for (int j = 1; j <= qp; j++) t[size_t(j)] = int64_t(1) << (j - 1);
  }
  const int64_t top = t.back();
  std::vector<int> out(t.size());
  for (size_t j = 0; j < t.size(); j++) {
    out[j] = top <= kInt8Max ? int(t[j]) : int((2 * t[j] * kInt8Max + top) / (2 * top));
  }
  return out;
}

// fn(i, group) for every weight i, in pieces of rows over the pool.
template <typename Fn>
void ForEachWeight(const WeightGrid& grid, Fn&& fn) {
  ParallelForRows(grid.rows, grid.channels, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      for (size_t c = 0; c < grid.channels; c++)
        fn(r * grid.channels + c, grid.per_channel ? c : 0);
    }
  });
}

// Per-group sums of `width` terms per weight: add(i, group, acc) adds weight i's terms to
// acc[0, width), the group's part of sums [groups, width]. By SumRows (core/thread_pool.h).
template <typename Add>
void SumByGroup(const WeightGrid& grid, size_t width, double* sums, Add&& add) {
  if (grid.per_channel) {
    SumRows(grid.rows, grid.channels * width, sums, [&](size_t r, double* acc) {
      for (size_t c = 0; c < grid.channels; c++) add(r * grid.channels + c, c, acc + c * width);
    });
  } else {
    SumRows(grid.rows * grid.channels, width, sums, [&](size_t i, double* acc) { add(i, 0, acc); });
  }
}

// Calls fn(group, values) with each group's weights in a contiguous buffer.
template <typename Fn>
void ForEachGroup(const float* w, const WeightGrid& grid, Fn&& fn) {
  if (!grid.per_channel) {
    fn(size_t(0), std::vector<float>(w, w + grid.rows * grid.channels));
    return;
  }
  std::vector<float> column(grid.rows);
  for (size_t c = 0; c < grid.channels; c++) {
    for (size_t r = 0; r < grid.rows; r++) column[r] = w[r * grid.channels + c];
    fn(c, column);
  }
}

// The asymmetric grid's whole-step offset z of `group`: table[q] = q + z.
int Offset(const GridTable& table, size_t group) { return table.value(group, table.qn) - table.qn; }

// A table scheme's levels of each group in ascending order (equal levels once, with the
// code nearest 0, the negative one of two) and the midpoints between neighbours, in
// weight units.
struct SortedLevels {
  size_t stride = 0;             // entries per group
  std::vector<size_t> count;     // [groups]: distinct levels
  std::vector<int8_t> codes;     // [groups, stride]
  std::vector<float> midpoints;  // [groups, stride]: between level k and k + 1
  std::vector<float> lo, hi;     // [groups]: the outermost levels

  SortedLevels(const WeightGrid& grid, const GridTable& table)
      : stride(table.codes),
        count(grid.groups()),
        codes(grid.groups() * stride),
        midpoints(grid.groups() * stride),
        lo(grid.groups()),
        hi(grid.groups()) {
    std::vector<std::tuple<int, int, int>> by_value(table.codes);  // (value, |code|, code)
    for (size_t g = 0; g < grid.groups(); g++) {
      for (size_t k = 0; k < table.codes; k++) {
        const int q = table.qn + int(k);
        by_value[k] = {table.value(g, q), std::abs(q), q};
      }
      std::sort(by_value.begin(), by_value.end());
      const float f = table.steps[g];
      size_t n = 0;
      for (size_t k = 0; k < by_value.size(); k++) {
        const int value = std::get<0>(by_value[k]);
        if (k > 0 && value == std::get<0>(by_value[k - 1])) continue;
        if (n > 0) {
          midpoints[g * stride + n - 1] = 0.5f * float(value + std::get<0>(by_value[k - 1])) * f;
        }
        codes[g * stride + n++] = int8_t(std::get<2>(by_value[k]));
      }
      count[g] = n;
      lo[g] = float(std::get<0>(by_value.front())) * f;
      hi[g] = float(std::get<0>(by_value.back())) * f;
    }
  }

  // The code of the level nearest x (the lower on a tie); NaN: the level nearest 0.
  int8_t Code(size_t g, float x) const {
    if (std::isnan(x)) x = 0.0f;
    const float* mid = midpoints.data() + g * stride;
    return codes[g * stride + size_t(std::lower_bound(mid, mid + count[g] - 1, x) - mid)];
  }
};

}  // namespace

const char* SchemeName(WeightScheme scheme) {
  for (const auto& [s, name] : kNames) {
    if (s == scheme) return name;
  }
  QF_CHECK(false);
  return "";
}

bool SchemeFromName(std::string_view name, WeightScheme* scheme) {
  for (const auto& [s, n] : kNames) {
    if (name == n) {
      *scheme = s;
      return true;
    }
  }
  return false;
}

std::string SchemeBitsError(WeightScheme scheme, int bits) {
  if (!(bits == 2 || bits == 3 || bits == 4 || bits == 8)) {
    return std::string(SchemeName(scheme)) + " weights need 2, 3, 4 or 8 bits, got " +
           std::to_string(bits);
  }
  if (scheme == WeightScheme::kPowerOfTwo && bits > 4) {
    return "pow2 weights have 2, 3 or 4 bits (at " + std::to_string(bits) +
           " the smallest level would be 2^-" + std::to_string((1 << (bits - 1)) - 2) +
           " of the largest, beyond the int8 kernels), got " + std::to_string(bits);
  }
  return {};
}

std::vector<int64_t> ApotLevels(int bits) {
  QF_CHECK(bits >= 2 && bits <= 8);
  const int k = bits - 1, n = (k + 1) / 2;
  // Each term's values as exponents e (the value 2^-e); the smallest power is 2^-emax.
  std::vector<std::vector<int>> terms(static_cast<size_t>(n));
  int emax = 0;
  for (int i = 0; i < n; i++) {
    const int term_bits = i < n - 1 ? 2 : k - 2 * (n - 1);
    for (int j = 0; j <= (1 << term_bits) - 2; j++) {
      terms[size_t(i)].push_back(i + j * n);
      emax = std::max(emax, i + j * n);
    }
  }
  std::vector<int64_t> sums{0};
  for (const std::vector<int>& term : terms) {
    std::vector<int64_t> next;
    for (int64_t s : sums) {
      next.push_back(s);  // the term's 0
      for (int e : term) next.push_back(s + (int64_t(1) << (emax - e)));
    }
    sums = std::move(next);
  }
  std::sort(sums.begin(), sums.end());
  QF_CHECK(std::adjacent_find(sums.begin(), sums.end()) == sums.end());
  QF_CHECK(sums.size() == size_t(SignedRange(bits).qp) + 1);
  return sums;
}

bool HasScales(WeightScheme scheme) { return scheme != WeightScheme::kCodebook; }
bool HasOffsets(WeightScheme scheme) { return scheme == WeightScheme::kAsymmetric; }
bool HasLevels(WeightScheme scheme) { return scheme == WeightScheme::kCodebook; }

void BuildTable(const WeightGrid& grid, GridTable* table) {
  const QRange r = grid.range();
  const size_t groups = grid.groups(), codes = grid.codes();
  table->qn = r.qn;
  table->codes = codes;
  table->values.resize(groups * codes);
  table->steps.resize(groups);
  const bool powers =
      grid.scheme == WeightScheme::kPowerOfTwo || grid.scheme == WeightScheme::kApot;
  const std::vector<int> t = powers ? TableMagnitudes(grid.scheme, grid.bits) : std::vector<int>();
  for (size_t g = 0; g < groups; g++) {
    int8_t* values = table->values.data() + g * codes;
    switch (grid.scheme) {
      case WeightScheme::kUniform:
      case WeightScheme::kAsymmetric: {
        int z = 0;
        if (grid.scheme == WeightScheme::kAsymmetric) {
          const float whole = RoundHalfEven(grid.offsets[g] / grid.scales[g]);
          const float lo = float(-128 - r.qn), hi = float(kInt8Max - r.qp);
          z = std::isfinite(whole) ? int(std::min(std::max(whole, lo), hi)) : 0;
        }
        for (size_t k = 0; k < codes; k++) values[k] = int8_t(r.qn + int(k) + z);
        table->steps[g] = grid.scales[g];
        break;
      }
      case WeightScheme::kPowerOfTwo:
      case WeightScheme::kApot: {
        for (size_t k = 0; k < codes; k++) {
          const int q = std::max(r.qn + int(k), -r.qp);  // code qn is unused: as -qp
          values[k] = int8_t(q < 0 ? -t[size_t(-q)] : t[size_t(q)]);
        }
        table->steps[g] = grid.scales[g] / float(t.back());
        break;
      }
      case WeightScheme::kCodebook: {
        const float* levels = grid.levels + g * codes;
        float top = 0.0f;
        for (size_t k = 0; k < codes; k++) top = std::max(top, std::fabs(levels[k]));
        const float f = top > 0.0f && std::isfinite(top) ? top / float(kInt8Max) : 1.0f;
        for (size_t k = 0; k < codes; k++) {
          const float v = RoundHalfEven(levels[k] / f);
          values[k] = int8_t(std::isfinite(v) ? std::min(std::max(v, -127.0f), 127.0f) : 0.0f);
        }
        table->steps[g] = f;
        break;
      }
    }
  }
}

void QuantizeToGrid(const WeightGrid& grid, const GridTable& table, const float* w, int8_t* codes) {
  const QRange r = grid.range();
  switch (grid.scheme) {
    case WeightScheme::kUniform:
      QuantizeWeights(w, grid.rows, grid.channels, grid.scales, grid.per_channel, r, codes);
      return;
    case WeightScheme::kAsymmetric:
      ForEachWeight(grid, [&](size_t i, size_t g) {
        const float z = float(Offset(table, g));
        // NaN: the level nearest 0, code -z clamped.
        const float v = std::isnan(w[i]) ? -z : w[i] / grid.scales[g] - z;
        codes[i] = int8_t(ClampedCode(v, r));
      });
      return;
    default: {
      const SortedLevels sorted(grid, table);
      ForEachWeight(grid, [&](size_t i, size_t g) { codes[i] = sorted.Code(g, w[i]); });
    }
  }
}

void DeployCodes(const WeightGrid& grid, const GridTable& table, const int8_t* codes,
                 int8_t* deployed) {
  ForEachWeight(grid, [&](size_t i, size_t g) { deployed[i] = table.value(g, codes[i]); });
}

void DequantizeGrid(const WeightGrid& grid, const GridTable& table, const int8_t* codes,
                    float* w_hat) {
  ForEachWeight(grid, [&](size_t i, size_t g) {
    w_hat[i] = float(table.value(g, codes[i])) * table.steps[g];
  });
}

void QuantizeToGridBackward(const WeightGrid& grid, const GridTable& table, const float* w,
                            const int8_t* codes, const float* dw_hat, float* dw,
                            const WeightGrid& grads) {
  const QRange r = grid.range();
  const size_t groups = grid.groups();
  const float scale = LsqGradScale(grid.group_size(), r.qp);
  switch (grid.scheme) {
    case WeightScheme::kUniform:
      QuantizeWeightsBackward(w, dw_hat, grid.rows, grid.channels, grid.scales, grid.per_channel, r,
                              dw, grads.scales);
      return;
    case WeightScheme::kAsymmetric: {
      std::vector<double> sums(groups * 2, 0.0);  // per group: d/ds, d/dbeta
      SumByGroup(grid, 2, sums.data(), [&](size_t i, size_t g, double* acc) {
        const float v = w[i] / grid.scales[g] - float(Offset(table, g));
        const bool inside = InRange(v, r);
        acc[0] += double(dw_hat[i]) * StepGradient(v, r);
        acc[1] += inside ? 0.0 : double(dw_hat[i]);
        dw[i] = inside ? dw_hat[i] : 0.0f;
      });
      for (size_t g = 0; g < groups; g++) {
        grads.scales[g] += float(sums[2 * g]) * scale;
        grads.offsets[g] += float(sums[2 * g + 1]) * scale;
      }
      return;
    }
    case WeightScheme::kPowerOfTwo:
    case WeightScheme::kApot: {
      const SortedLevels sorted(grid, table);
      std::vector<double> sums(groups, 0.0);
      SumByGroup(grid, 1, sums.data(), [&](size_t i, size_t g, double* acc) {
        const float m = float(table.value(g, codes[i])) / float(table.value(g, r.qp));
        const bool inside = w[i] >= sorted.lo[g] && w[i] <= sorted.hi[g];
        acc[0] += double(dw_hat[i]) * (inside ? m - w[i] / grid.scales[g] : m);
        dw[i] = inside ? dw_hat[i] : 0.0f;
      });
      for (size_t g = 0; g < groups; g++) grads.scales[g] += float(sums[g]) * scale;
      return;
    }
    case WeightScheme::kCodebook: {
      const SortedLevels sorted(grid, table);
      const size_t n = table.codes;
      // Per level: the sum of its weights' gradients, and how many it stands for.
      std::vector<double> sums(groups * n * 2, 0.0);
      SumByGroup(grid, 2 * n, sums.data(), [&](size_t i, size_t g, double* acc) {
        const size_t k = size_t(codes[i] - r.qn);
        acc[2 * k] += double(dw_hat[i]);
        acc[2 * k + 1] += 1.0;
        dw[i] = w[i] >= sorted.lo[g] && w[i] <= sorted.hi[g] ? dw_hat[i] : 0.0f;
      });
      for (size_t k = 0; k < groups * n; k++) {
        if (sums[2 * k + 1] > 0.0) grads.levels[k] += float(sums[2 * k] / sums[2 * k + 1]);
      }
      return;
    }
  }
}

void FitGrid(const float* w, StepRule rule, const WeightGrid& grid) {
  const QRange r = grid.range();
  switch (grid.scheme) {
    case WeightScheme::kUniform:
      FitWeightSteps(w, grid.rows, grid.channels, grid.per_channel, r, rule, grid.scales);
      return;
    case WeightScheme::kAsymmetric:
      ForEachGroup(w, grid, [&](size_t g, std::vector<float> x) {
        const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
        const float beta = 0.5f * (*lo + *hi);
        for (float& v : x) v -= beta;
        grid.offsets[g] = beta;
        grid.scales[g] = FitStep(x.data(), x.size(), r, rule);
      });
      return;
    case WeightScheme::kPowerOfTwo:
    case WeightScheme::kApot:
      ForEachGroup(w, grid, [&](size_t g, const std::vector<float>& x) {
        float top = 0.0f;
        for (float v : x) top = std::max(top, std::fabs(v));
        if (!(top > 0.0f) || !std::isfinite(top) || rule == StepRule::kMinMax) {
          grid.scales[g] = std::max(top, 1e-8f);  // min-max: the largest level on max|w|
          return;
        }
        // One group as a grid of its own, to quantize x exactly as the layer will.
        float alpha = 0.0f;
        WeightGrid one = grid;
        one.per_channel = false;
        one.rows = x.size();
        one.channels = 1;
        one.scales = &alpha;
        GridTable table;
        std::vector<int8_t> codes(x.size());
        std::vector<float> x_hat(x.size());
        double best_error = std::numeric_limits<double>::infinity();
        for (int k = 1; k <= kMseStepCandidates; k++) {
          alpha = top * float(k) / float(kMseStepCandidates);
          BuildTable(one, &table);
          QuantizeToGrid(one, table, x.data(), codes.data());
          DequantizeGrid(one, table, codes.data(), x_hat.data());
          double error = 0.0;
          for (size_t i = 0; i < x.size(); i++) {
            const double e = double(x[i]) - double(x_hat[i]);
            error += e * e;
          }
          if (error < best_error) best_error = error, grid.scales[g] = alpha;
        }
      });
      return;
    case WeightScheme::kCodebook:
      ForEachGroup(w, grid, [&](size_t g, std::vector<float> x) {
        // 1-D k-means: sorted values, levels evenly spaced over [min, max], then Lloyd
        // iterations over the contiguous runs nearest each level (1-D keeps them sorted).
        std::sort(x.begin(), x.end());
        const size_t n = grid.codes();
        float* levels = grid.levels + g * n;
        const float lo = x.front(), hi = x.back();
        for (size_t k = 0; k < n; k++) levels[k] = lo + (hi - lo) * float(k) / float(n - 1);
        for (int it = 0; it < kLloydIterations; it++) {
          bool moved = false;
          size_t begin = 0;
          for (size_t k = 0; k < n; k++) {
            const float upper = k + 1 < n ? 0.5f * (levels[k] + levels[k + 1])
                                          : std::numeric_limits<float>::infinity();
            size_t end =
                size_t(std::upper_bound(x.begin() + long(begin), x.end(), upper) - x.begin());
            if (end > begin) {
              double sum = 0.0;
              for (size_t i = begin; i < end; i++) sum += x[i];
              const float mean = float(sum / double(end - begin));
              moved = moved || mean != levels[k];
              levels[k] = mean;
            }
            begin = end;
          }
          if (!moved) break;
        }
      });
      return;
  }
}

}  // namespace qf::quant
