// Reference u8 x s8 GEMM: the numeric specification. Plain loops, never optimized.
#include "kernels/u8s8_gemm/u8s8_gemm.h"

namespace qf::kernels {

void qf_u8s8_gemm__ref(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda,
                       uint8_t a_zero_point, const int8_t* b, size_t ldb, int32_t* c, size_t ldc) {
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < n; j++) {
      int32_t acc = 0;
      for (size_t kk = 0; kk < k; kk++) {
        acc += (int32_t(a[i * lda + kk]) - int32_t(a_zero_point)) * int32_t(b[kk * ldb + j]);
      }
      c[i * ldc + j] = acc;
    }
  }
}

}  // namespace qf::kernels
