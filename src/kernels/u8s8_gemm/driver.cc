// Tiling of the u8 x s8 GEMM over its microkernels, with fused epilogues.
//
// Loop nest (GotoBLAS-style): rows in blocks of MC, sized so the block's int16
// activations stay in L2; inside, each packed weight panel (NR columns) stays in L1
// while every MR-row tile of the block passes over it.
//
// Threads (core/thread_pool.h): a task is one row block, or a slice of its columns when
// there are fewer blocks than threads; it packs its rows and writes its own outputs.
// Integer sums: the same bytes at any thread count.
#include "kernels/u8s8_gemm/driver.h"

#include <algorithm>
#include <memory>

#include "core/check.h"
#include "core/thread_pool.h"

namespace qf::kernels {
namespace {

constexpr size_t kBlockBytes = 128 * 1024;  // target size of one int16 row block

template <typename Select>
auto PickFrom(Isa isa, Select list) -> decltype(list[0].fn) {
  for (const auto& entry : list) {
    if (entry.isa == isa) return entry.fn;
  }
  QF_CHECK(false && "no kernel for this ISA");
  return nullptr;
}

// Runs the GEMM in tasks of a row block and a range of columns; `epilogue(i0, rows, j0,
// cols, acc, ld_acc)` finishes each (acc holds its rows x cols accumulators). When
// `direct` is set the accumulators land in it (ld = ldc) and no scratch is used.
template <typename Epilogue>
void Run(const GemmKernels& kernels, size_t m, const uint8_t* a, size_t lda, uint8_t a_zero_point,
         const PackedWeights& w, int32_t* direct, size_t ldc, Epilogue epilogue) {
  const U8S8GemmUkernel& uk = (m == 1) ? *kernels.gemm.m1 : *kernels.gemm.main;
  QF_CHECK(uk.nr == w.nr() && uk.kr == w.kr());
  const size_t k = w.k(), n = w.n(), mr = uk.mr, nr = uk.nr;
  if (m == 0 || n == 0) return;
  const size_t kc = PackedDepth(k, uk.kr);
  size_t mc = std::max<size_t>(mr, kBlockBytes / (2 * std::max<size_t>(kc, 1)) / mr * mr);
  mc = std::min(mc, (m + mr - 1) / mr * mr);
  const size_t blocks = (m + mc - 1) / mc, panels = (n + nr - 1) / nr;
  // Column slices (whole panels) when the row blocks alone would leave threads idle.
  const size_t threads = m * n * k < kParallelMacs ? 1 : Threads();  // core/thread_pool.h
  const size_t slices = std::min(panels, (threads + blocks - 1) / blocks);
  const size_t slice_panels = (panels + slices - 1) / slices;

  ParallelFor(blocks * slices, [&](size_t task) {
    const size_t i0 = task / slices * mc, rows = std::min(mc, m - i0);
    const size_t j_begin = task % slices * slice_panels * nr;
    if (j_begin >= n) return;
    const size_t cols = std::min(slice_panels * nr, n - j_begin);
    // Not zero-filled: the packing and the microkernels write every element.
    const std::unique_ptr<int16_t[]> a16(new int16_t[rows * kc]);
    const std::unique_ptr<int32_t[]> scratch(direct ? nullptr : new int32_t[rows * cols]);
    PackRowsU8ToS16(rows, k, kc, a + i0 * lda, lda, a_zero_point, a16.get());
    int32_t* acc = direct ? direct + i0 * ldc + j_begin : scratch.get();
    const size_t ld_acc = direct ? ldc : cols;
    for (size_t j = 0; j < cols; j += nr) {
      const int8_t* panel = w.data() + ((j_begin + j) / nr) * nr * kc;
      const size_t nc = std::min(nr, cols - j);
      for (size_t i = 0; i < rows; i += mr) {
        uk.fn(std::min(mr, rows - i), nc, kc, a16.get() + i * kc, kc, panel, acc + i * ld_acc + j,
              ld_acc);
      }
    }
    epilogue(i0, rows, j_begin, cols, acc, ld_acc);
  });
}

}  // namespace

GemmKernels GemmKernelsFor(Isa isa) {
  GemmKernels kernels;
  kernels.gemm = U8S8GemmConfigFor(isa);
  kernels.isa = kernels.gemm.main->isa;
  kernels.f32 = PickFrom(kernels.isa, RequantF32Kernels());
  kernels.u8 = PickFrom(kernels.isa, RequantU8Kernels());
  return kernels;
}

PackedWeights::PackedWeights(const GemmKernels& kernels, size_t k, size_t n, const int8_t* b,
                             size_t ldb)
    : k_(k), n_(n), nr_(kernels.gemm.main->nr), kr_(kernels.gemm.main->kr) {
  QF_CHECK(k <= kMaxGemmDepth);
  data_.resize(PackedWeightsSize(k, n, nr_, kr_));
  PackWeightsS8(k, n, nr_, kr_, b, ldb, data_.data());
}

void GemmU8S8(const GemmKernels& kernels, size_t m, const uint8_t* a, size_t lda,
              uint8_t a_zero_point, const PackedWeights& w, const OutputI32& out) {
  Run(kernels, m, a, lda, a_zero_point, w, out.c, out.ldc,
      [](size_t, size_t, size_t, size_t, const int32_t*, size_t) {});
}

void GemmU8S8(const GemmKernels& kernels, size_t m, const uint8_t* a, size_t lda,
              uint8_t a_zero_point, const PackedWeights& w, const OutputF32& out) {
  Run(kernels, m, a, lda, a_zero_point, w, nullptr, 0,
      [&](size_t i0, size_t rows, size_t j0, size_t cols, const int32_t* acc, size_t ld_acc) {
        for (size_t i = 0; i < rows; i++) {
          kernels.f32(cols, acc + i * ld_acc, out.scale + j0, out.bias + j0,
                      out.out + (i0 + i) * out.ldo + j0);
        }
      });
}

void GemmU8S8(const GemmKernels& kernels, size_t m, const uint8_t* a, size_t lda,
              uint8_t a_zero_point, const PackedWeights& w, const OutputU8& out) {
  Run(kernels, m, a, lda, a_zero_point, w, nullptr, 0,
      [&](size_t i0, size_t rows, size_t j0, size_t cols, const int32_t* acc, size_t ld_acc) {
        for (size_t i = 0; i < rows; i++) {
          kernels.u8(cols, acc + i * ld_acc, out.scale + j0, out.offset + j0, out.qmin, out.qmax,
                     out.out + (i0 + i) * out.ldo + j0);
        }
      });
}

}  // namespace qf::kernels
