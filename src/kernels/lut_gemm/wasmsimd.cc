// WebAssembly SIMD128 table-lookup GEMM microkernels (MR x 16, groups of 3 depths) and
// the table builder. The method and its bounds are in lut_gemm.h.
//
// Per group and plane, two index vectors (columns 0..7, 8..15) are loaded once for the
// MR rows; per row, the plane's table (8 int16) is loaded once and looked up twice with
// i8x16.swizzle, each result added to int16 accumulators. Every LutFlushGroups(BITS)
// groups the int16 accumulators are widened into int32 ones (exact: lut_gemm.h).
#include <wasm_simd128.h>

#include <algorithm>
#include <cstring>

#include "kernels/lut_gemm/lut_gemm.h"

namespace qf::kernels {
namespace {

template <size_t MR, int BITS>
void GemmMx16(size_t mr, size_t nc, size_t groups, const int16_t* tables, size_t table_stride,
              const uint8_t* w, int32_t* c, size_t c_stride) {
  constexpr size_t kFlush = LutFlushGroups(BITS);
  const int16_t* tr[MR];
  // Rows past mr reuse row 0: computed, never stored.
  for (size_t i = 0; i < MR; i++) tr[i] = tables + (i < mr ? i : 0) * table_stride;

  v128_t acc[MR][4];
  for (size_t i = 0; i < MR; i++) {
    for (size_t q = 0; q < 4; q++) acc[i][q] = wasm_i32x4_const(0, 0, 0, 0);
  }
  for (size_t t0 = 0; t0 < groups; t0 += kFlush) {
    const size_t t1 = std::min(groups, t0 + kFlush);
    v128_t lo[MR], hi[MR];  // columns 0..7 and 8..15, int16
    for (size_t i = 0; i < MR; i++) lo[i] = hi[i] = wasm_i16x8_const(0, 0, 0, 0, 0, 0, 0, 0);
    for (size_t t = t0; t < t1; t++) {
      for (int p = 0; p < BITS; p++) {
        const v128_t idx0 = wasm_v128_load(w);
        const v128_t idx1 = wasm_v128_load(w + 16);
        w += 32;
        for (size_t i = 0; i < MR; i++) {
          const v128_t table = wasm_v128_load(tr[i]);
          tr[i] += 8;
          lo[i] = wasm_i16x8_add(lo[i], wasm_i8x16_swizzle(table, idx0));
          hi[i] = wasm_i16x8_add(hi[i], wasm_i8x16_swizzle(table, idx1));
        }
      }
    }
    for (size_t i = 0; i < MR; i++) {
      acc[i][0] = wasm_i32x4_add(acc[i][0], wasm_i32x4_extend_low_i16x8(lo[i]));
      acc[i][1] = wasm_i32x4_add(acc[i][1], wasm_i32x4_extend_high_i16x8(lo[i]));
      acc[i][2] = wasm_i32x4_add(acc[i][2], wasm_i32x4_extend_low_i16x8(hi[i]));
      acc[i][3] = wasm_i32x4_add(acc[i][3], wasm_i32x4_extend_high_i16x8(hi[i]));
    }
  }

  for (size_t i = 0; i < mr; i++) {
    if (nc == kLutNr) {
      for (size_t q = 0; q < 4; q++) wasm_v128_store(c + i * c_stride + 4 * q, acc[i][q]);
    } else {
      int32_t row[kLutNr];
      for (size_t q = 0; q < 4; q++) wasm_v128_store(row + 4 * q, acc[i][q]);
      std::memcpy(c + i * c_stride, row, nc * sizeof(int32_t));
    }
  }
}

template <int BITS>
void Tables(size_t rows, size_t k, const int16_t* a, size_t a_stride, int16_t* tables) {
  const size_t groups = LutGroups(k), stride = LutTableStride(k, BITS);
  // Entry e of the table takes a[r] where bit r of e is set.
  const v128_t m0 = wasm_i16x8_const(0, -1, 0, -1, 0, -1, 0, -1);
  const v128_t m1 = wasm_i16x8_const(0, 0, -1, -1, 0, 0, -1, -1);
  const v128_t m2 = wasm_i16x8_const(0, 0, 0, 0, -1, -1, -1, -1);
  for (size_t i = 0; i < rows; i++) {
    const int16_t* ai = a + i * a_stride;
    int16_t* ti = tables + i * stride;
    for (size_t t = 0; t < groups; t++) {
      const v128_t sum =
          wasm_i16x8_add(wasm_i16x8_add(wasm_v128_and(wasm_v128_load16_splat(ai), m0),
                                        wasm_v128_and(wasm_v128_load16_splat(ai + 1), m1)),
                         wasm_v128_and(wasm_v128_load16_splat(ai + 2), m2));
      ai += 3;
      for (int p = 0; p + 1 < BITS; p++) {
        wasm_v128_store(ti, wasm_i16x8_shl(sum, p));
        ti += 8;
      }
      wasm_v128_store(ti, wasm_i16x8_neg(wasm_i16x8_shl(sum, BITS - 1)));  // the sign plane
      ti += 8;
    }
  }
}

}  // namespace

void qf_lut_tables__wasmsimd(size_t rows, size_t k, int bits, const int16_t* a, size_t a_stride,
                             int16_t* tables) {
  if (bits == 2) {
    Tables<2>(rows, k, a, a_stride, tables);
  } else {
    Tables<3>(rows, k, a, a_stride, tables);
  }
}

#define QF_LUT_GEMM_WASMSIMD(MR, BITS)                                                             \
  void qf_lut_gemm_##MR##x16g3b##BITS##__wasmsimd(size_t mr, size_t nc, size_t groups,             \
                                                  const int16_t* tables, size_t table_stride,      \
                                                  const uint8_t* w, int32_t* c, size_t c_stride) { \
    GemmMx16<MR, BITS>(mr, nc, groups, tables, table_stride, w, c, c_stride);                      \
  }
QF_LUT_GEMM_WASMSIMD(1, 2)
QF_LUT_GEMM_WASMSIMD(2, 2)
QF_LUT_GEMM_WASMSIMD(4, 2)
QF_LUT_GEMM_WASMSIMD(1, 3)
QF_LUT_GEMM_WASMSIMD(2, 3)
QF_LUT_GEMM_WASMSIMD(4, 3)
#undef QF_LUT_GEMM_WASMSIMD

}  // namespace qf::kernels
