// Packing for the table-lookup GEMM: int8 weights into bit-plane index panels, and the
// per-row tables of activation partial sums. Layouts are documented in lut_gemm.h.
#include <cstring>

#include "core/check.h"
#include "kernels/lut_gemm/lut_gemm.h"

namespace qf::kernels {

size_t LutPackedWeightsSize(size_t k, size_t n, int bits) {
  const size_t panels = (n + kLutNr - 1) / kLutNr;
  return panels * LutGroups(k) * size_t(bits) * 2 * kLutNr;
}

void PackLutWeights(size_t k, size_t n, int bits, const int8_t* b, size_t ldb, uint8_t* packed) {
  QF_CHECK(bits == 2 || bits == 3);
  const size_t groups = LutGroups(k), plane_bytes = 2 * kLutNr;
  const size_t panel_bytes = groups * size_t(bits) * plane_bytes;
  for (size_t q = 0; q * kLutNr < n; q++) {
    uint8_t* panel = packed + q * panel_bytes;
    for (size_t t = 0; t < groups; t++) {
      for (int p = 0; p < bits; p++) {
        uint8_t* out = panel + (t * size_t(bits) + size_t(p)) * plane_bytes;
        for (size_t j = 0; j < kLutNr; j++) {
          unsigned e = 0;
          for (size_t r = 0; r < kLutGroup; r++) {
            const size_t kk = t * kLutGroup + r, col = q * kLutNr + j;
            if (kk >= k || col >= n) continue;
            const int w = b[kk * ldb + col];
            QF_DCHECK(w >= -(1 << (bits - 1)) && w < (1 << (bits - 1)));
            e |= ((unsigned(w) >> p) & 1u) << r;  // two's complement bit p
          }
          out[(j / 8) * 16 + 2 * (j % 8)] = uint8_t(2 * e);
          out[(j / 8) * 16 + 2 * (j % 8) + 1] = uint8_t(2 * e + 1);
        }
      }
    }
  }
}

void qf_lut_tables__scalar(size_t rows, size_t k, int bits, const int16_t* a, size_t a_stride,
                           int16_t* tables) {
  const size_t groups = LutGroups(k), stride = LutTableStride(k, bits);
  for (size_t i = 0; i < rows; i++) {
    const int16_t* ai = a + i * a_stride;
    int16_t* ti = tables + i * stride;
    for (size_t t = 0; t < groups; t++) {
      const int a0 = ai[3 * t], a1 = ai[3 * t + 1], a2 = ai[3 * t + 2];
      for (int p = 0; p < bits; p++) {
        const int scale = p == bits - 1 ? -(1 << p) : (1 << p);  // the sign plane is negative
        for (int e = 0; e < 8; e++) {
          const int sum = (e & 1 ? a0 : 0) + (e & 2 ? a1 : 0) + (e & 4 ? a2 : 0);
          ti[(t * size_t(bits) + size_t(p)) * 8 + size_t(e)] = int16_t(scale * sum);
        }
      }
    }
  }
}

}  // namespace qf::kernels
