// The depthwise convolution variants compiled into this build, and the per-ISA choice.
#include "core/check.h"
#include "kernels/dwconv/dwconv.h"

namespace qf::kernels {
namespace {

const DwConvKernel kKernels[] = {
    {"qf_dwconv__ref", Isa::kRef, qf_dwconv__ref},
    {"qf_dwconv__scalar", Isa::kScalar, qf_dwconv__scalar},
#if defined(QF_HAVE_WASMSIMD)
    {"qf_dwconv__wasmsimd", Isa::kWasmSimd, qf_dwconv__wasmsimd},
#endif
};

template <typename List>
auto PickFrom(Isa isa, List list) -> decltype(list[0].fn) {
  for (const auto& entry : list) {
    if (entry.isa == isa) return entry.fn;
  }
  return nullptr;
}

}  // namespace

Span<DwConvKernel> DwConvKernels() { return {kKernels, sizeof(kKernels) / sizeof(kKernels[0])}; }

DwConvConfig DwConvConfigFor(Isa isa) {
#if !defined(QF_HAVE_WASMSIMD)
  if (isa == Isa::kWasmSimd) isa = Isa::kScalar;
#endif
  DwConvConfig config{isa, PickFrom(isa, DwConvKernels()), PickFrom(isa, RequantF32Kernels()),
                      PickFrom(isa, RequantU8Kernels())};
  QF_CHECK(config.conv && config.f32 && config.u8);
  return config;
}

}  // namespace qf::kernels
