// int8 2-D convolution, NHWC: the shape and its validation, the reference, im2col and
// the im2col + u8s8 GEMM driver, and the registry. No SIMD of its own: the fast path's
// SIMD lives in the GEMM microkernels; im2col is memset/memcpy per row and needs none.
//
// Numeric definition (for every variant, exactly):
//   y[b][oy][ox][co] = sum_{ky,kx,ci} (x[b][oy*sh - pt + ky][ox*sw - pl + kx][ci] - zp)
//                                      * w[ky][kx][ci][co]                 (int32)
// with x uint8 [N,H,W,Cin] (dense), w int8 [KH,KW,Cin,Cout] (dense, i.e. the GEMM B
// matrix of (KH*KW*Cin) x Cout, row-major) and zp the activation zero point. Input
// cells outside the image count as zp, so padding contributes exactly zero. Output
// row r = (b*OH + oy)*OW + ox holds Cout values; rows are `ld` elements apart.
// Depth KH*KW*Cin <= kMaxGemmDepth keeps int32 exact (|product| <= 32640).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"
#include "kernels/u8s8_gemm/driver.h"

namespace qf::kernels {

// ---------------------------------------------------------------------------------
// Geometry shared by the convolution families (conv2d, dwconv).
// ---------------------------------------------------------------------------------

// Largest input extent plus padding on one axis; keeps every coordinate an int32.
inline constexpr size_t kMaxConvExtent = 0x7fffffff;

// Output extent of one axis: (in + pad_lo + pad_hi - k) / stride + 1. Returns 0 when the
// window does not fit the padded input even once, when in, k or stride is 0, or when
// in + pad_lo + pad_hi exceeds kMaxConvExtent.
size_t ConvOutputExtent(size_t in, size_t k, size_t stride, size_t pad_lo, size_t pad_hi);

// *acc *= v; false when the product overflows size_t (element counts in Valid()).
inline bool MulInto(size_t* acc, size_t v) { return !__builtin_mul_overflow(*acc, v, acc); }

// The taps [lo, hi) of output position `o` whose input coordinate
// o*stride - pad_lo + t lies inside [0, in). Empty (lo == hi) when the whole window is
// padding. Exact for every output position of a Valid() shape (all coordinates then
// stay below kMaxConvExtent).
struct ConvTaps {
  size_t lo, hi;
};
inline ConvTaps ValidConvTaps(size_t o, size_t stride, size_t pad_lo, size_t k, size_t in) {
  const int64_t start = int64_t(o * stride) - int64_t(pad_lo);
  const int64_t lo = std::clamp<int64_t>(-start, 0, int64_t(k));
  const int64_t hi = std::clamp<int64_t>(int64_t(in) - start, lo, int64_t(k));
  return {size_t(lo), size_t(hi)};
}

// The window of one output position: the taps inside the input on each axis, and the
// input pixel under each tap (an index in pixels, (b * in_h + iy) * in_w + ix).
struct ConvWindow {
  ConvTaps ty, tx;
  size_t origin;  // the pixel under tap (0, 0), modulo 2^N: in the padding it lies outside
  size_t in_w;
  // Exact for the taps inside the input (the modular arithmetic comes back in range).
  size_t Pixel(size_t ky, size_t kx) const { return origin + ky * in_w + kx; }
};

// The window of output position (oy, ox) of image b, for any convolution shape with
// strides, pads, a kernel and an input size (Conv2DShape, DwConvShape).
template <typename Shape>
ConvWindow WindowAt(const Shape& s, size_t b, size_t oy, size_t ox) {
  return {ValidConvTaps(oy, s.stride_h, s.pad_top, s.kh, s.in_h),
          ValidConvTaps(ox, s.stride_w, s.pad_left, s.kw, s.in_w),
          (b * s.in_h + oy * s.stride_h - s.pad_top) * s.in_w + ox * s.stride_w - s.pad_left,
          s.in_w};
}

// ---------------------------------------------------------------------------------
// Conv2D
// ---------------------------------------------------------------------------------

// A convolution problem, in elements. Plain data: fill it, then check Valid() before
// handing it to a kernel (kernels QF_CHECK it; callers validate user input first).
struct Conv2DShape {
  size_t n = 1, in_h = 0, in_w = 0;  // input batch and image size
  size_t cin = 0, cout = 0;          // input and output channels
  size_t kh = 1, kw = 1;             // kernel window
  size_t stride_h = 1, stride_w = 1;
  size_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;

