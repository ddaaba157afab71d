// The epilogue variants compiled into this build.
#include "kernels/requant/requant.h"

namespace qf::kernels {
namespace {

const RequantF32Kernel kF32[] = {
    {"qf_requant_f32__ref", Isa::kRef, qf_requant_f32__ref},
    {"qf_requant_f32__scalar", Isa::kScalar, qf_requant_f32__scalar},
#if defined(QF_HAVE_WASMSIMD)
    {"qf_requant_f32__wasmsimd", Isa::kWasmSimd, qf_requant_f32__wasmsimd},
#endif
};
const RequantU8Kernel kU8[] = {
    {"qf_requant_u8__ref", Isa::kRef, qf_requant_u8__ref},
    {"qf_requant_u8__scalar", Isa::kScalar, qf_requant_u8__scalar},
#if defined(QF_HAVE_WASMSIMD)
    {"qf_requant_u8__wasmsimd", Isa::kWasmSimd, qf_requant_u8__wasmsimd},
#endif
};

}  // namespace

Span<RequantF32Kernel> RequantF32Kernels() { return {kF32, sizeof(kF32) / sizeof(kF32[0])}; }
Span<RequantU8Kernel> RequantU8Kernels() { return {kU8, sizeof(kU8) / sizeof(kU8[0])}; }

}  // namespace qf::kernels
