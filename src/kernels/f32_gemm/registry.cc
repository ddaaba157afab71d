// The float GEMM variants compiled into this build, and the per-ISA choice.
#include "kernels/f32_gemm/f32_gemm.h"

namespace qf::kernels {
namespace {

// Each ISA's fastest exact variant first: F32GemmFor takes the first exact one.
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
  for (const F32GemmKernel& kernel : F32GemmKernels()) {
    if (kernel.isa == isa && kernel.exact) return kernel.fn;
  }
  return qf_f32_gemm__scalar;  // no variant of its own: the portable one (f32_gemm.h)
}

}  // namespace qf::kernels
