// Epilogues of the integer GEMM and convolutions: int32 accumulators to float outputs,
// or requantized to uint8 with clamping (ReLU / ReLU6 are clamps). Knows nothing of
// where the scales come from (kernels/ are model-agnostic).
//
// Numeric definition (every variant, bit-exact):
//   f32: out[j] = float(acc[j]) * scale[j] + bias[j]
//   u8:  y = float(acc[j]) * scale[j] + offset[j];  y = min(max(y, qmin), qmax);
//        out[j] = round-half-to-even(y)
// Each line is a separate float operation (builds use -ffp-contract=off: no fused
// multiply-add), so every ISA rounds identically. For a quantized layer,
// scale[j] = s_in * s_w[j] (/ s_out for u8) and bias/offset the float bias (/ s_out).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"

namespace qf::kernels {

using RequantF32Fn = void (*)(size_t n, const int32_t* acc, const float* scale, const float* bias,
                              float* out);
using RequantU8Fn = void (*)(size_t n, const int32_t* acc, const float* scale, const float* offset,
                             uint8_t qmin, uint8_t qmax, uint8_t* out);

void qf_requant_f32__ref(size_t, const int32_t*, const float*, const float*, float*);
void qf_requant_f32__scalar(size_t, const int32_t*, const float*, const float*, float*);
void qf_requant_u8__ref(size_t, const int32_t*, const float*, const float*, uint8_t, uint8_t,
                        uint8_t*);
void qf_requant_u8__scalar(size_t, const int32_t*, const float*, const float*, uint8_t, uint8_t,
                           uint8_t*);
#if defined(QF_HAVE_WASMSIMD)
void qf_requant_f32__wasmsimd(size_t, const int32_t*, const float*, const float*, float*);
void qf_requant_u8__wasmsimd(size_t, const int32_t*, const float*, const float*, uint8_t, uint8_t,
                             uint8_t*);
#endif

struct RequantF32Kernel {
  const char* name;
  Isa isa;
  RequantF32Fn fn;
};
struct RequantU8Kernel {
  const char* name;
  Isa isa;
  RequantU8Fn fn;
};

Span<RequantF32Kernel> RequantF32Kernels();
Span<RequantU8Kernel> RequantU8Kernels();

}  // namespace qf::kernels
