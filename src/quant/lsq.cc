// LSQ quantizers: scalar loops. The activation loops, which touch every value of a
// batch, run in pieces over the thread pool (core/thread_pool.h).
#include "quant/lsq.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"

namespace qf::quant {

QRange SignedRange(int bits) {
  QF_CHECK(bits >= 2 && bits <= 8);
  return {-(1 << (bits - 1)), (1 << (bits - 1)) - 1};
}

QRange ActivationRange(uint8_t zero_point, int bits) {
  QF_CHECK((bits == 8 || bits == 4) && (zero_point == 0 || zero_point == 128 || bits == 8));
  if (bits == 8) return {-int(zero_point), 255 - int(zero_point)};
  return zero_point == 0 ? QRange{0, 15} : QRange{-8, 7};
}

float LsqInitialStep(const float* x, size_t n, int qp) {
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += std::fabs(x[i]);
  const double mean = n ? sum / double(n) : 0.0;
  return float(std::max(2.0 * mean / std::sqrt(double(qp)), 1e-8));
}

float MinMaxStep(const float* x, size_t n, QRange range) {
  float widest = 0.0f;
  for (size_t i = 0; i < n; i++) {
    if (x[i] > 0.0f) widest = std::max(widest, x[i] / float(range.qp));
    if (x[i] < 0.0f && range.qn < 0) widest = std::max(widest, x[i] / float(range.qn));
  }
  return widest;
}

float MseStep(const float* x, size_t n, QRange range) {
  // Candidates up to the smallest step that clips nothing.
  const float widest = MinMaxStep(x, n, range);
  if (!(widest > 0.0f) || !std::isfinite(widest)) return LsqInitialStep(x, n, range.qp);
  float best_step = 0.0f;
  double best_error = INFINITY;
  for (int k = 1; k <= kMseStepCandidates; k++) {
    const float step = widest * float(k) / float(kMseStepCandidates);
    double error = 0.0;
    for (size_t i = 0; i < n; i++) {
      const double e = double(x[i]) - double(ClampedCode(x[i] / step, range)) * double(step);
      error += e * e;
    }
    if (error < best_error) best_error = error, best_step = step;
  }
  return best_step;
}

float FitStep(const float* x, size_t n, QRange range, StepRule rule) {
  switch (rule) {
    case StepRule::kMse:
      return MseStep(x, n, range);
    case StepRule::kMinMax:
      return std::max(MinMaxStep(x, n, range), 1e-8f);
    case StepRule::kLsqInitial:
      break;
  }
  return LsqInitialStep(x, n, range.qp);
}

void FitWeightSteps(const float* w, size_t rows, size_t channels, bool per_channel,
                    QRange range, StepRule rule, float* steps) {
  auto fit = [&](const float* x, size_t n) { return FitStep(x, n, range, rule); };
  if (!per_channel) {
    steps[0] = fit(w, rows * channels);
    return;
  }
  std::vector<float> column(rows);
  for (size_t c = 0; c < channels; c++) {
    for (size_t r = 0; r < rows; r++) column[r] = w[r * channels + c];
    steps[c] = fit(column.data(), rows);
  }
}

float LsqGradScale(size_t n, int qp) { return float(1.0 / std::sqrt(double(n) * double(qp))); }

void QuantizeWeights(const float* w, size_t rows, size_t channels, const float* steps,
                     bool per_channel, QRange range, int8_t* codes) {
  ParallelForRows(rows, channels, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      for (size_t c = 0; c < channels; c++) {
        const float s = steps[per_channel ? c : 0];
        codes[r * channels + c] = int8_t(ClampedCode(w[r * channels + c] / s, range));
      }
    }
  });
}

void DequantizeWeights(const int8_t* codes, size_t rows, size_t channels, const float* steps,
                       bool per_channel, float* w_hat) {
  ParallelForRows(rows, channels, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      for (size_t c = 0; c < channels; c++) {
        w_hat[r * channels + c] = float(codes[r * channels + c]) * steps[per_channel ? c : 0];
      }
    }
  });
}

void QuantizeWeightsBackward(const float* w, const float* dw_hat, size_t rows, size_t channels,
                             const float* steps, bool per_channel, QRange range, float* dw,
                             float* dsteps) {
  const size_t per_step = per_channel ? rows : rows * channels;
  const float scale = LsqGradScale(per_step, range.qp);
  const size_t nsteps = per_channel ? channels : 1;
  // The step gradients' sums by pieces (SumRows): of rows, per channel; of elements, per
  // tensor.
  std::vector<double> acc(nsteps, 0.0);
  const auto add = [&](size_t i, size_t k, double* sum) {
    const float v = w[i] / steps[k];
    *sum += double(dw_hat[i]) * StepGradient(v, range);
    dw[i] = InRange(v, range) ? dw_hat[i] : 0.0f;
  };
  if (per_channel) {
    SumRows(rows, channels, acc.data(), [&](size_t r, double* sums) {
      for (size_t c = 0; c < channels; c++) add(r * channels + c, c, &sums[c]);
    });
  } else {
    SumRows(rows * channels, 1, acc.data(), [&](size_t i, double* sum) { add(i, 0, sum); });
  }
  for (size_t k = 0; k < nsteps; k++) dsteps[k] += float(acc[k]) * scale;
}

void QuantizeActivations(const float* x, size_t n, float step, uint8_t zero_point,
                         uint8_t* codes, int bits) {
  const QRange range = ActivationRange(zero_point, bits);
  ParallelForPieces(n, kParallelElements, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) codes[i] = uint8_t(ClampedCode(x[i] / step, range) + zero_point);
  });
}

void DequantizeActivations(const uint8_t* codes, size_t n, float step, uint8_t zero_point,
                           float* x_hat) {
  ParallelForPieces(n, kParallelElements, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) x_hat[i] = float(int(codes[i]) - int(zero_point)) * step;
  });
}

float QuantizeActivationsBackward(const float* x, const float* dx_hat, size_t n, size_t features,
                                  float step, uint8_t zero_point, float* dx, int bits) {
  const QRange range = ActivationRange(zero_point, bits);
  double sum = 0.0;  // the step gradient's, by pieces (SumRows of one column)
  SumRows(n, 1, &sum, [&](size_t i, double* acc) {
    const float v = x[i] / step;
    *acc += double(dx_hat[i]) * StepGradient(v, range);
    dx[i] = InRange(v, range) ? dx_hat[i] : 0.0f;
  });
  return float(sum) * LsqGradScale(features, range.qp);
}

}  // namespace qf::quant
