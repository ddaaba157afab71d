// u8 x s8 -> int32 GEMM: the reference, the packed weight layout, the microkernels and
// their registry. Knows nothing of layers or models; requantization lives in
// kernels/requant, tiling over whole matrices in u8s8_gemm/driver.h.
//
// Numeric definition (for every variant, exactly):
//   C[i][j] = sum_k (A[i][k] - a_zero_point) * B[k][j]      (int32 accumulation)
// with A uint8 (m x k), B int8 (k x n). Each product lies in [-32640, 32640] and each
// pair sum fits easily, so int32 never overflows for k <= 65536 (checked by drivers).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"

namespace qf::kernels {

// Largest reduction depth for which int32 accumulation is exact.
inline constexpr size_t kMaxGemmDepth = 65536;

// The specification: plain loops over row-major A (lda elements between rows),
// row-major B (ldb) and C (ldc).
void qf_u8s8_gemm__ref(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda,
                       uint8_t a_zero_point, const int8_t* b, size_t ldb, int32_t* c, size_t ldc);

// ---------------------------------------------------------------------------------
// Packed layouts shared by the microkernels.
//
// A is handed to microkernels as int16 rows holding A - a_zero_point (range
// [-255, 255]), each row zero-padded to kc, a multiple of KR. Widening once per row
// block lets the SIMD kernels feed i32x4.dot_i16x8 directly.
//
// B ("weights") is packed once into panels of NR columns. Panel p holds columns
// [p*NR, p*NR + NR); inside a panel, for each group of KR consecutive k, the NR
// columns follow each other, each with its KR values:
//   panel[(kk/KR) * NR*KR + j*KR + r] = B[kk + r][p*NR + j]
// Columns past n and depths past k are zero, so padding contributes nothing.
// ---------------------------------------------------------------------------------

// Rounds k up to the padded depth a microkernel with `kr` reads.
inline size_t PackedDepth(size_t k, size_t kr) { return (k + kr - 1) / kr * kr; }

// Bytes of packed weights for a k x n matrix.
size_t PackedWeightsSize(size_t k, size_t n, size_t nr, size_t kr);

// Packs row-major B (k x n, ldb elements between rows) into `packed`, which holds
// PackedWeightsSize(k, n, nr, kr) bytes.
void PackWeightsS8(size_t k, size_t n, size_t nr, size_t kr, const int8_t* b, size_t ldb,
                   int8_t* packed);

// Widens `rows` rows of A (k columns, lda apart) into int16 A - a_zero_point, rows
// `kc` apart, zero-filling columns [k, kc).
void PackRowsU8ToS16(size_t rows, size_t k, size_t kc, const uint8_t* a, size_t lda,
                     uint8_t a_zero_point, int16_t* out);

// Microkernel: C[0..mr) x [0..nc) = A16 (mr rows, kc deep) x one packed panel.
//  - mr in [1, MR], nc in [1, NR], kc a multiple of KR;
//  - a: int16 rows a_stride elements apart; w: the panel (kc * NR bytes);
//  - c: int32 rows c_stride elements apart. Writes exactly mr x nc values, nothing else.
using U8S8GemmUkernelFn = void (*)(size_t mr, size_t nc, size_t kc, const int16_t* a,
                                   size_t a_stride, const int8_t* w, int32_t* c, size_t c_stride);

struct U8S8GemmUkernel {
  const char* name;
  Isa isa;
  uint8_t mr, nr, kr;
  U8S8GemmUkernelFn fn;
};

void qf_u8s8_gemm_1x8c2__scalar(size_t, size_t, size_t, const int16_t*, size_t, const int8_t*,
                                int32_t*, size_t);
void qf_u8s8_gemm_4x8c2__scalar(size_t, size_t, size_t, const int16_t*, size_t, const int8_t*,
                                int32_t*, size_t);
#if defined(QF_HAVE_WASMSIMD)
void qf_u8s8_gemm_1x8c2__wasmsimd(size_t, size_t, size_t, const int16_t*, size_t, const int8_t*,
                                  int32_t*, size_t);
void qf_u8s8_gemm_4x8c2__wasmsimd(size_t, size_t, size_t, const int16_t*, size_t, const int8_t*,
                                  int32_t*, size_t);
#endif

// Every microkernel compiled into this build, for tests and benchmarks.
Span<U8S8GemmUkernel> U8S8GemmUkernels();

// The pair a driver uses for one ISA: `main` for row blocks, `m1` for single rows.
// Both share NR and KR, so one packed weight layout serves both.
struct U8S8GemmConfig {
  const U8S8GemmUkernel* main;
  const U8S8GemmUkernel* m1;
};
U8S8GemmConfig U8S8GemmConfigFor(Isa isa);

}  // namespace qf::kernels
