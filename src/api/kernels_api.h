// The low-level kernel entry points the JS package exposes as `qf.kernels` (for
// benchmarks and cross-checks). Validates its arguments and returns Status; buffers
// are borrowed for the call, sizes are in elements.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/status.h"
#include "kernels/u8s8_gemm/driver.h"

namespace qf::api {

// C (m x n int32) = A (m x k uint8) * B (k x n int8), all row-major, zero points 0.
Status MatmulU8S8(const uint8_t* a, const int8_t* b, size_t m, size_t k, size_t n, int32_t* c);

// A weight matrix packed once and multiplied many times, as a deployed layer would.
class PackedMatrixS8 {
 public:
  static StatusOr<PackedMatrixS8> Create(const int8_t* b, size_t k, size_t n);
  PackedMatrixS8() = default;

  size_t k() const { return weights_.k(); }
  size_t n() const { return weights_.n(); }
  // C (m x n) = A (m x k) * B.
  Status Matmul(const uint8_t* a, size_t m, int32_t* c) const;

 private:
  kernels::GemmKernels kernels_{};
  kernels::PackedWeights weights_;
};

// Which kernel ISA this build dispatches to ("wasmsimd" or "scalar").
const char* KernelIsa();

}  // namespace qf::api
