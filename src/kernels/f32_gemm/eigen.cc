// Float GEMM on Eigen 3.4: Maps over the caller's row-major buffers, one .noalias()
// product per transpose form. Not a place for layer logic or for hand-written SIMD.
//
// Eigen needs no exception switch: with -fno-exceptions it does not define
// EIGEN_EXCEPTIONS and a failed workspace allocation aborts (as a QF_CHECK would).
// Blocking workspaces up to EIGEN_STACK_ALLOCATION_LIMIT (128 KiB) come from alloca,
// larger ones from the heap.

// Single-threaded by contract (one wasm thread; callers own any parallelism): keeps
// Eigen from splitting the product if the engine is ever built with -fopenmp.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>

#include "kernels/f32_gemm/f32_gemm.h"

namespace qf::kernels {
namespace {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajorMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using MutableMap = Eigen::Map<RowMajorMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// .noalias(): C never overlaps A or B (f32_gemm.h), so Eigen may write C directly
// instead of through a temporary.
template <typename OpA, typename OpB>
void Product(const OpA& a, const OpB& b, MutableMap& c, bool accumulate) {
  if (accumulate) {
    c.noalias() += a * b;
  } else {
    c.noalias() = a * b;
  }
}

}  // namespace

void qf_f32_gemm__eigen(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a,
                        size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                        bool accumulate) {
  if (m == 0 || n == 0) return;
  MutableMap cm(c, Eigen::Index(m), Eigen::Index(n), Eigen::OuterStride<>(Eigen::Index(ldc)));
  if (k == 0) {  // an empty sum; keeps zero-sized Maps of A and B out of Eigen
    if (!accumulate) cm.setZero();
    return;
  }
  // The stored shapes; op() is applied by .transpose(), a view without copies.
  const bool a_t = ta == Trans::kYes, b_t = tb == Trans::kYes;
  const ConstMap am(a, Eigen::Index(a_t ? k : m), Eigen::Index(a_t ? m : k),
                    Eigen::OuterStride<>(Eigen::Index(lda)));
  const ConstMap bm(b, Eigen::Index(b_t ? n : k), Eigen::Index(b_t ? k : n),
                    Eigen::OuterStride<>(Eigen::Index(ldb)));
  if (!a_t && !b_t) {
    Product(am, bm, cm, accumulate);
  } else if (!a_t && b_t) {
    Product(am, bm.transpose(), cm, accumulate);
  } else if (a_t && !b_t) {
    Product(am.transpose(), bm, cm, accumulate);
  } else {
    Product(am.transpose(), bm.transpose(), cm, accumulate);
  }
}

}  // namespace qf::kernels