  size_t out_h() const { return ConvOutputExtent(in_h, kh, stride_h, pad_top, pad_bottom); }
  size_t out_w() const { return ConvOutputExtent(in_w, kw, stride_w, pad_left, pad_right); }
  size_t depth() const { return kh * kw * cin; }             // GEMM k
  size_t out_rows() const { return n * out_h() * out_w(); }  // GEMM m
  // False for any zero extent or stride, a window larger than the padded input, a
  // depth above kMaxGemmDepth, or element counts (input, weights, output) that do
  // not fit size_t.
  bool Valid() const;
};

// The specification: plain loops. y has out_rows() rows of cout int32, ldy >= cout
// elements apart.
void qf_conv2d__ref(const Conv2DShape& s, const uint8_t* x, uint8_t x_zero_point, const int8_t* w,
                    int32_t* y, size_t ldy);

// Writes rows [row0, row0 + rows) of the im2col matrix of x: row r holds the depth()
// input values output row r's window covers, in weight order (ky, kx, ci), with cells
// outside the image set to `pad_value` (pass the zero point). Rows are `ld` >= depth()
// bytes apart; bytes [depth(), ld) of each row are left alone. Portable only: each
// window row is one memcpy with memsets for the padding, nothing for SIMD to win.
void Im2ColU8(const Conv2DShape& s, const uint8_t* x, uint8_t pad_value, size_t row0, size_t rows,
              uint8_t* out, size_t ld);

// Packs conv weights w [KH,KW,Cin,Cout] as the GEMM B matrix for `kernels`.
PackedWeights PackConv2DWeights(const GemmKernels& kernels, const Conv2DShape& s, const int8_t* w);

// y = conv(x - x_zero_point, w), written to `out` (out_rows() rows of cout values;
// the f32/u8 epilogues take cout scales and biases, one per output channel).
// `w` comes from PackConv2DWeights with the same kernels and shape. Runs im2col in
// chunks of rows (a bounded scratch buffer, allocated per call) and skips it where the
// input already is the im2col matrix: 1x1 stride-1 unpadded convolutions, and windows
// covering the whole unpadded image. QF_CHECKs s.Valid() and the packed shape.
void Conv2DU8S8(const GemmKernels& kernels, const Conv2DShape& s, const uint8_t* x,
                uint8_t x_zero_point, const PackedWeights& w, const OutputI32& out);
void Conv2DU8S8(const GemmKernels& kernels, const Conv2DShape& s, const uint8_t* x,
                uint8_t x_zero_point, const PackedWeights& w, const OutputF32& out);
void Conv2DU8S8(const GemmKernels& kernels, const Conv2DShape& s, const uint8_t* x,
                uint8_t x_zero_point, const PackedWeights& w, const OutputU8& out);

// One registered variant with the reference's signature (int32 output, unpacked
// weights). The im2col variants pack the weights on every call: fine for tests and
// benchmarks of the whole path, while layers pack once and call Conv2DU8S8.
using Conv2DFn = void (*)(const Conv2DShape& s, const uint8_t* x, uint8_t x_zero_point,
                          const int8_t* w, int32_t* y, size_t ldy);
struct Conv2DKernel {
  const char* name;
  Isa isa;
  Conv2DFn fn;
};

// Every variant compiled into this build, for tests and benchmarks.
Span<Conv2DKernel> Conv2DKernels();

}  // namespace qf::kernels
