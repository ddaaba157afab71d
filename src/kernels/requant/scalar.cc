// Portable epilogues. Rounding uses the magic-number trick instead of nearbyint (a
// libm call on baseline x86-64): adding 1.5 * 2^23 to a float in [0, 255] leaves the
// integer, rounded half to even by the FPU, in the low mantissa bits.
#include <algorithm>
#include <cstring>

#include "kernels/requant/requant.h"

namespace qf::kernels {

void qf_requant_f32__scalar(size_t n, const int32_t* acc, const float* scale, const float* bias,
                            float* out) {
  for (size_t j = 0; j < n; j++) {
    const float scaled = float(acc[j]) * scale[j];
    out[j] = scaled + bias[j];
  }
}

void qf_requant_u8__scalar(size_t n, const int32_t* acc, const float* scale, const float* offset,
                           uint8_t qmin, uint8_t qmax, uint8_t* out) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  const float lo = qmin, hi = qmax;
  for (size_t j = 0; j < n; j++) {
    const float scaled = float(acc[j]) * scale[j];
    float y = scaled + offset[j];
    y = std::min(std::max(y, lo), hi);
    const float biased = y + kMagic;
    uint32_t bits;
    std::memcpy(&bits, &biased, sizeof(bits));
    out[j] = uint8_t(bits);  // low 8 mantissa bits hold the rounded value
  }
}

}  // namespace qf::kernels
