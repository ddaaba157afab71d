// WebAssembly SIMD128 u8 x s8 GEMM microkernels on the packed layout (MRx8, KR = 2).
//
// Per k pair, the two int16 activations of a row are splatted across the vector
// ([a0 a1 a0 a1 ...]) and i32x4.dot_i16x8 against the packed pair of each column gives
// a0*b0 + a1*b1 per int32 lane: exact (|pair sum| <= 65280) and no horizontal
// reduction at the end. B is widened from int8 with a sign-extending load.
#include <wasm_simd128.h>

#include <cstring>

#include "kernels/u8s8_gemm/u8s8_gemm.h"

namespace qf::kernels {
namespace {

template <size_t MR>
void GemmMx8c2(size_t mr, size_t nc, size_t kc, const int16_t* a, size_t a_stride, const int8_t* w,
               int32_t* c, size_t c_stride) {
  const int16_t* ar[MR];
  for (size_t i = 0; i < MR; i++) ar[i] = a + (i < mr ? i : 0) * a_stride;

  v128_t lo[MR], hi[MR];  // columns 0..3 and 4..7 of each row
  for (size_t i = 0; i < MR; i++) lo[i] = hi[i] = wasm_i32x4_const(0, 0, 0, 0);

  for (size_t k = 0; k < kc; k += 2) {
    const v128_t b0123 = wasm_i16x8_load8x8(w);
    const v128_t b4567 = wasm_i16x8_load8x8(w + 8);
    w += 16;
    for (size_t i = 0; i < MR; i++) {
      const v128_t va = wasm_v128_load32_splat(ar[i] + k);
      lo[i] = wasm_i32x4_add(lo[i], wasm_i32x4_dot_i16x8(va, b0123));
      hi[i] = wasm_i32x4_add(hi[i], wasm_i32x4_dot_i16x8(va, b4567));
    }
  }

  if (nc == 8) {
    for (size_t i = 0; i < mr; i++) {
      wasm_v128_store(c + i * c_stride, lo[i]);
      wasm_v128_store(c + i * c_stride + 4, hi[i]);
    }
  } else {
    for (size_t i = 0; i < mr; i++) {
      int32_t row[8];
      wasm_v128_store(row, lo[i]);
      wasm_v128_store(row + 4, hi[i]);
      std::memcpy(c + i * c_stride, row, nc * sizeof(int32_t));
    }
  }
}

}  // namespace

void qf_u8s8_gemm_1x8c2__wasmsimd(size_t mr, size_t nc, size_t kc, const int16_t* a,
                                  size_t a_stride, const int8_t* w, int32_t* c, size_t c_stride) {
  GemmMx8c2<1>(mr, nc, kc, a, a_stride, w, c, c_stride);
}

void qf_u8s8_gemm_4x8c2__wasmsimd(size_t mr, size_t nc, size_t kc, const int16_t* a,
                                  size_t a_stride, const int8_t* w, int32_t* c, size_t c_stride) {
  GemmMx8c2<4>(mr, nc, kc, a, a_stride, w, c, c_stride);
}

}  // namespace qf::kernels
