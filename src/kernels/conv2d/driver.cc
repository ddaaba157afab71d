// Conv2D as im2col + u8s8 GEMM, with the GEMM driver's epilogues. Not a kernel of its
// own: the arithmetic (and all SIMD) is the GEMM microkernels'. Threads take whole
// im2col chunks (each its own rows of the output); the GEMM inside a chunk then runs on
// the thread that took it.
#include <algorithm>
#include <memory>

#include "core/check.h"
#include "core/thread_pool.h"
#include "kernels/conv2d/conv2d.h"

namespace qf::kernels {
namespace {

// Target size of one im2col chunk: its int16 widening is then one GEMM row block
// (the GEMM driver's 128 KiB), so the chunk is packed once and stays in L2.
constexpr size_t kIm2ColChunkBytes = 64 * 1024;

// The same output, starting `row` rows further down.
OutputI32 From(const OutputI32& o, size_t row) { return {o.c + row * o.ldc, o.ldc}; }
OutputF32 From(const OutputF32& o, size_t row) {
  OutputF32 r = o;
  r.out += row * o.ldo;
  return r;
}
OutputU8 From(const OutputU8& o, size_t row) {
  OutputU8 r = o;
  r.out += row * o.ldo;
  return r;
}
size_t Ld(const OutputI32& o) { return o.ldc; }
size_t Ld(const OutputF32& o) { return o.ldo; }
size_t Ld(const OutputU8& o) { return o.ldo; }

template <typename Output>
void Run(const GemmKernels& kernels, const Conv2DShape& s, const uint8_t* x, uint8_t zp,
         const PackedWeights& w, const Output& out) {
  QF_CHECK(s.Valid());
  const size_t depth = s.depth(), m = s.out_rows();
  QF_CHECK(w.k() == depth && w.n() == s.cout && Ld(out) >= s.cout);
  const bool unpadded = s.pad_top == 0 && s.pad_left == 0 && s.pad_bottom == 0 && s.pad_right == 0;

  // The input already is the im2col matrix: every pixel row (1x1, stride 1) ...
  if (unpadded && s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1) {
    GemmU8S8(kernels, m, x, s.cin, zp, w, out);
    return;
  }
  // ... or every whole image (the window covers it: one output pixel per image).
  if (unpadded && s.kh == s.in_h && s.kw == s.in_w) {
    GemmU8S8(kernels, s.n, x, depth, zp, w, out);
    return;
  }

  const size_t mr = kernels.gemm.main->mr;
  size_t chunk = std::max(mr, kIm2ColChunkBytes / depth / mr * mr);
  chunk = std::min(chunk, m);
  ParallelFor((m + chunk - 1) / chunk, [&](size_t c) {
    const size_t r0 = c * chunk, rows = std::min(chunk, m - r0);
    const std::unique_ptr<uint8_t[]> cols(new uint8_t[rows * depth]);  // Im2ColU8 writes it all
    Im2ColU8(s, x, zp, r0, rows, cols.get(), depth);
    GemmU8S8(kernels, rows, cols.get(), depth, zp, w, From(out, r0));
  });
}

}  // namespace

PackedWeights PackConv2DWeights(const GemmKernels& kernels, const Conv2DShape& s, const int8_t* w) {
  QF_CHECK(s.Valid());
  return PackedWeights(kernels, s.depth(), s.cout, w, s.cout);
}

void Conv2DU8S8(const GemmKernels& kernels, const Conv2DShape& s, const uint8_t* x,
                uint8_t x_zero_point, const PackedWeights& w, const OutputI32& out) {
  Run(kernels, s, x, x_zero_point, w, out);
}

void Conv2DU8S8(const GemmKernels& kernels, const Conv2DShape& s, const uint8_t* x,
                uint8_t x_zero_point, const PackedWeights& w, const OutputF32& out) {
  Run(kernels, s, x, x_zero_point, w, out);
}

void Conv2DU8S8(const GemmKernels& kernels, const Conv2DShape& s, const uint8_t* x,
                uint8_t x_zero_point, const PackedWeights& w, const OutputU8& out) {
  Run(kernels, s, x, x_zero_point, w, out);
}

}  // namespace qf::kernels
