// Instruction-set tags for kernel variants, and what this build can run.
// Every kernel family registers one variant per ISA it has; dispatch, tests and
// benchmarks read the same registry lists.
#pragma once

#include <cstddef>

namespace qf::kernels {

enum class Isa {
  kRef,       // the numeric specification: plain loops, never optimized
  kScalar,    // portable C++, tuned loop order and tiling, no intrinsics
  kWasmSimd,  // WebAssembly SIMD128 (wasm_simd128.h), built only with -msimd128
};

const char* IsaName(Isa isa);

// The fastest ISA compiled into this build (kWasmSimd in the SIMD wasm build,
// kScalar everywhere else).
Isa BestIsa();

// A read-only view over a registry list.
template <typename T>
struct Span {
  const T* data;
  size_t size;
  const T* begin() const { return data; }
  const T* end() const { return data + size; }
  const T& operator[](size_t i) const { return data[i]; }
};

}  // namespace qf::kernels
