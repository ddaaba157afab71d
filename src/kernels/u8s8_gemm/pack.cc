// Packing for the u8 x s8 GEMM: weights into NR x KR panels, activation rows into
// zero-point-subtracted int16. Layouts are documented in u8s8_gemm.h.
#include <cstring>

#include "kernels/u8s8_gemm/u8s8_gemm.h"

namespace qf::kernels {

size_t PackedWeightsSize(size_t k, size_t n, size_t nr, size_t kr) {
  const size_t panels = (n + nr - 1) / nr;
  return panels * nr * PackedDepth(k, kr);
}

void PackWeightsS8(size_t k, size_t n, size_t nr, size_t kr, const int8_t* b, size_t ldb,
                   int8_t* packed) {
  const size_t kp = PackedDepth(k, kr);
  std::memset(packed, 0, PackedWeightsSize(k, n, nr, kr));
  for (size_t p = 0; p * nr < n; p++) {
    int8_t* panel = packed + p * nr * kp;
    for (size_t kk = 0; kk < k; kk++) {
      const size_t group = kk / kr, r = kk % kr;
      for (size_t j = 0; j < nr && p * nr + j < n; j++) {
        panel[group * nr * kr + j * kr + r] = b[kk * ldb + p * nr + j];
      }
    }
  }
}

void PackRowsU8ToS16(size_t rows, size_t k, size_t kc, const uint8_t* a, size_t lda,
                     uint8_t a_zero_point, int16_t* out) {
  const int16_t zp = a_zero_point;
  for (size_t i = 0; i < rows; i++) {
    const uint8_t* src = a + i * lda;
    int16_t* dst = out + i * kc;
    for (size_t kk = 0; kk < k; kk++) dst[kk] = int16_t(src[kk] - zp);
    for (size_t kk = k; kk < kc; kk++) dst[kk] = 0;
  }
}

}  // namespace qf::kernels
