// Reference float GEMM: the numeric specification of f32_gemm.h, plain loops in k
// order. Never optimized; the tests measure every other variant against a double loop.
#include "kernels/f32_gemm/f32_gemm.h"

namespace qf::kernels {

void qf_f32_gemm__ref(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a, size_t lda,
                      const float* b, size_t ldb, float* c, size_t ldc, bool accumulate) {
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < n; j++) {
      float sum = 0.0f;
      for (size_t p = 0; p < k; p++) {
        const float aip = ta == Trans::kNo ? a[i * lda + p] : a[p * lda + i];
        const float bpj = tb == Trans::kNo ? b[p * ldb + j] : b[j * ldb + p];
        const float product = aip * bpj;
        sum += product;
      }
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
    }
  }
}

void F32GemmEmptySum(size_t m, size_t n, float* c, size_t ldc, bool accumulate) {
  for (size_t i = 0; i < m; i++) {
    for (float* e = c + i * ldc; e < c + i * ldc + n; e++) *e = accumulate ? *e + 0.0f : 0.0f;
  }
}

}  // namespace qf::kernels
