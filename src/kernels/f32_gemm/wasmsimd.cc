// WebAssembly SIMD128 float GEMM that skips zero terms. The backward pass multiplies by
// output gradients that ReLU and max-pool leave mostly at exactly zero (about 80 % on
// LeNet), and Eigen 3.4 has no wasm SIMD path.
//
// Every element is the reference's sum (f32_gemm.h): s = +0, s += op(A)[i][p] *
// op(B)[p][j] for p in increasing order, then C = s or C = C + s, with the terms whose
// "splatted" factor (below) is zero left out. Leaving out a +-0 term changes no bit:
// under round to nearest a sum is -0 only when both addends are -0, so s, starting at +0,
// is never -0, and s + (+-0) == s. The vectors run across independent elements, never
// along p, so results are bit for bit the reference's. One exception is handled by
// handing the call to the reference: an Inf or NaN in the streamed operand, where the
// reference's 0 * Inf = NaN would be skipped here.
//
// Two forms of the same product; a call takes the one with less estimated work (Cost):
//   rows form     C row i    = sum_p op(A)[i][p] * op(B) row p      (splat op(A))
//   columns form  C column j = sum_p op(B)[p][j] * op(A) column p   (splat op(B))
// The streamed rows (op(B)'s, or op(A)'s columns) are read as 4-float vectors, 32 floats
// of one output row held in registers; they are used in place when contiguous and
// packed once otherwise. A splatted operand whose rows are columns in storage is
// transposed into scratch a panel at a time. p is split into panels that fit in cache
// (kStreamBudget); partial sums wait in scratch between panels, which keeps each
// element's single chain in p order.
//
// Threads (core/thread_pool.h): the census and the packing go by pieces of rows, the
// products by pieces of the splatted operand's rows, so no work is done twice and each
// element of C is one task's; the same bytes at any thread count.
#include <wasm_simd128.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

#include "core/thread_pool.h"
#include "kernels/census_wasmsimd.h"
#include "kernels/f32_gemm/f32_gemm.h"

