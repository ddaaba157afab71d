// Portable u8 x s8 GEMM microkernels on the packed layout (MRx8, KR = 2). No
// intrinsics; this is what the no-SIMD wasm build and native builds run.
#include <cstring>

#include "kernels/u8s8_gemm/u8s8_gemm.h"

namespace qf::kernels {
namespace {

template <size_t MR>
void GemmMx8c2(size_t mr, size_t nc, size_t kc, const int16_t* a, size_t a_stride, const int8_t* w,
               int32_t* c, size_t c_stride) {
  constexpr size_t NR = 8;
  int32_t acc[MR][NR] = {};
  for (size_t k = 0; k < kc; k += 2) {
    for (size_t i = 0; i < MR; i++) {
      // Rows past mr reuse row 0: computed, never stored, keeps the loop branch-free.
      const int16_t* ai = a + (i < mr ? i : 0) * a_stride + k;
      const int32_t a0 = ai[0], a1 = ai[1];
      for (size_t j = 0; j < NR; j++) {
        acc[i][j] += a0 * int32_t(w[2 * j]) + a1 * int32_t(w[2 * j + 1]);
      }
    }
    w += 2 * NR;
  }
  for (size_t i = 0; i < mr; i++) {
    std::memcpy(c + i * c_stride, acc[i], nc * sizeof(int32_t));
  }
}

}  // namespace

void qf_u8s8_gemm_1x8c2__scalar(size_t mr, size_t nc, size_t kc, const int16_t* a, size_t a_stride,
                                const int8_t* w, int32_t* c, size_t c_stride) {
  GemmMx8c2<1>(mr, nc, kc, a, a_stride, w, c, c_stride);
}

void qf_u8s8_gemm_4x8c2__scalar(size_t mr, size_t nc, size_t kc, const int16_t* a, size_t a_stride,
                                const int8_t* w, int32_t* c, size_t c_stride) {
  GemmMx8c2<4>(mr, nc, kc, a, a_stride, w, c, c_stride);
}

}  // namespace qf::kernels
