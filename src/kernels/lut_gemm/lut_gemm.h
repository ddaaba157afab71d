// Table-lookup u8 x s2/s3 GEMM (T-MAC style, exact): weights of 2 or 3 bits as bit
// planes, activations as per-row tables of partial sums, products replaced by lookups.
// An experiment against the int8 kernel (bench/RESULTS.md, issue 18 item 6); it computes
// exactly qf_u8s8_gemm__ref (u8s8_gemm.h) for weights in the b-bit range, nothing else.
//
// Method, for weights w in [-2^(b-1), 2^(b-1) - 1] (b = 2 or 3; quant::SignedRange):
//  - Bit planes, two's complement: w = sum_{p < b-1} 2^p w_p - 2^(b-1) w_{b-1}, w_p in {0, 1}.
//  - k is cut into groups of G = 3 consecutive depths (zero-padded to a multiple of 3).
//    For one row of a = A - a_zero_point (int16, [-255, 255]) and group t, the table
//      T_t[e] = sum_{r < 3} bit_r(e) * a[3t + r],   e in [0, 8)
//    holds the 8 partial sums (|T| <= 765), and plane p's table is T_t scaled by the
//    plane's weight (2^p, or -2^(b-1) for the sign plane): |entry| <= 3060, int16.
//  - Column j's 3 bits of plane p in group t form an index e; then
//      C[i][j] = sum_t sum_p plane_table_{i,t,p}[e_{t,p,j}]   exactly.
//  - Eight int16 entries fill one v128, so one i8x16.swizzle looks up 8 columns at once
//    when column j's index byte pair is (2e, 2e + 1): the result's int16 lanes are the
//    entries themselves (no byte planes, no widening). Hence G = 3, not 4.
//  - Accumulation: int16 lanes for at most kLutFlushGroups(b) groups (each group adds at
//    most 3 * 255 * 2^(b-1) in magnitude, so the true partial sum fits int16 and modular
//    int16 adds give it exactly), then widened into int32.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"

namespace qf::kernels {

inline constexpr size_t kLutGroup = 3;  // depths per table (8 entries)
inline constexpr size_t kLutNr = 16;    // columns per packed panel (two index vectors)

// Groups of a depth-k reduction.
inline size_t LutGroups(size_t k) { return (k + kLutGroup - 1) / kLutGroup; }
// Groups whose sum is guaranteed to fit int16: floor(32767 / (3 * 255 * 2^(b-1))).
inline constexpr size_t LutFlushGroups(int bits) { return 32767 / (3 * 255 * (1 << (bits - 1))); }

// ---------------------------------------------------------------------------------
// Packed weights ("index panels"). Panel q holds columns [16q, 16q + 16); inside it,
// for each group t and plane p, 16 bytes for columns 0..7 then 16 for columns 8..15,
// column j's pair being (2e, 2e + 1) with e its 3 bits of plane p in group t:
//   panel[(t * bits + p) * 32 + (j / 8) * 16 + 2 * (j % 8) + {0, 1}]
// Columns past n and depths past k have weight 0 (e = 0, entry 0).
// ---------------------------------------------------------------------------------
size_t LutPackedWeightsSize(size_t k, size_t n, int bits);
// b: row-major k x n int8 (ldb elements between rows), every value in the b-bit range.
void PackLutWeights(size_t k, size_t n, int bits, const int8_t* b, size_t ldb, uint8_t* packed);

// Tables of `rows` activation rows: a holds int16 A - a_zero_point, rows a_stride apart,
// zero beyond k up to 3 * LutGroups(k) (PackRowsU8ToS16 with that kc). Row i's tables
// start at tables + i * LutTableStride(k, bits): for each group t, `bits` vectors of 8
// int16 (plane 0 first).
inline size_t LutTableStride(size_t k, int bits) { return LutGroups(k) * size_t(bits) * 8; }
using LutTablesFn = void (*)(size_t rows, size_t k, int bits, const int16_t* a, size_t a_stride,
                             int16_t* tables);

// Microkernel: C[0..mr) x [0..nc) = rows' tables x one index panel, over `groups` groups.
// tables: rows table_stride int16 apart; c: int32 rows c_stride apart. Writes exactly
// mr x nc values, nothing else.
using LutGemmUkernelFn = void (*)(size_t mr, size_t nc, size_t groups, const int16_t* tables,
                                  size_t table_stride, const uint8_t* w, int32_t* c,
                                  size_t c_stride);

struct LutGemmUkernel {
  const char* name;
  Isa isa;
  uint8_t bits, mr, nr;
  LutGemmUkernelFn fn;
  LutTablesFn tables;
};

void qf_lut_tables__scalar(size_t, size_t, int, const int16_t*, size_t, int16_t*);
void qf_lut_gemm_1x16g3b2__scalar(size_t, size_t, size_t, const int16_t*, size_t, const uint8_t*,
                                  int32_t*, size_t);
void qf_lut_gemm_1x16g3b3__scalar(size_t, size_t, size_t, const int16_t*, size_t, const uint8_t*,
                                  int32_t*, size_t);
#if defined(QF_HAVE_WASMSIMD)
void qf_lut_tables__wasmsimd(size_t, size_t, int, const int16_t*, size_t, int16_t*);
void qf_lut_gemm_1x16g3b2__wasmsimd(size_t, size_t, size_t, const int16_t*, size_t, const uint8_t*,
                                    int32_t*, size_t);
void qf_lut_gemm_2x16g3b2__wasmsimd(size_t, size_t, size_t, const int16_t*, size_t, const uint8_t*,
                                    int32_t*, size_t);
void qf_lut_gemm_4x16g3b2__wasmsimd(size_t, size_t, size_t, const int16_t*, size_t, const uint8_t*,
                                    int32_t*, size_t);
void qf_lut_gemm_1x16g3b3__wasmsimd(size_t, size_t, size_t, const int16_t*, size_t, const uint8_t*,
                                    int32_t*, size_t);
void qf_lut_gemm_2x16g3b3__wasmsimd(size_t, size_t, size_t, const int16_t*, size_t, const uint8_t*,
                                    int32_t*, size_t);
void qf_lut_gemm_4x16g3b3__wasmsimd(size_t, size_t, size_t, const int16_t*, size_t, const uint8_t*,
                                    int32_t*, size_t);
#endif

// Every LUT microkernel compiled into this build, for tests and benchmarks.
Span<LutGemmUkernel> LutGemmUkernels();

// Whole matrix, one thread: C (m x n, int32, ldc) = (A - a_zero_point) * W for A uint8
// m x k (lda), W packed by PackLutWeights for uk.bits. Requires k <= kMaxGemmDepth.
void GemmU8LutI32(const LutGemmUkernel& uk, size_t m, size_t k, size_t n, const uint8_t* a,
                  size_t lda, uint8_t a_zero_point, const uint8_t* w, int32_t* c, size_t ldc);

}  // namespace qf::kernels
