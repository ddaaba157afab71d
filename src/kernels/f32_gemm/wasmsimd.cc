// WebAssembly SIMD128 float GEMM that skips zero terms. The backward pass multiplies by
// output gradients that ReLU and max-pool leave mostly at exactly zero (about 80 % on
// LeNet), and Eigen has no wasm SIMD path, so this is where training spends its time.
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
// Two forms of the same product; a call takes the one with less work:
//   rows form     C row i    = sum_p op(A)[i][p] * op(B) row p      (splat op(A))
//   columns form  C column j = sum_p op(B)[p][j] * op(A) column p   (splat op(B))
// The streamed rows (op(B)'s, or op(A)'s columns) are read as 4-float vectors, 32 floats
// of one output row held in registers; they are used in place when contiguous and
// packed once otherwise. When the streamed operand outgrows kStreamBudget, p is split
// into panels that do fit in cache; partial sums wait in a scratch row between panels,
// which keeps each element's single chain in p order.
#include <wasm_simd128.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

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

// The panel length over p for streamed rows of w floats.
size_t PanelOf(size_t depth, size_t w) {
  return depth * w <= kStreamBudget ? depth : std::max<size_t>(8, kStreamBudget / w);
}

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
      const v128_t sum = pr.accumulate ? wasm_f32x4_add(wasm_v128_load(out + 4 * v), acc[v]) : acc[v];
      wasm_v128_store(out + 4 * v, sum);
    }
    return;
  }
  float lanes[4 * V];
  for (size_t v = 0; v < V; v++) wasm_v128_store(lanes + 4 * v, acc[v]);
  for (size_t l = 0; l < 4 * V; l++) {
    float& o = out[l * pr.c_cs];
    o = pr.accumulate ? o + lanes[l] : lanes[l];
  }
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
  float& o = pr.c[r * pr.c_rs + q * pr.c_cs];
  o = pr.accumulate ? o + sum : sum;
}

void Run(const Problem& pr) {
  const size_t panel = PanelOf(pr.depth, pr.cols);
  const bool panelled = panel < pr.depth;
  std::vector<float> partials(panelled ? pr.rows * pr.cols : 0);
  std::vector<Term> terms(panel);
  for (size_t p0 = 0; p0 < pr.depth; p0 += panel) {
    const size_t p1 = std::min(pr.depth, p0 + panel);
    const bool first = p0 == 0, last = p1 == pr.depth;
    for (size_t r = 0; r < pr.rows; r++) {
      // Branch-free: zeros fall where the data puts them, so a branch would mispredict.
      size_t n = 0;
      const float* s = pr.s + r * pr.s_rs;
      for (size_t p = p0; p < p1; p++) {
        const float v = s[p * pr.s_cs];
        terms[n] = Term{uint32_t(p), v};
        n += v != 0.0f;
      }
      if (n == 0 && !first && !last) continue;  // the partial sums stand
      float* partial = panelled ? partials.data() + r * pr.cols : nullptr;
      size_t q = 0;
      for (; q + 4 <= pr.cols; q += 4 * kMaxVectors) {
        switch (std::min(kMaxVectors, (pr.cols - q) / 4)) {
          case 8: RowVectors<8>(pr, terms.data(), n, r, q, first, last, partial); break;
          case 7: RowVectors<7>(pr, terms.data(), n, r, q, first, last, partial); break;
          case 6: RowVectors<6>(pr, terms.data(), n, r, q, first, last, partial); break;
          case 5: RowVectors<5>(pr, terms.data(), n, r, q, first, last, partial); break;
          case 4: RowVectors<4>(pr, terms.data(), n, r, q, first, last, partial); break;
          case 3: RowVectors<3>(pr, terms.data(), n, r, q, first, last, partial); break;
          case 2: RowVectors<2>(pr, terms.data(), n, r, q, first, last, partial); break;
          default: RowVectors<1>(pr, terms.data(), n, r, q, first, last, partial); break;
        }
      }
      for (q = pr.cols / 4 * 4; q < pr.cols; q++) {
        RowLane(pr, terms.data(), n, r, q, first, last, partial);
      }
    }
  }
}

struct Census {
  size_t nonzero = 0;
  bool finite = true;
};

Census Count(const float* x, size_t rows, size_t cols, size_t ld) {
  Census census;
  for (size_t i = 0; i < rows; i++) {
    for (size_t j = 0; j < cols; j++) {
      const float v = x[i * ld + j];
      census.nonzero += v != 0.0f;
      census.finite &= std::isfinite(v);
    }
  }
  return census;
}

// The work of a form, in vector steps, for `rows` output rows of w floats over `depth`:
// each non-zero term of the splatted operand costs a splat and a streamed row (w / 4
// vector steps and w % 4 scalar ones); collecting the terms reads each element once;
// packing copies the streamed operand once; every panel after the first loads and
// stores the partial sums; the output is written by vectors, or element by element
// when its rows are C's columns.
size_t FormCost(const Census& splatted, size_t rows, size_t w, size_t depth, size_t packed,
                bool strided_out) {
  const size_t panels = (depth + PanelOf(depth, w) - 1) / PanelOf(depth, w);
  return splatted.nonzero * (1 + w / 4 + w % 4) + rows * depth + packed +
         (panels - 1) * rows * w / 2 + (strided_out ? rows * w : rows * w / 4);
}

// x^T of the rows x cols matrix x: cols x rows, contiguous.
std::vector<float> Transposed(const float* x, size_t rows, size_t cols, size_t ld) {
  std::vector<float> t(rows * cols);
  for (size_t i = 0; i < rows; i++) {
    for (size_t j = 0; j < cols; j++) t[j * rows + i] = x[i * ld + j];
  }
  return t;
}

}  // namespace

void qf_f32_gemm__wasmsimd(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a,
                           size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                           bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum
    if (!accumulate) {
      for (size_t i = 0; i < m; i++) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    }
    return;
  }
  const bool a_t = ta == Trans::kYes, b_t = tb == Trans::kYes;
  const Census in_a = Count(a, a_t ? k : m, a_t ? m : k, lda);
  const Census in_b = Count(b, b_t ? n : k, b_t ? k : n, ldb);
  // Each form splats one operand and streams the other, packed first when its rows are
  // not contiguous.
  const size_t rows_cost = FormCost(in_a, m, n, k, b_t ? k * n : 0, false);
  const size_t columns_cost = FormCost(in_b, n, m, k, a_t ? 0 : m * k, true);
  const bool rows_form = rows_cost <= columns_cost;
  if (!(rows_form ? in_b : in_a).finite) {
    qf_f32_gemm__ref(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    return;
  }
  std::vector<float> packed;
  if (rows_form) {
    if (b_t) packed = Transposed(b, n, k, ldb);
    Run(Problem{m, n, k, a, a_t ? 1 : lda, a_t ? lda : 1, b_t ? packed.data() : b,
                b_t ? n : ldb, c, ldc, 1, accumulate});
  } else {
    if (!a_t) packed = Transposed(a, m, k, lda);
    Run(Problem{n, m, k, b, b_t ? ldb : 1, b_t ? 1 : ldb, a_t ? a : packed.data(),
                a_t ? lda : m, c, 1, ldc, accumulate});
  }
}

}  // namespace qf::kernels
