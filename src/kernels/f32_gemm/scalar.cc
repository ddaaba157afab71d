// Portable float GEMM, bit for bit the reference: each output row's non-zero terms of
// one operand listed once, then run over register tiles of 4 outputs of that row, each
// output its own float chain over p in increasing order. What the no-SIMD wasm build and
// the native build run; no intrinsics.
//
// Every element is the reference's sum (f32_gemm.h): s = +0, s += op(A)[i][p] *
// op(B)[p][j] for p = 0, 1, ..., k-1, then C = s or C = C + s. A tile's 4 chains are 4
// independent accumulators; p is the innermost loop, so no chain is split or reordered.
// The terms whose factor from the "splatted" operand is +-0 are left out. That changes no
// bit, as in qf_f32_gemm__wasmsimd: under round to nearest a sum is -0 only when both
// addends are -0, so s, starting at +0, is never -0, and s + (+-0) == s. It holds while
// the other factor is finite (0 * Inf is NaN): over a block of the streamed operand with
// an Inf or NaN, nothing is skipped.
//
// Two forms of the same product; a call takes the one with fewer terms to run:
//   rows form     C   = op(A) op(B)         (splat op(A): its zeros are skipped)
//   columns form  C^T = op(B)^T op(A)^T     (splat op(B): its zeros are skipped)
// The columns form multiplies b * a where the reference multiplies a * b: the same float.
// The streamed operand is copied into panels of 4 columns, a block of depth and columns
// at a time (at most kBlockBudget floats, so that it stays in cache while every output
// row passes over it); each row's terms are listed once per block. A chain crossing depth
// blocks waits in C (or, when accumulating, in scratch) in between: it continues from
// that float, which keeps it the single chain in p order.
#include <algorithm>
#include <cstdint>
#include <memory>

#include "kernels/f32_gemm/f32_gemm.h"

