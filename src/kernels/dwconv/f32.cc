// Float depthwise convolution, forward and backward, on the thread pool.
#include "kernels/dwconv/f32.h"

#include "core/thread_pool.h"

namespace qf::kernels {

void DwConvF32(const DwConvShape& s, const float* x, const float* w, const float* bias, float* y) {
  const size_t oh = s.out_h(), ow = s.out_w(), c = s.c;
  // Output rows (b, oy) in pieces: each output element is its own sum.
  ParallelForRows(s.n * oh, ow * c * s.kh * s.kw, [&](size_t row0, size_t row1) {
    for (size_t row = row0; row < row1; row++) {
      const size_t b = row / oh, oy = row % oh;
      for (size_t ox = 0; ox < ow; ox++) {
        float* out = y + ((b * oh + oy) * ow + ox) * c;
        for (size_t ch = 0; ch < c; ch++) out[ch] = bias[ch];
        const ConvWindow win = WindowAt(s, b, oy, ox);
        for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
          for (size_t kx = win.tx.lo; kx < win.tx.hi; kx++) {
            const float* in = x + win.Pixel(ky, kx) * c;
            const float* wk = w + (ky * s.kw + kx) * c;
            for (size_t ch = 0; ch < c; ch++) out[ch] += in[ch] * wk[ch];
          }
        }
      }
    }
  });
}

void DwConvF32BackwardAccumulate(const DwConvShape& s, const float* x, const float* w,
                                 const float* dy, float* dx, float* dw) {
  const size_t oh = s.out_h(), ow = s.out_w(), c = s.c, taps = s.kh * s.kw;
  // By images: an image's dx pixels are its own, each element one chain over the image's
  // positions in order. dw is summed by SumRowPieces: pieces of images, each into rows of
  // its own, added in order. The pieces depend on the shape only (at most kMaxThreads of
  // them; one, a chain straight into dw, when the work is small), so dx and dw are the
  // same bytes at any thread count.
  const size_t work = s.out_rows() * taps * c;
  const size_t grain = work < kParallelElements ? s.n : (s.n + kMaxThreads - 1) / kMaxThreads;
  SumRowPieces(s.n, grain, taps * c, dw, [&](size_t b, float* dw_rows) {
    for (size_t oy = 0; oy < oh; oy++) {
      for (size_t ox = 0; ox < ow; ox++) {
        const float* g = dy + ((b * oh + oy) * ow + ox) * c;
        const ConvWindow win = WindowAt(s, b, oy, ox);
        for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
          for (size_t kx = win.tx.lo; kx < win.tx.hi; kx++) {
            const size_t at = win.Pixel(ky, kx) * c;
            const float* wk = w + (ky * s.kw + kx) * c;
            float* dwk = dw_rows + (ky * s.kw + kx) * c;
            for (size_t ch = 0; ch < c; ch++) {
              dwk[ch] += x[at + ch] * g[ch];
              if (dx) dx[at + ch] += wk[ch] * g[ch];
            }
          }
        }
      }
    }
  });
}

}  // namespace qf::kernels
