// Portable table-lookup GEMM microkernels (1 x 16): the method of lut_gemm.h in plain
// loops, int32 accumulation. The native check of the packed layouts and tables; not
// faster than the int8 scalar kernel, and never dispatched.
#include <cstring>

#include "kernels/lut_gemm/lut_gemm.h"

namespace qf::kernels {
namespace {

template <int BITS>
void Gemm1x16(size_t mr, size_t nc, size_t groups, const int16_t* tables, size_t table_stride,
              const uint8_t* w, int32_t* c, size_t c_stride) {
  (void)mr;  // always 1
  (void)table_stride;
  int32_t acc[kLutNr] = {};
  for (size_t t = 0; t < groups; t++) {
    for (int p = 0; p < BITS; p++) {
      const int16_t* table = tables + (t * BITS + p) * 8;
      const uint8_t* idx = w + (t * BITS + p) * 2 * kLutNr;
      for (size_t j = 0; j < kLutNr; j++) acc[j] += table[idx[2 * j] / 2];
    }
  }
  std::memcpy(c, acc, nc * sizeof(int32_t));
  (void)c_stride;
}

}  // namespace

void qf_lut_gemm_1x16g3b2__scalar(size_t mr, size_t nc, size_t groups, const int16_t* tables,
                                  size_t table_stride, const uint8_t* w, int32_t* c,
                                  size_t c_stride) {
  Gemm1x16<2>(mr, nc, groups, tables, table_stride, w, c, c_stride);
}

void qf_lut_gemm_1x16g3b3__scalar(size_t mr, size_t nc, size_t groups, const int16_t* tables,
                                  size_t table_stride, const uint8_t* w, int32_t* c,
                                  size_t c_stride) {
  Gemm1x16<3>(mr, nc, groups, tables, table_stride, w, c, c_stride);
}

}  // namespace qf::kernels