namespace qf::kernels {
namespace {

// Register tile: one output row, kNr columns (kNr independent chains). One row skips
// every zero term (a taller tile can skip a step only where all its rows are zero). In the
// no-SIMD wasm build, on lenet's and resnet8's backward shapes (bench/f32_gemm_shapes.cc),
// 1 x 4 measured faster than 1 x 2 and 1 x 8, and than 2 x 4, 4 x 2 and 4 x 4 tiles
// skipping the steps where the whole tile's factors are zero.
constexpr size_t kNr = 4;
constexpr size_t kBlockBudget = 32 * 1024;  // floats of the streamed operand per block
constexpr size_t kBlockWidth = 64;          // columns per block, at least (when X has them)

// The problem both forms reduce to:
//   out(r, q) = [out(r, q) +] sum over p < depth of S(r, p) * X(p, q),
// with S(r, p) = s[r * s_rs + p * s_cs], X(p, q) = x[p * x_rs + q * x_cs] and out(r, q)
// at c[r * c_rs + q * c_cs].
struct Problem {
  size_t rows, cols, depth;
  const float* s;
  size_t s_rs, s_cs;
  const float* x;
  size_t x_rs, x_cs;
  float* c;
  size_t c_rs, c_cs;
  bool accumulate;
};

// A kept step of one row of S: its offset in the depth block, and S's value there.
struct Term {
  uint32_t t;
  float v;
};

size_t Panels(size_t n, size_t tile) { return (n + tile - 1) / tile; }

// The non-zero elements of a rows x cols matrix stored rows `ld` apart, whatever it
// stands for: what each form's work is estimated from. Branch-free.
size_t NonZero(const float* x, size_t rows, size_t cols, size_t ld) {
  size_t count = 0;
  for (size_t i = 0; i < rows; i++) {
    for (size_t j = 0; j < cols; j++) count += x[i * ld + j] != 0.0f;
  }
  return count;
}

// X's block of depth [p0, p0 + d) and columns [q0, q0 + width) as width / kNr panels of
// d x kNr floats, columns past `cols` zero: panel g holds X(p0 + t, q0 + g * kNr + j) at
// [g * d * kNr + t * kNr + j]. Returns whether the block is finite (no Inf, no NaN):
// whether skipping S's zero terms over it is exact.
bool PackX(const Problem& pr, size_t p0, size_t d, size_t q0, size_t width, float* out) {
  bool finite = true;
  for (size_t g = 0; g < width / kNr; g++) {
    const size_t q = q0 + g * kNr, qn = q < pr.cols ? std::min(kNr, pr.cols - q) : 0;
    float* panel = out + g * d * kNr;
    for (size_t t = 0; t < d; t++) {
      const float* row = pr.x + (p0 + t) * pr.x_rs + q * pr.x_cs;
      for (size_t j = 0; j < kNr; j++) {
        const float v = j < qn ? row[j * pr.x_cs] : 0.0f;
        panel[t * kNr + j] = v;
        finite &= v - v == 0.0f;  // false for Inf and NaN
      }
    }
  }
  return finite;
}

// Row r of S over the depth block [p0, p0 + d) as terms, in increasing t; with `skip`,
// only the non-zero ones. Branch-free: the zeros fall where the data puts them. Returns
// how many.
size_t PackS(const Problem& pr, size_t r, size_t p0, size_t d, bool skip, Term* out) {
  const float* s = pr.s + r * pr.s_rs + p0 * pr.s_cs;
  size_t n = 0;
  for (size_t t = 0; t < d; t++) {
    const float v = s[t * pr.s_cs];
    out[n] = Term{uint32_t(t), v};
    n += !skip || v != 0.0f;
  }
  return n;
}

// acc[j] += terms[i].v * x[terms[i].t][j] for i = 0, 1, ..., n-1 in that order: kNr
// independent chains, each product and sum rounded to float (no contraction: the build
// uses -ffp-contract=off).
void Tile(const Term* terms, size_t n, const float* x, float (&acc)[kNr]) {
  float c[kNr];
  for (size_t j = 0; j < kNr; j++) c[j] = acc[j];
  for (size_t i = 0; i < n; i++) {
    const float v = terms[i].v;
    const float* xt = x + size_t(terms[i].t) * kNr;
    for (size_t j = 0; j < kNr; j++) c[j] += v * xt[j];
  }
  for (size_t j = 0; j < kNr; j++) acc[j] = c[j];
}

void Run(const Problem& pr) {
  // Blocks of X within kBlockBudget floats: as deep as the budget allows at kBlockWidth
  // columns (or all of X's, if fewer), then as wide as it allows at that depth. A chain
  // is split across blocks only where its depth exceeds kBlockBudget / kBlockWidth.
  const size_t all = Panels(pr.cols, kNr) * kNr;
  const size_t depth = std::min(pr.depth, kBlockBudget / std::min(all, kBlockWidth));
  const size_t width = std::min(all, kBlockBudget / depth / kNr * kNr);
  const bool blocked = depth < pr.depth;
  // Scratch, not zero-filled, as every read follows a write: PackX writes the whole
  // panels Tile reads; PackS writes terms[n] before n counts it; the first depth block
  // (never skipped, and not the last when blocked) ends every chain of its columns in
  // `partials`, which later blocks read. Where chains wait between depth blocks: C
  // itself, unless C's old value is still to be added.
  std::unique_ptr<float[]> x_pack(new float[depth * width]);
  std::unique_ptr<Term[]> terms(new Term[depth]);
  const bool waits = blocked && pr.accumulate;
  std::unique_ptr<float[]> partials(new float[waits ? pr.rows * pr.cols : 0]);
  for (size_t q_begin = 0; q_begin < pr.cols; q_begin += width) {
    const size_t q_end = std::min(pr.cols, q_begin + width);
    for (size_t p0 = 0; p0 < pr.depth; p0 += depth) {
      const size_t d = std::min(depth, pr.depth - p0);
      const bool first = p0 == 0, last = p0 + d == pr.depth;
      const bool skip = PackX(pr, p0, d, q_begin, Panels(q_end - q_begin, kNr) * kNr, x_pack.get());
      for (size_t r = 0; r < pr.rows; r++) {
        const size_t n = PackS(pr, r, p0, d, skip, terms.get());
        if (n == 0 && !first && !last) continue;  // the waiting chains stand
        float* out = pr.c + r * pr.c_rs;
        float* wait = waits ? partials.get() + r * pr.cols : nullptr;
        for (size_t q0 = q_begin; q0 < q_end; q0 += kNr) {
          const size_t qn = std::min(kNr, q_end - q0);
          float acc[kNr] = {};  // +0: every chain starts there
          if (!first) {
            for (size_t j = 0; j < qn; j++) acc[j] = wait ? wait[q0 + j] : out[(q0 + j) * pr.c_cs];
          }
          Tile(terms.get(), n, x_pack.get() + (q0 - q_begin) * d, acc);
          for (size_t j = 0; j < qn; j++) {
            float& o = out[(q0 + j) * pr.c_cs];
            if (!last) {
              (wait ? wait[q0 + j] : o) = acc[j];
            } else {
              o = pr.accumulate ? o + acc[j] : acc[j];
            }
          }
        }
      }
    }
  }
}

}  // namespace

void qf_f32_gemm__scalar(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a,
                         size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                         bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) return F32GemmEmptySum(m, n, c, ldc, accumulate);
  // Element strides of op(A) (m x k) and op(B) (k x n).
  const size_t a_rs = ta == Trans::kNo ? lda : 1, a_cs = ta == Trans::kNo ? 1 : lda;
  const size_t b_rs = tb == Trans::kNo ? ldb : 1, b_cs = tb == Trans::kNo ? 1 : ldb;
  // Each form's work: the terms it keeps, each run over every column tile.
  const bool a_t = ta == Trans::kYes, b_t = tb == Trans::kYes;
  const size_t rows_cost = NonZero(a, a_t ? k : m, a_t ? m : k, lda) * Panels(n, kNr);
  const size_t columns_cost = NonZero(b, b_t ? n : k, b_t ? k : n, ldb) * Panels(m, kNr);
  if (rows_cost <= columns_cost) {
    Run({m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, 1, accumulate});
  } else {
    Run({n, m, k, b, b_cs, b_rs, a, a_cs, a_rs, c, 1, ldc, accumulate});
  }
}

}  // namespace qf::kernels
