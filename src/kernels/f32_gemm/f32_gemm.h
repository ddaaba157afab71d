// Float GEMM for backward passes (weight and input gradients): the reference, the
// portable and SIMD variants, an Eigen variant kept as an independent check, and their
// registry. Row-major only, no packing kept between calls; the integer forward path is
// kernels/u8s8_gemm, not this.
//
// Numeric definition, for every variant, within float rounding:
//   C = op(A) * op(B)          (accumulate == false; C's old contents are never read)
//   C = C + op(A) * op(B)      (accumulate == true; gradients add up over a batch)
// op(X) = X for Trans::kNo, X^T for Trans::kYes; op(A) is m x k, op(B) is k x n, C is
// m x n. The reference fixes one summation order (qf_f32_gemm__ref). The variants layers
// use (F32GemmFor: qf_f32_gemm__scalar, qf_f32_gemm__wasmsimd) give the reference's bits
// for every input, so that one seed trains the same model in either wasm build; NaN payloads
// are the one thing left open (IEEE 754 and WebAssembly do not fix which NaN an operation
// on NaNs returns). qf_f32_gemm__eigen blocks and reorders the k + 1 terms (C_old and the
// k products): it agrees within rounding, not bit for bit. The tests hold every variant to
// |err| <= 4 * FLT_EPSILON * sqrt(k + 1) * (|C_old| + sum_p |a_ip * b_pj|), and the
// exact ones to the reference's bits.
//
// Storage (row-major, leading dimensions in elements, not bytes):
//   A: ta == kNo ? m rows x k cols (lda >= k) : k rows x m cols (lda >= m)
//   B: tb == kNo ? k rows x n cols (ldb >= n) : n rows x k cols (ldb >= k)
//   C: m rows x n cols (ldc >= n)
// Only those rows x cols are read or written; elements between a row's last column and
// the next row are never touched. C must not overlap A or B. Any of m, n, k may be 0
// (k == 0 gives C = 0, or C = C + 0 when accumulating: C's values, a -0 turned into +0,
// as the reference's empty sum s = +0 gives; Eigen leaves a -0). Buffers are borrowed
// for the call; kernels allocate only their own scratch (each variant says what).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"

namespace qf::kernels {

enum class Trans : uint8_t {
  kNo,   // op(X) = X
  kYes,  // op(X) = X^T
};

using F32GemmFn = void (*)(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a,
                           size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                           bool accumulate);

// The specification: for each C[i][j], a float sum s = 0; s += op(A)[i][p] * op(B)[p][j]
// for p = 0, 1, ..., k-1 in that order (each product and each sum rounded to float; no
// fused multiply-add, the build uses -ffp-contract=off); then C[i][j] = s, or
// C[i][j] = C[i][j] + s when accumulating. Never optimized.
void qf_f32_gemm__ref(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a, size_t lda,
                      const float* b, size_t ldb, float* c, size_t ldc, bool accumulate);

// For the exact variants: C as the reference leaves it when k == 0, an empty sum s = +0:
// C = +0, or C = C + (+0) when accumulating (which turns a -0 into +0).
void F32GemmEmptySum(size_t m, size_t n, float* c, size_t ldc, bool accumulate);

// Portable C++, bit for bit qf_f32_gemm__ref for every input: each output row's
// non-zero terms of one operand (op(A)'s, or op(B)'s in the transposed form) run over
// register tiles of 4 independent chains in p order; skipping a zero term is exact (as in
// the wasmsimd variant) except against an Inf or NaN, where nothing is skipped. What
// F32GemmFor gives for Isa::kScalar: the no-SIMD wasm build and the native build.
// Allocates a packed block of the streamed operand (<= 128 KiB), one row's terms, and
// partial sums (m x n) when accumulating over a k split into blocks (which needs k > 512).
void qf_f32_gemm__scalar(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a,
                         size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                         bool accumulate);

// Eigen 3.4's blocked GEMM over Maps of the caller's buffers (no copies). Within rounding
// of the reference, not bit for bit (its blocking reorders each sum), so never what
// F32GemmFor picks: it stays registered as an independent oracle for the tests and a
// yardstick for the benchmarks. Portable C++ without intrinsics, hence Isa::kScalar;
// Eigen 3.4 has no wasm SIMD packet path, so in the wasm builds its inner kernel runs as
// scalar code.
void qf_f32_gemm__eigen(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a,
                        size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                        bool accumulate);

#if defined(QF_HAVE_WASMSIMD)
// WebAssembly SIMD128, skipping the zero terms of one operand (backward passes multiply
// by mostly-zero gradients). Bit for bit qf_f32_gemm__ref, for every input: the zero
// terms it skips change no sum, and it hands calls where a skipped 0 would have met an
// Inf or NaN to the reference (wasmsimd.cc). Allocates a transposed copy of the operand
// it streams when that is not stored as rows, a transposed panel (<= 256 KiB) of the
// one it splats when that is not, and partial sums (m x n) when p needs several panels.
// Runs on the thread pool (core/thread_pool.h) past a threshold of estimated work, by
// pieces of one operand's rows; the same bytes at any thread count.
void qf_f32_gemm__wasmsimd(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a,
                           size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                           bool accumulate);
#endif

struct F32GemmKernel {
  const char* name;
  Isa isa;
  F32GemmFn fn;
  bool exact;  // bit for bit qf_f32_gemm__ref for every input (NaN payloads aside)
};

// Every float GEMM compiled into this build, for tests and benchmarks.
Span<F32GemmKernel> F32GemmKernels();

// The float GEMM layers use for `isa`: the reference for Isa::kRef, otherwise the
// fastest exact variant of that ISA (qf_f32_gemm__scalar when the build has none of its
// own), spread over the thread pool (core/thread_pool.h): the scalar one in slices of
// whole rows or columns of C, the wasmsimd one by itself; exact at any thread count.
// Never Eigen. Never null.
F32GemmFn F32GemmFor(Isa isa);

}  // namespace qf::kernels
