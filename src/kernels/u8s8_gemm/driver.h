// Whole-matrix u8 x s8 GEMM: packs activations, tiles over the microkernels of one ISA
// and applies an epilogue (int32, float, or requantized uint8 output). The entry point
// layers and the JS kernels call; it validates nothing a caller could get wrong at run
// time beyond QF_CHECKs (layers validate user input before reaching here).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/isa.h"
#include "kernels/requant/requant.h"
#include "kernels/u8s8_gemm/u8s8_gemm.h"

namespace qf::kernels {

// The microkernels and epilogues one ISA uses. Cheap to copy.
struct GemmKernels {
  Isa isa;
  U8S8GemmConfig gemm;
  RequantF32Fn f32;
  RequantU8Fn u8;
};
GemmKernels GemmKernelsFor(Isa isa);

// Weights packed for one GemmKernels' panel shape. Owns its bytes; k x n elements.
class PackedWeights {
 public:
  PackedWeights() = default;
  // b: row-major k x n int8, ldb elements between rows. Requires k <= kMaxGemmDepth.
  PackedWeights(const GemmKernels& kernels, size_t k, size_t n, const int8_t* b, size_t ldb);

  size_t k() const { return k_; }
  size_t n() const { return n_; }
  size_t nr() const { return nr_; }
  size_t kr() const { return kr_; }
  const int8_t* data() const { return data_.data(); }

 private:
  size_t k_ = 0, n_ = 0, nr_ = 0, kr_ = 0;
  std::vector<int8_t> data_;
};

// Where a GEMM's m x n results go. Pointers are borrowed for the call.
struct OutputI32 {
  int32_t* c;
  size_t ldc;
};
struct OutputF32 {  // out = acc * scale[j] + bias[j]
  float* out;
  size_t ldo;
  const float* scale;  // n values
  const float* bias;   // n values
};
struct OutputU8 {  // out = clamp(round(acc * scale[j] + offset[j]), qmin, qmax)
  uint8_t* out;
  size_t ldo;
  const float* scale;   // n values
  const float* offset;  // n values
  uint8_t qmin, qmax;
};

// C = (A - a_zero_point) * W for A uint8 m x k (lda elements between rows). `w` must
// have been packed for `kernels` (same NR and KR).
void GemmU8S8(const GemmKernels& kernels, size_t m, const uint8_t* a, size_t lda,
              uint8_t a_zero_point, const PackedWeights& w, const OutputI32& out);
void GemmU8S8(const GemmKernels& kernels, size_t m, const uint8_t* a, size_t lda,
              uint8_t a_zero_point, const PackedWeights& w, const OutputF32& out);
void GemmU8S8(const GemmKernels& kernels, size_t m, const uint8_t* a, size_t lda,
              uint8_t a_zero_point, const PackedWeights& w, const OutputU8& out);

}  // namespace qf::kernels
