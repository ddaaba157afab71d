// Argument checks in front of the kernel drivers.
#include "api/kernels_api.h"

#include <string>

namespace qf::api {
namespace {

Status CheckDims(size_t m, size_t k, size_t n) {
  if (m == 0 || k == 0 || n == 0) {
    return InvalidArgument("matmul dimensions must be positive, got m=" + std::to_string(m) +
                           " k=" + std::to_string(k) + " n=" + std::to_string(n));
  }
  if (k > kernels::kMaxGemmDepth) {
    return InvalidArgument("matmul depth k=" + std::to_string(k) + " exceeds " +
                           std::to_string(kernels::kMaxGemmDepth) +
                           " (the int32 accumulator would overflow)");
  }
  return OkStatus();
}

}  // namespace

Status MatmulU8S8(const uint8_t* a, const int8_t* b, size_t m, size_t k, size_t n, int32_t* c) {
  StatusOr<PackedMatrixS8> packed = PackedMatrixS8::Create(b, k, n);
  if (!packed.ok()) return packed.status();
  return packed.value().Matmul(a, m, c);
}

StatusOr<PackedMatrixS8> PackedMatrixS8::Create(const int8_t* b, size_t k, size_t n) {
  QF_RETURN_IF_ERROR(CheckDims(1, k, n));
  PackedMatrixS8 packed;
  packed.kernels_ = kernels::GemmKernelsFor(kernels::BestIsa());
  packed.weights_ = kernels::PackedWeights(packed.kernels_, k, n, b, n);
  return packed;
}

Status PackedMatrixS8::Matmul(const uint8_t* a, size_t m, int32_t* c) const {
  QF_RETURN_IF_ERROR(CheckDims(m, k(), n()));
  kernels::GemmU8S8(kernels_, m, a, k(), 0, weights_, kernels::OutputI32{c, n()});
  return OkStatus();
}

const char* KernelIsa() { return kernels::IsaName(kernels::BestIsa()); }

}  // namespace qf::api
