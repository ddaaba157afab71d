// ISA names and the build's best ISA.
#include "kernels/isa.h"

namespace qf::kernels {

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kRef:
      return "ref";
    case Isa::kScalar:
      return "scalar";
    case Isa::kWasmSimd:
      return "wasmsimd";
  }
  return "?";
}

Isa BestIsa() {
#if defined(QF_HAVE_WASMSIMD)
  return Isa::kWasmSimd;
#else
  return Isa::kScalar;
#endif
}

}  // namespace qf::kernels
