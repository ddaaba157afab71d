// Reference epilogues: the numeric specification of requant.h, plain loops.
#include <algorithm>
#include <cmath>

#include "kernels/requant/requant.h"

namespace qf::kernels {

void qf_requant_f32__ref(size_t n, const int32_t* acc, const float* scale, const float* bias,
                         float* out) {
  for (size_t j = 0; j < n; j++) {
    const float scaled = float(acc[j]) * scale[j];
    out[j] = scaled + bias[j];
  }
}

void qf_requant_u8__ref(size_t n, const int32_t* acc, const float* scale, const float* offset,
                        uint8_t qmin, uint8_t qmax, uint8_t* out) {
  for (size_t j = 0; j < n; j++) {
    const float scaled = float(acc[j]) * scale[j];
    float y = scaled + offset[j];
    y = std::min(std::max(y, float(qmin)), float(qmax));
    out[j] = uint8_t(std::nearbyint(y));  // default rounding mode: half to even
  }
}

}  // namespace qf::kernels
