// The u8 x s8 GEMM microkernels compiled into this build, and the per-ISA choice.
#include <cstring>

#include "core/check.h"
#include "kernels/u8s8_gemm/u8s8_gemm.h"

namespace qf::kernels {
namespace {

const U8S8GemmUkernel kUkernels[] = {
    {"qf_u8s8_gemm_1x8c2__scalar", Isa::kScalar, 1, 8, 2, qf_u8s8_gemm_1x8c2__scalar},
    {"qf_u8s8_gemm_4x8c2__scalar", Isa::kScalar, 4, 8, 2, qf_u8s8_gemm_4x8c2__scalar},
#if defined(QF_HAVE_WASMSIMD)
    {"qf_u8s8_gemm_1x8c2__wasmsimd", Isa::kWasmSimd, 1, 8, 2, qf_u8s8_gemm_1x8c2__wasmsimd},
    {"qf_u8s8_gemm_4x8c2__wasmsimd", Isa::kWasmSimd, 4, 8, 2, qf_u8s8_gemm_4x8c2__wasmsimd},
#endif
};

const U8S8GemmUkernel* Find(const char* name) {
  for (const U8S8GemmUkernel& uk : kUkernels) {
    if (std::strcmp(uk.name, name) == 0) return &uk;
  }
  QF_CHECK(false && "unregistered microkernel");
  return nullptr;
}

}  // namespace

Span<U8S8GemmUkernel> U8S8GemmUkernels() {
  return {kUkernels, sizeof(kUkernels) / sizeof(kUkernels[0])};
}

U8S8GemmConfig U8S8GemmConfigFor(Isa isa) {
  // The chosen pair per ISA; bench/RESULTS.md records how the candidates compared.
  if (isa == Isa::kRef) isa = Isa::kScalar;  // the reference has no packed form
#if defined(QF_HAVE_WASMSIMD)
  if (isa == Isa::kWasmSimd) {
    return {Find("qf_u8s8_gemm_4x8c2__wasmsimd"), Find("qf_u8s8_gemm_1x8c2__wasmsimd")};
  }
#endif
  return {Find("qf_u8s8_gemm_4x8c2__scalar"), Find("qf_u8s8_gemm_1x8c2__scalar")};
}

}  // namespace qf::kernels
