// Whole-matrix table-lookup GEMM, one thread: rows in blocks whose tables stay in L2;
// per block, int16 activations, then tables, then every index panel against every
// MR-row tile. Table building is part of the call (per row, amortized over n).
#include <algorithm>
#include <vector>

#include "core/check.h"
#include "kernels/lut_gemm/lut_gemm.h"
#include "kernels/u8s8_gemm/u8s8_gemm.h"

namespace qf::kernels {
namespace {

constexpr size_t kBlockBytes = 128 * 1024;  // target size of one block's tables

}  // namespace

void GemmU8LutI32(const LutGemmUkernel& uk, size_t m, size_t k, size_t n, const uint8_t* a,
                  size_t lda, uint8_t a_zero_point, const uint8_t* w, int32_t* c, size_t ldc) {
  QF_CHECK(k <= kMaxGemmDepth);
  if (m == 0 || n == 0) return;
  const size_t groups = LutGroups(k), kc = groups * kLutGroup, mr = uk.mr;
  const size_t stride = LutTableStride(k, uk.bits);
  const size_t panel_bytes = groups * size_t(uk.bits) * 2 * kLutNr;
  size_t mc = std::max<size_t>(mr, kBlockBytes / (2 * std::max<size_t>(stride, 1)) / mr * mr);
  mc = std::min(mc, (m + mr - 1) / mr * mr);
  std::vector<int16_t> a16(mc * kc), tables(mc * stride);
  for (size_t i0 = 0; i0 < m; i0 += mc) {
    const size_t rows = std::min(mc, m - i0);
    PackRowsU8ToS16(rows, k, kc, a + i0 * lda, lda, a_zero_point, a16.data());
    uk.tables(rows, k, uk.bits, a16.data(), kc, tables.data());
    for (size_t j = 0; j < n; j += kLutNr) {
      const uint8_t* panel = w + (j / kLutNr) * panel_bytes;
      const size_t nc = std::min(kLutNr, n - j);
      for (size_t i = 0; i < rows; i += mr) {
        uk.fn(std::min(mr, rows - i), nc, groups, tables.data() + i * stride, stride, panel,
              c + (i0 + i) * ldc + j, ldc);
      }
    }
  }
}

}  // namespace qf::kernels