namespace qf::kernels {
namespace {

constexpr size_t kMaxVectors = 8;            // 32 floats of an output row in registers
constexpr size_t kStreamBudget = 64 * 1024;  // floats of streamed rows per panel (256 KiB)

struct Term {
  uint32_t p;  // the depth index
  float v;     // the splatted factor, non-zero
};

// The problem both forms reduce to, over `rows` output rows of `cols` elements:
//   out(r, q) = [out(r, q) +] sum over p < depth of S(r, p) * X(p, q), zero S skipped,
// with S(r, p) = s[r * s_rs + p * s_cs], X row p at x + p * ldx (cols contiguous floats)
// and out(r, q) at c[r * c_rs + q * c_cs].
struct Problem {
  size_t rows, cols, depth;
  const float* s;
  size_t s_rs, s_cs;
  const float* x;
  size_t ldx;
  float* c;
  size_t c_rs, c_cs;
  bool accumulate;
};

// The panel length over p: the panel's streamed rows, and the splatted operand's panel
// when that is transposed into scratch, stay within kStreamBudget floats.
size_t PanelOf(const Problem& pr) {
  const size_t w = std::max(pr.cols, pr.s_cs == 1 ? 0 : pr.rows);
  return pr.depth * w <= kStreamBudget ? pr.depth : std::max<size_t>(8, kStreamBudget / w);
}

// t = x^T for the rows x cols matrix x (rows ld apart): cols rows of t, ldt apart. In
// 16 x 16 tiles, so that reads and writes both stay within a few cache lines.
constexpr size_t kTile = 16;
void Transpose(const float* x, size_t rows, size_t cols, size_t ld, float* t, size_t ldt) {
  for (size_t i0 = 0; i0 < rows; i0 += kTile) {
    const size_t i1 = std::min(rows, i0 + kTile);
    for (size_t j0 = 0; j0 < cols; j0 += kTile) {
      const size_t j1 = std::min(cols, j0 + kTile);
      for (size_t i = i0; i < i1; i++) {
        for (size_t j = j0; j < j1; j++) t[j * ldt + i] = x[i * ld + j];
      }
    }
  }
}
void Transpose(const float* x, size_t rows, size_t cols, size_t ld, float* t) {
  Transpose(x, rows, cols, ld, t, rows);
}

// The same on the thread pool, by pieces of x's rows (whole cache lines of each row of t).
void TransposeOnPool(const float* x, size_t rows, size_t cols, size_t ld, float* t) {
  const size_t grain = std::max<size_t>(kTile, kParallelElements / std::max<size_t>(cols, 1));
  ParallelForPieces(rows, grain / kTile * kTile, [&](size_t r0, size_t r1) {
    Transpose(x + r0 * ld, r1 - r0, cols, ld, t + r0, rows);
  });
}

// Ends one element's chain in the output: C = s, or C = C + s when accumulating.
void Finish(const Problem& pr, float* out, float sum) { *out = pr.accumulate ? *out + sum : sum; }

// One panel's share of one output row, for V vectors of lanes from column q0: the chains
// start at +0 (first panel) or at the partial sums in `partial`, and end in `partial`
// (more panels follow) or in the output (last panel).
template <size_t V>
void RowVectors(const Problem& pr, const Term* terms, size_t n_terms, size_t r, size_t q0,
                bool first, bool last, float* partial) {
  v128_t acc[V];
  for (size_t v = 0; v < V; v++) {
    acc[v] = first ? wasm_f32x4_splat(0.0f) : wasm_v128_load(partial + q0 + 4 * v);
  }
  const float* x = pr.x + q0;
  for (size_t t = 0; t < n_terms; t++) {
    const v128_t factor = wasm_f32x4_splat(terms[t].v);
    const float* row = x + size_t(terms[t].p) * pr.ldx;
    for (size_t v = 0; v < V; v++) {
      acc[v] = wasm_f32x4_add(acc[v], wasm_f32x4_mul(factor, wasm_v128_load(row + 4 * v)));
    }
  }
  if (!last) {
    for (size_t v = 0; v < V; v++) wasm_v128_store(partial + q0 + 4 * v, acc[v]);
    return;
  }
  float* out = pr.c + r * pr.c_rs + q0 * pr.c_cs;
  if (pr.c_cs == 1) {
    for (size_t v = 0; v < V; v++) {
      const v128_t sum =
          pr.accumulate ? wasm_f32x4_add(wasm_v128_load(out + 4 * v), acc[v]) : acc[v];
      wasm_v128_store(out + 4 * v, sum);
    }
    return;
  }
  float lanes[4 * V];
  for (size_t v = 0; v < V; v++) wasm_v128_store(lanes + 4 * v, acc[v]);
  for (size_t l = 0; l < 4 * V; l++) Finish(pr, out + l * pr.c_cs, lanes[l]);
}

// Tiles of V vectors from column q while they fit, then narrower ones; returns the first
// column left (cols % 4 of them).
template <size_t V>
size_t RowTiles(const Problem& pr, const Term* terms, size_t n_terms, size_t r, size_t q,
                bool first, bool last, float* partial) {
  for (; q + 4 * V <= pr.cols; q += 4 * V) {
    RowVectors<V>(pr, terms, n_terms, r, q, first, last, partial);
  }
  if constexpr (V > 1) q = RowTiles<V - 1>(pr, terms, n_terms, r, q, first, last, partial);
  return q;
}

// The same for one lane (the last cols % 4 columns), in scalar code: IEEE float adds and
// multiplies round as the vector lanes do.
void RowLane(const Problem& pr, const Term* terms, size_t n_terms, size_t r, size_t q, bool first,
             bool last, float* partial) {
  float sum = first ? 0.0f : partial[q];
  for (size_t t = 0; t < n_terms; t++) sum += terms[t].v * pr.x[size_t(terms[t].p) * pr.ldx + q];
  if (!last) {
    partial[q] = sum;
    return;
  }
  Finish(pr, pr.c + r * pr.c_rs + q * pr.c_cs, sum);
}

void Run(const Problem& pr) {
  const size_t panel = PanelOf(pr);
  const bool panelled = panel < pr.depth, transposed = pr.s_cs != 1;
  // Scratch, not zero-filled, as every read follows a write: the first panel ends every
  // element's chain in `partials` (it is never skipped, and is not the last when there
  // are panels), later panels read them; the transpose writes all of a panel's rows x d
  // floats of `s_panel`; a row's listing writes terms[n] before n counts it.
  std::unique_ptr<float[]> partials(new float[panelled ? pr.rows * pr.cols : 0]);
  std::unique_ptr<float[]> s_panel(new float[transposed ? pr.rows * panel : 0]);
  std::unique_ptr<Term[]> terms(new Term[panel]);
  for (size_t p0 = 0; p0 < pr.depth; p0 += panel) {
    const size_t p1 = std::min(pr.depth, p0 + panel), d = p1 - p0;
    const bool first = p0 == 0, last = p1 == pr.depth;
    // The panel of S as rows of d contiguous floats: in place, or transposed from S's
    // storage (where its rows are columns: s_rs == 1) rather than gathered with a stride.
    const float* s = pr.s + p0 * pr.s_cs;
    size_t s_rs = pr.s_rs;
    if (transposed) {
      Transpose(s, d, pr.rows, pr.s_cs, s_panel.get());
      s = s_panel.get();
      s_rs = d;
    }
    for (size_t r = 0; r < pr.rows; r++) {
      // Branch-free: zeros fall where the data puts them, so a branch would mispredict.
      size_t n = 0;
      const float* row = s + r * s_rs;
      for (size_t t = 0; t < d; t++) {
        terms[n] = Term{uint32_t(p0 + t), row[t]};
        n += row[t] != 0.0f;
      }
      if (n == 0 && !first && !last) continue;  // the partial sums stand
      float* partial = panelled ? partials.get() + r * pr.cols : nullptr;
      const size_t lanes = RowTiles<kMaxVectors>(pr, terms.get(), n, r, 0, first, last, partial);
      for (size_t q = lanes; q < pr.cols; q++) {
        RowLane(pr, terms.get(), n, r, q, first, last, partial);
      }
    }
  }
}

// The work of a form, in vector multiply-add steps. Each non-zero term of the splatted
// operand costs kPerTerm and a streamed row (cols / 4 vector steps and cols % 4 scalar
// ones); each element of S is read and tested once, after a transposing copy if its
// rows are columns in storage; packing copies the streamed operand once; every panel
// after the first loads and stores the partial sums; the output is written by vectors,
// or element by element a row of C apart. The weights were fitted by timing both forms
// on lenet's and resnet8's backward shapes: the cheaper form was the faster on each.
constexpr size_t kPerTerm = 2;          // reading a term, its splat, its row's address
constexpr size_t kPerElement = 3;       // reading, testing and appending, or copying, one float
constexpr size_t kPerStridedStore = 4;  // one scalar store, on another cache line each time

size_t Cost(const Problem& pr, const Census& splatted, size_t packed) {
  const size_t panel = PanelOf(pr), panels = (pr.depth + panel - 1) / panel;
  const size_t out = pr.rows * pr.cols, s_passes = pr.s_cs == 1 ? 1 : 2;
  return splatted.nonzero * (kPerTerm + pr.cols / 4 + pr.cols % 4) +
         kPerElement * (pr.rows * pr.depth * s_passes + packed) + (panels - 1) * out / 2 +
         (pr.c_cs == 1 ? out / 4 : kPerStridedStore * out);
}

}  // namespace

void qf_f32_gemm__wasmsimd(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a,
                           size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                           bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) return F32GemmEmptySum(m, n, c, ldc, accumulate);
  const bool a_t = ta == Trans::kYes, b_t = tb == Trans::kYes;
  const Census in_a = CountNonZero(a, a_t ? k : m, a_t ? m : k, lda);
  const Census in_b = CountNonZero(b, b_t ? n : k, b_t ? k : n, ldb);
  // Each form splats one operand and streams the other, packed first when its rows are
  // not contiguous.
  Problem rows{m, n, k, a, a_t ? 1 : lda, a_t ? lda : 1, b, ldb, c, ldc, 1, accumulate};
  Problem columns{n, m, k, b, b_t ? ldb : 1, b_t ? 1 : ldb, a, lda, c, 1, ldc, accumulate};
  const size_t rows_cost = Cost(rows, in_a, b_t ? k * n : 0);
  const size_t columns_cost = Cost(columns, in_b, a_t ? 0 : m * k);
  const bool rows_form = rows_cost <= columns_cost;
  if (!(rows_form ? in_b : in_a).finite) {
    qf_f32_gemm__ref(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    return;
  }
  Problem& pr = rows_form ? rows : columns;
  std::unique_ptr<float[]> packed;  // not zero-filled: the transpose writes every element
  if (rows_form ? b_t : !a_t) {
    packed.reset(new float[k * pr.cols]);
    TransposeOnPool(rows_form ? b : a, pr.cols, k, rows_form ? ldb : lda, packed.get());
    pr.x = packed.get();
    pr.ldx = pr.cols;
  }
  // Tasks take pieces of the splatted operand's rows (C's rows in the rows form, its
  // columns in the columns form): each lists and streams only its own terms, and every
  // element of C is still one call's chain.
  const size_t tasks = TasksFor(rows_form ? rows_cost : columns_cost, pr.rows);
  const size_t step = (pr.rows + tasks - 1) / tasks;
  ParallelFor(tasks, [&](size_t t) {
    const size_t lo = std::min(pr.rows, t * step);
    Problem part = pr;
    part.rows = std::min(step, pr.rows - lo);
    part.s += lo * pr.s_rs;
    part.c += lo * pr.c_rs;
    if (part.rows > 0) Run(part);
  });
}

}  // namespace qf::kernels
