// WebAssembly SIMD128 epilogues, 16 values per step with a scalar tail that follows
// the same formula. f32x4.nearest rounds half to even, as the reference does.
#include <wasm_simd128.h>

#include "kernels/requant/requant.h"

namespace qf::kernels {

void qf_requant_f32__wasmsimd(size_t n, const int32_t* acc, const float* scale, const float* bias,
                              float* out) {
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const v128_t x = wasm_f32x4_convert_i32x4(wasm_v128_load(acc + j));
    const v128_t scaled = wasm_f32x4_mul(x, wasm_v128_load(scale + j));
    wasm_v128_store(out + j, wasm_f32x4_add(scaled, wasm_v128_load(bias + j)));
  }
  qf_requant_f32__scalar(n - j, acc + j, scale + j, bias + j, out + j);
}

void qf_requant_u8__wasmsimd(size_t n, const int32_t* acc, const float* scale, const float* offset,
                             uint8_t qmin, uint8_t qmax, uint8_t* out) {
  const v128_t lo = wasm_f32x4_splat(qmin), hi = wasm_f32x4_splat(qmax);
  auto quad = [&](size_t j) {
    const v128_t x = wasm_f32x4_convert_i32x4(wasm_v128_load(acc + j));
    v128_t y =
        wasm_f32x4_add(wasm_f32x4_mul(x, wasm_v128_load(scale + j)), wasm_v128_load(offset + j));
    y = wasm_f32x4_pmin(wasm_f32x4_pmax(y, lo), hi);  // no NaN can reach here
    return wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(y));
  };
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const v128_t q01 = wasm_i16x8_narrow_i32x4(quad(j), quad(j + 4));
    const v128_t q23 = wasm_i16x8_narrow_i32x4(quad(j + 8), quad(j + 12));
    wasm_v128_store(out + j, wasm_u8x16_narrow_i16x8(q01, q23));
  }
  qf_requant_u8__scalar(n - j, acc + j, scale + j, offset + j, qmin, qmax, out + j);
}

}  // namespace qf::kernels
