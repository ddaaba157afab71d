// The table-lookup GEMM microkernels compiled into this build. None is dispatched to
// layers: bench/RESULTS.md ("Table-lookup GEMM") records how they compare with the int8
// kernel.
#include "kernels/lut_gemm/lut_gemm.h"

namespace qf::kernels {
namespace {

const LutGemmUkernel kUkernels[] = {
    {"qf_lut_gemm_1x16g3b2__scalar", Isa::kScalar, 2, 1, 16, qf_lut_gemm_1x16g3b2__scalar,
     qf_lut_tables__scalar},
    {"qf_lut_gemm_1x16g3b3__scalar", Isa::kScalar, 3, 1, 16, qf_lut_gemm_1x16g3b3__scalar,
     qf_lut_tables__scalar},
#if defined(QF_HAVE_WASMSIMD)
    {"qf_lut_gemm_1x16g3b2__wasmsimd", Isa::kWasmSimd, 2, 1, 16, qf_lut_gemm_1x16g3b2__wasmsimd,
     qf_lut_tables__wasmsimd},
    {"qf_lut_gemm_2x16g3b2__wasmsimd", Isa::kWasmSimd, 2, 2, 16, qf_lut_gemm_2x16g3b2__wasmsimd,
     qf_lut_tables__wasmsimd},
    {"qf_lut_gemm_4x16g3b2__wasmsimd", Isa::kWasmSimd, 2, 4, 16, qf_lut_gemm_4x16g3b2__wasmsimd,
     qf_lut_tables__wasmsimd},
    {"qf_lut_gemm_1x16g3b3__wasmsimd", Isa::kWasmSimd, 3, 1, 16, qf_lut_gemm_1x16g3b3__wasmsimd,
     qf_lut_tables__wasmsimd},
    {"qf_lut_gemm_2x16g3b3__wasmsimd", Isa::kWasmSimd, 3, 2, 16, qf_lut_gemm_2x16g3b3__wasmsimd,
     qf_lut_tables__wasmsimd},
    {"qf_lut_gemm_4x16g3b3__wasmsimd", Isa::kWasmSimd, 3, 4, 16, qf_lut_gemm_4x16g3b3__wasmsimd,
     qf_lut_tables__wasmsimd},
#endif
};

}  // namespace

Span<LutGemmUkernel> LutGemmUkernels() {
  return {kUkernels, sizeof(kUkernels) / sizeof(kUkernels[0])};
}

}  // namespace qf::kernels
