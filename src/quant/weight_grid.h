// Weight grids: the level sets a quantized layer's weights may take, one scheme per layer,
// and how each deploys on the int8 kernels. Knows nothing of layers: a layer owns the
// parameters (a WeightGrid points at them) and calls these on its buffers.
//
// Schemes, with b bits, codes q in [qn, qp] = [-2^(b-1), 2^(b-1) - 1], per group (a
// channel, or the whole tensor):
//   uniform     q * s                      (LSQ, Esser et al. 2020; quant/lsq.h)
//   asymmetric  (q + z) * s, z = round(beta / s), a learned offset beta (LSQ+, Bhalgat
//               et al. 2020) snapped to a whole number of steps
//   pow2        sign(q) * alpha * 2^(|q| - qp) for q != 0, and 0: powers of two below a
//               learned largest level alpha (Miyashita et al. 2016); code qn is unused
//   apot        sign(q) * alpha * m_|q|: m_0 = 0 < m_1 < ... < m_qp = 1 the sums of
//               additive powers-of-two terms (Li et al., ICLR 2020; see ApotLevels)
//   codebook    L[q - qn]: 2^b learned levels, k-means initialized, each trained with
//               the gradients of the weights it stands for (the "trained quantization"
//               of Han et al., Deep Compression, ICLR 2016; averaged, see
//               QuantizeToGridBackward), the shadow weights by straight-through
//               estimation so that assignments can move
//
// Deployment. The kernels multiply int8 values and scale each output channel by one
// float. Every group therefore gets a table of int8 values, one per code, and a fine step
// f: the weight a code stands for is exactly table[q] * f, in training (the simulated
// weight) as in the deployed model. For uniform, table[q] = q and f = s; asymmetric,
// table[q] = q + z and f = s (z is clamped so that q + z fits int8; at 8 bits z = 0).
// pow2 and apot levels are dyadic fractions of alpha: table[q] is the level in units of
// the smallest one's grid, f = alpha / table[qp], exact where the largest numerator fits
// int8 (pow2 at 2 to 4 bits, apot at 2 to 4 bits). Where it does not (apot at 8 bits) and
// for codebooks, the levels are snapped to f = max|level| / 127: each level moves by at
// most f / 2 = max|level| / 254 from its ideal value, and levels closer than f may merge.
// The snapping happens when the table is built, so training sees the snapped levels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "quant/lsq.h"

namespace qf::quant {

enum class WeightScheme { kUniform, kAsymmetric, kPowerOfTwo, kApot, kCodebook };

// "uniform", "asymmetric", "pow2", "apot", "codebook".
const char* SchemeName(WeightScheme scheme);
// False for an unknown name.
bool SchemeFromName(std::string_view name, WeightScheme* scheme);
// "" when `scheme` has a b-bit grid (b in 2, 3, 4, 8), else why not: pow2 has none at 8
// bits (its smallest level would be alpha * 2^-126).
std::string SchemeBitsError(WeightScheme scheme, int bits);

// The magnitudes of apot at `bits` as integers t_0 = 0 < t_1 < ... < t_qp (m_j = t_j /
// t_qp): with k = b - 1 magnitude bits, n = ceil(k / 2) terms, term i taking 2 bits (the
// last one what is left) and the values {0} and 2^-(i + j n), j = 0 .. 2^bits_i - 2, the
// magnitudes are the sums of one value per term, in units of the smallest power. No two
// terms share a power, so the 2^k sums are distinct.
std::vector<int64_t> ApotLevels(int bits);

// One layer's weights [rows, channels] (channel innermost) and its grid's parameters,
// one set per group. Pointers are borrowed; those a scheme does not use are null.
struct WeightGrid {
  WeightScheme scheme = WeightScheme::kUniform;
  int bits = 8;
  bool per_channel = true;
  size_t rows = 0, channels = 0;
  float* scales = nullptr;   // [groups]: the step s (uniform, asymmetric), alpha (pow2, apot)
  float* offsets = nullptr;  // [groups]: beta (asymmetric)
  float* levels = nullptr;   // [groups, 2^bits]: the codebook, indexed by q - qn

  size_t groups() const { return per_channel ? channels : 1; }
  // Weights per group.
  size_t group_size() const { return per_channel ? rows : rows * channels; }
  size_t codes() const { return size_t(1) << bits; }
  QRange range() const { return SignedRange(bits); }
};

// Which parameters `scheme` learns: scales, offsets, levels.
bool HasScales(WeightScheme scheme);
bool HasOffsets(WeightScheme scheme);
bool HasLevels(WeightScheme scheme);

// The deployed form of a grid.
struct GridTable {
  int qn = 0;
  size_t codes = 0;
  std::vector<int8_t> values;  // [groups, codes]: the int8 value of code q at q - qn
  std::vector<float> steps;    // [groups]: the fine step f
  int8_t value(size_t group, int q) const { return values[group * codes + size_t(q - qn)]; }
};

// The table of `grid` with its parameters as they are now.
void BuildTable(const WeightGrid& grid, GridTable* table);

// The codes of weights w: the nearest of the group's levels table[q] * f (uniform and
// asymmetric: round half even; the other schemes: the lower level on a tie, and among
// equal levels the code nearest 0, the negative one of two). Beyond the levels, the outermost; NaN
// gets the code of the level nearest 0.
void QuantizeToGrid(const WeightGrid& grid, const GridTable& table, const float* w, int8_t* codes);

// The int8 values the kernels multiply, table[q] for each code (for uniform, the codes).
void DeployCodes(const WeightGrid& grid, const GridTable& table, const int8_t* codes,
                 int8_t* deployed);

// w_hat = table[q] * f.
void DequantizeGrid(const WeightGrid& grid, const GridTable& table, const int8_t* codes,
                    float* w_hat);

// dw = straight-through dL/dw from dL/dw_hat (0 beyond the outermost levels); adds the
// parameters' gradients into `grads` (a WeightGrid whose pointers are the gradients of
// grid's parameters): scales and offsets LSQ-style, scaled by 1 / sqrt(group_size * qp)
// (pow2 and apot in units of alpha: dL/dalpha = g (m - w / alpha) inside, g m outside,
// m the normalized level); codebook levels the mean of g over the weights they stand for
// (the sum is the derivative; divided by the count, a level moves under SGD as the mean
// of its weights does, and keeps the optimizer's step meaningful: with the sum, a 4-bit
// lenet's codebook levels took steps of hundreds of weights' at once and it fell to chance).
void QuantizeToGridBackward(const WeightGrid& grid, const GridTable& table, const float* w,
                            const int8_t* codes, const float* dw_hat, float* dw,
                            const WeightGrid& grads);

// Sets the grid's parameters from weights alone, by `rule` where the scheme has a choice:
//   uniform     FitWeightSteps
//   asymmetric  beta = the group's midrange, s by FitStep(rule) on w - beta
//   pow2, apot  min-max: alpha = max|w|; else alpha with the least squared error, among
//               kMseStepCandidates fractions of max|w| (LSQ's rule is for uniform grids)
//   codebook    1-D k-means (Lloyd), from levels evenly spaced over [min, max] (any rule)
void FitGrid(const float* w, StepRule rule, const WeightGrid& grid);

}  // namespace qf::quant
