// int8 depthwise 2-D convolution, NHWC, depth multiplier 1: the shape, the reference,
// the scalar and SIMD kernels, their registry, and a driver applying the requant
// epilogues. Knows nothing of layers; the geometry helpers come from conv2d.h.
//
// Numeric definition (for every variant, exactly):
//   y[b][oy][ox][c] = sum_{ky,kx} (x[b][oy*sh - pt + ky][ox*sw - pl + kx][c] - zp)
//                                 * w[ky][kx][c]                            (int32)
// with x uint8 [N,H,W,C] (dense), w int8 [KH,KW,C] (dense) and zp the activation zero
// point. Input cells outside the image count as zp (they contribute exactly zero).
// Output row r = (b*OH + oy)*OW + ox holds C values; rows are `ld` elements apart.
// KH*KW <= kMaxDwConvTaps keeps int32 exact (|product| <= 32640).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/conv2d/conv2d.h"
#include "kernels/isa.h"
#include "kernels/requant/requant.h"
#include "kernels/u8s8_gemm/driver.h"

namespace qf::kernels {

// Largest window (KH*KW) for which int32 accumulation is exact.
inline constexpr size_t kMaxDwConvTaps = 65536;

// A depthwise problem, in elements. Plain data: check Valid() before handing it to a
// kernel (kernels QF_CHECK it; callers validate user input first).
struct DwConvShape {
  size_t n = 1, in_h = 0, in_w = 0;  // input batch and image size
  size_t c = 0;                      // channels, in = out
  size_t kh = 1, kw = 1;             // kernel window
  size_t stride_h = 1, stride_w = 1;
  size_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;

  size_t out_h() const { return ConvOutputExtent(in_h, kh, stride_h, pad_top, pad_bottom); }
  size_t out_w() const { return ConvOutputExtent(in_w, kw, stride_w, pad_left, pad_right); }
  size_t out_rows() const { return n * out_h() * out_w(); }
  // False for any zero extent or stride, a window larger than the padded input,
  // KH*KW above kMaxDwConvTaps, or element counts that do not fit size_t.
  bool Valid() const;
};

// A kernel: y (out_rows() rows of c int32, ldy >= c elements apart) = dwconv(x - zp, w).
// Writes exactly those values, nothing else; reads x and w only inside their extents.
using DwConvFn = void (*)(const DwConvShape& s, const uint8_t* x, uint8_t x_zero_point,
                          const int8_t* w, int32_t* y, size_t ldy);

// The specification: plain loops.
void qf_dwconv__ref(const DwConvShape&, const uint8_t*, uint8_t, const int8_t*, int32_t*, size_t);
// Channel-innermost loops; padding taps skipped.
void qf_dwconv__scalar(const DwConvShape&, const uint8_t*, uint8_t, const int8_t*, int32_t*,
                       size_t);
#if defined(QF_HAVE_WASMSIMD)
// 16 then 8 channels per step, exact scalar tail for the last c % 8.
void qf_dwconv__wasmsimd(const DwConvShape&, const uint8_t*, uint8_t, const int8_t*, int32_t*,
                         size_t);
#endif

struct DwConvKernel {
  const char* name;
  Isa isa;
  DwConvFn fn;
};

// Every variant compiled into this build, for tests and benchmarks.
Span<DwConvKernel> DwConvKernels();

// The kernel and epilogues one ISA uses (kWasmSimd falls back to kScalar in builds
// without SIMD; kRef gives the reference kernel and epilogues). Cheap to copy.
struct DwConvConfig {
  Isa isa;
  DwConvFn conv;
  RequantF32Fn f32;
  RequantU8Fn u8;
};
DwConvConfig DwConvConfigFor(Isa isa);

// y = dwconv(x - x_zero_point, w) into `out` (out_rows() rows of c values; the f32/u8
// epilogues take c scales and biases, one per channel). The f32/u8 forms hold one
// image's int32 accumulators in a scratch buffer allocated per call. QF_CHECKs
// s.Valid() and ld >= c.
void DwConvU8S8(const DwConvConfig& config, const DwConvShape& s, const uint8_t* x,
                uint8_t x_zero_point, const int8_t* w, const OutputI32& out);
void DwConvU8S8(const DwConvConfig& config, const DwConvShape& s, const uint8_t* x,
                uint8_t x_zero_point, const int8_t* w, const OutputF32& out);
void DwConvU8S8(const DwConvConfig& config, const DwConvShape& s, const uint8_t* x,
                uint8_t x_zero_point, const int8_t* w, const OutputU8& out);

}  // namespace qf::kernels
