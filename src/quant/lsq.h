// LSQ (learned step size quantization, Esser et al. 2020): codes from floats, the
// straight-through gradients back to the floats, and the step-size gradients. Knows
// nothing of layers; layers own the step sizes and call these on their buffers.
//
// A value x with step s and code range [qn, qp] quantizes to
//   q = clamp(round_half_even(x / s), qn, qp),   x_hat = q * s.
// Backward, with v = x / s and upstream gradient g = dL/dx_hat:
//   dL/dx = g if qn <= v <= qp, else 0                          (straight-through)
//   dL/ds += g * (round(v) - v) inside, g * qn below, g * qp above,
// and the step gradient is scaled by 1 / sqrt(N * qp), N = values per step size.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace qf::quant {

struct QRange {
  int qn, qp;
};

// Rounds half to even, the same rule as the requantization kernels.
inline float RoundHalfEven(float v) { return std::nearbyint(v); }

// The code of v = x / step: rounded, clamped to r (infinities included). NaN, which a
// diverged input or weight can produce, has no code: it gets 0 (for activations, the zero
// point), since converting NaN to int is undefined behaviour.
inline int ClampedCode(float v, QRange r) {
  if (std::isnan(v)) return 0;
  return int(std::min(std::max(RoundHalfEven(v), float(r.qn)), float(r.qp)));
}

inline bool InRange(float v, QRange r) { return v >= float(r.qn) && v <= float(r.qp); }

// LSQ's gradient of x_hat = s * code(x / s) with respect to s, at v = x / s.
inline float StepGradient(float v, QRange r) {
  if (v < float(r.qn)) return float(r.qn);
  if (v > float(r.qp)) return float(r.qp);
  return RoundHalfEven(v) - v;
}

// Weights: symmetric signed codes [-2^(b-1), 2^(b-1) - 1], b in [2, 8].
QRange SignedRange(int bits);
// Activations as uint8 with zero point `zero_point`: q = code - zero_point lies in
// [-zero_point, 255 - zero_point] at 8 bits. Zero point 0 after ReLU, 128 for signed
// inputs. At 4 bits, q lies in [0, 15] (zero point 0) or [-8, 7] (zero point 128): the
// same uint8 codes and kernels, fewer of them used.
QRange ActivationRange(uint8_t zero_point, int bits = 8);

// LSQ's initial step: 2 * mean|x| / sqrt(qp); a tiny positive floor keeps an
// all-zero tensor from producing step 0.
float LsqInitialStep(const float* x, size_t n, int qp);

// The step a post-training quantizer would give x: the one, among kMseStepCandidates
// evenly spaced fractions of the smallest step that clips nothing (max(x) / qp or
// min(x) / qn, whichever is larger), whose quantization of x has the least squared error;
// the smallest such step on ties.
// Used to re-quantize trained weights from scratch (the unlearning deployment check).
inline constexpr int kMseStepCandidates = 100;
float MseStep(const float* x, size_t n, QRange range);

// The smallest step that clips none of x: max(x) / qp or min(x) / qn, whichever is larger
// (qn < 0; with qn = 0, max(x) / qp); 0 when x has no value beyond 0 that the range can take.
float MinMaxStep(const float* x, size_t n, QRange range);

// Which step FitWeightSteps gives: LSQ's initial one, the one that clips nothing (min-max)
// or the least-squared-error one.
enum class StepRule { kLsqInitial, kMinMax, kMse };

// The step of values x by `rule` (min-max and LSQ's with a tiny positive floor).
float FitStep(const float* x, size_t n, QRange range, StepRule rule);

// The steps of weights laid out as in QuantizeWeights (below), by `rule`: one per column
// (per_channel) or one for the whole tensor.
void FitWeightSteps(const float* w, size_t rows, size_t channels, bool per_channel,
                    QRange range, StepRule rule, float* steps);

// LSQ's step-gradient scale 1 / sqrt(n * qp).
float LsqGradScale(size_t n, int qp);

// Weights laid out rows x channels (channel innermost: a GEMM's B matrix, conv weights
// [KH, KW, Cin, Cout], depthwise [KH, KW, C]). `steps` holds one value per channel
// (per_channel) or one in total. Here and in QuantizeActivations, values beyond the range
// (infinities too) clamp to it, and NaN gets code 0.
void QuantizeWeights(const float* w, size_t rows, size_t channels, const float* steps,
                     bool per_channel, QRange range, int8_t* codes);

// w_hat = code * step, the weights the codes stand for (same layout as QuantizeWeights).
void DequantizeWeights(const int8_t* codes, size_t rows, size_t channels, const float* steps,
                       bool per_channel, float* w_hat);

// dw = straight-through dL/dw from dL/dw_hat; dsteps += scaled step gradients
// (channels values, or one).
void QuantizeWeightsBackward(const float* w, const float* dw_hat, size_t rows, size_t channels,
                             const float* steps, bool per_channel, QRange range, float* dw,
                             float* dsteps);

// Activations, one step for the whole tensor: codes = q + zero_point (NaN: the zero point).
void QuantizeActivations(const float* x, size_t n, float step, uint8_t zero_point, uint8_t* codes,
                         int bits = 8);

// x_hat = (code - zero_point) * step.
void DequantizeActivations(const uint8_t* codes, size_t n, float step, uint8_t zero_point,
                           float* x_hat);

// dx = straight-through dL/dx from dL/dx_hat (may alias dx_hat); returns the scaled step
// gradient. `features` is the number of values per sample (LSQ's N).
float QuantizeActivationsBackward(const float* x, const float* dx_hat, size_t n, size_t features,
                                  float step, uint8_t zero_point, float* dx, int bits = 8);

}  // namespace qf::quant
