// The float GEMM variants compiled into this build, and the per-ISA choice, spread over
// the thread pool (the wasmsimd variant spreads itself).
#include <algorithm>

#include "core/thread_pool.h"
#include "kernels/f32_gemm/f32_gemm.h"

namespace qf::kernels {
namespace {

// kFn on slices of C, whole rows (or whole columns when there are fewer rows), one slice
// per thread. Each element of C is still summed by one call in the order kFn sums it, so
// an exact variant stays bit for bit the reference at any thread count.
template <F32GemmFn kFn>
void Threaded(Trans ta, Trans tb, size_t m, size_t n, size_t k, const float* a, size_t lda,
              const float* b, size_t ldb, float* c, size_t ldc, bool accumulate) {
  // kParallelMacs (core/thread_pool.h): the int8 GEMM's threshold. A float multiply-add
  // takes longer than an int8 one, so this errs towards one thread.
  const size_t threads = m * n * std::max<size_t>(k, 1) < kParallelMacs ? 1 : Threads();
  const bool rows = m >= n;
  const size_t extent = rows ? m : n, tasks = std::min(threads, extent);
  if (tasks <= 1) return kFn(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  const size_t step = (extent + tasks - 1) / tasks;
  ParallelFor(tasks, [&](size_t t) {
    const size_t lo = t * step;
    if (lo >= extent) return;
    const size_t count = std::min(step, extent - lo);
    if (rows) {  // rows lo.. of op(A) and C
      kFn(ta, tb, count, n, k, ta == Trans::kNo ? a + lo * lda : a + lo, lda, b, ldb,
          c + lo * ldc, ldc, accumulate);
    } else {  // columns lo.. of op(B) and C
      kFn(ta, tb, m, count, k, a, lda, tb == Trans::kNo ? b + lo : b + lo * ldb, ldb, c + lo,
          ldc, accumulate);
    }
  });
}

// Every variant, with whether it is exact (F32GemmFor hands out the exact ones).
const F32GemmKernel kKernels[] = {
    {"qf_f32_gemm__ref", Isa::kRef, qf_f32_gemm__ref, true},
    {"qf_f32_gemm__scalar", Isa::kScalar, qf_f32_gemm__scalar, true},
    {"qf_f32_gemm__eigen", Isa::kScalar, qf_f32_gemm__eigen, false},  // the tests' oracle
#if defined(QF_HAVE_WASMSIMD)
    {"qf_f32_gemm__wasmsimd", Isa::kWasmSimd, qf_f32_gemm__wasmsimd, true},
#endif
};

}  // namespace

Span<F32GemmKernel> F32GemmKernels() { return {kKernels, sizeof(kKernels) / sizeof(kKernels[0])}; }

F32GemmFn F32GemmFor(Isa isa) {
  if (isa == Isa::kRef) return qf_f32_gemm__ref;
#if defined(QF_HAVE_WASMSIMD)
  if (isa == Isa::kWasmSimd) return qf_f32_gemm__wasmsimd;  // on the pool by itself
#endif
  return Threaded<qf_f32_gemm__scalar>;  // the portable exact one, for every other ISA
}

}  // namespace qf::kernels
