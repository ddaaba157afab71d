// How many elements of a float matrix are non-zero, and whether all are finite, in
// WebAssembly SIMD128: what the zero-skipping float kernels (f32_gemm, conv2d_grad)
// choose their form by, and whether skipping zeros is exact for a call. Include only in
// sources built with -msimd128.
#pragma once

#include <wasm_simd128.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "core/thread_pool.h"

namespace qf::kernels {

struct Census {
  size_t nonzero = 0;
  bool finite = true;  // no Inf, no NaN
};

namespace internal {
inline Census CountRows(const float* x, size_t rows, size_t cols, size_t ld) {
  const v128_t zero = wasm_f32x4_splat(0.0f), inf = wasm_f32x4_splat(INFINITY);
  v128_t nonzero = wasm_i32x4_splat(0), finite = wasm_i32x4_splat(-1);  // lanes: counts, masks
  Census census;
  for (size_t i = 0; i < rows; i++) {
    const float* row = x + i * ld;
    size_t j = 0;
    for (; j + 4 <= cols; j += 4) {
      const v128_t v = wasm_v128_load(row + j);
      nonzero = wasm_i32x4_sub(nonzero, wasm_f32x4_ne(v, zero));  // a true lane is -1
      finite = wasm_v128_and(finite, wasm_f32x4_lt(wasm_f32x4_abs(v), inf));
    }
    for (; j < cols; j++) {
      census.nonzero += row[j] != 0.0f;
      census.finite &= std::isfinite(row[j]);
    }
  }
  census.nonzero +=
      size_t(wasm_i32x4_extract_lane(nonzero, 0)) + size_t(wasm_i32x4_extract_lane(nonzero, 1)) +
      size_t(wasm_i32x4_extract_lane(nonzero, 2)) + size_t(wasm_i32x4_extract_lane(nonzero, 3));
  census.finite &= wasm_i32x4_all_true(finite);
  return census;
}
}  // namespace internal

// Over `rows` rows of `cols` floats, rows `ld` floats apart, by pieces of rows on the
// thread pool (a count does not depend on the order it is taken in).
inline Census CountNonZero(const float* x, size_t rows, size_t cols, size_t ld) {
  const size_t grain = std::max<size_t>(1, kParallelElements / std::max<size_t>(cols, 1));
  if (rows <= grain) return internal::CountRows(x, rows, cols, ld);
  std::vector<Census> pieces((rows + grain - 1) / grain);
  ParallelForPieces(rows, grain, [&](size_t r0, size_t r1) {
    pieces[r0 / grain] = internal::CountRows(x + r0 * ld, r1 - r0, cols, ld);
  });
  Census census;
  for (const Census& piece : pieces) {
    census.nonzero += piece.nonzero;
    census.finite &= piece.finite;
  }
  return census;
}

}  // namespace qf::kernels
