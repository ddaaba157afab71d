// The pack/unpack variants compiled into this build, and the per-ISA choice.
#include <initializer_list>

#include "kernels/bitpack/bitpack.h"

namespace qf::kernels {
namespace {

const BitPackKernel kPack[] = {
    {"qf_bitpack_pack4__ref", Isa::kRef, 4, qf_bitpack_pack4__ref},
    {"qf_bitpack_pack2__ref", Isa::kRef, 2, qf_bitpack_pack2__ref},
    {"qf_bitpack_pack4__scalar", Isa::kScalar, 4, qf_bitpack_pack4__scalar},
    {"qf_bitpack_pack2__scalar", Isa::kScalar, 2, qf_bitpack_pack2__scalar},
#if defined(QF_HAVE_WASMSIMD)
    {"qf_bitpack_pack4__wasmsimd", Isa::kWasmSimd, 4, qf_bitpack_pack4__wasmsimd},
    {"qf_bitpack_pack2__wasmsimd", Isa::kWasmSimd, 2, qf_bitpack_pack2__wasmsimd},
#endif
};
const BitUnpackKernel kUnpack[] = {
    {"qf_bitpack_unpack4__ref", Isa::kRef, 4, qf_bitpack_unpack4__ref},
    {"qf_bitpack_unpack2__ref", Isa::kRef, 2, qf_bitpack_unpack2__ref},
    {"qf_bitpack_unpack4__scalar", Isa::kScalar, 4, qf_bitpack_unpack4__scalar},
    {"qf_bitpack_unpack2__scalar", Isa::kScalar, 2, qf_bitpack_unpack2__scalar},
#if defined(QF_HAVE_WASMSIMD)
    {"qf_bitpack_unpack4__wasmsimd", Isa::kWasmSimd, 4, qf_bitpack_unpack4__wasmsimd},
    {"qf_bitpack_unpack2__wasmsimd", Isa::kWasmSimd, 2, qf_bitpack_unpack2__wasmsimd},
#endif
};

// The registered entry of `isa` for stored field width `storage`, or of kScalar when the
// build has none for `isa`; null when the width is not packed (8) or unsupported.
template <typename Kernel>
const Kernel* Find(Span<Kernel> kernels, Isa isa, int bits) {
  const int storage = StorageBits(bits);
  if (storage != 2 && storage != 4) return nullptr;
  for (Isa want : {isa, Isa::kScalar}) {
    for (const Kernel& kernel : kernels) {
      if (kernel.isa == want && kernel.bits == storage) return &kernel;
    }
  }
  return nullptr;
}

}  // namespace

Span<BitPackKernel> BitPackKernels() { return {kPack, sizeof(kPack) / sizeof(kPack[0])}; }
Span<BitUnpackKernel> BitUnpackKernels() { return {kUnpack, sizeof(kUnpack) / sizeof(kUnpack[0])}; }

BitPackFn BitPackFor(Isa isa, int bits) {
  const BitPackKernel* kernel = Find(BitPackKernels(), isa, bits);
  return kernel ? kernel->fn : nullptr;
}

BitUnpackFn BitUnpackFor(Isa isa, int bits) {
  const BitUnpackKernel* kernel = Find(BitUnpackKernels(), isa, bits);
  return kernel ? kernel->fn : nullptr;
}

}  // namespace qf::kernels
