// Float im2col / col2im: plain loops over output rows and window taps, on the thread
// pool by rows (im2col) and by images (col2im).
#include "kernels/conv2d/im2col_f32.h"

#include <cstring>

#include "core/thread_pool.h"

namespace qf::kernels {

bool Im2ColIsIdentity(const Conv2DShape& s) {
  const bool unpadded = s.pad_top == 0 && s.pad_left == 0 && s.pad_bottom == 0 && s.pad_right == 0;
  const bool one_by_one = s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1;
  const bool whole_image = s.kh == s.in_h && s.kw == s.in_w;
  return unpadded && (one_by_one || whole_image);
}

void Im2ColF32(const Conv2DShape& s, const float* x, float* cols) {
  const size_t oh = s.out_h(), ow = s.out_w(), depth = s.depth();
  ParallelForRows(s.n * oh, ow * depth, [&](size_t r0, size_t r1) {  // rows (b, oy)
    for (size_t r = r0; r < r1; r++) {
      const size_t b = r / oh, oy = r % oh;
      for (size_t ox = 0; ox < ow; ox++) {
        float* row = cols + (r * ow + ox) * depth;
        std::memset(row, 0, depth * sizeof(float));
        const ConvWindow win = WindowAt(s, b, oy, ox);
        for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
          std::memcpy(row + (ky * s.kw + win.tx.lo) * s.cin, x + win.Pixel(ky, win.tx.lo) * s.cin,
                      (win.tx.hi - win.tx.lo) * s.cin * sizeof(float));
        }
      }
    }
  });
}

void Col2ImF32Accumulate(const Conv2DShape& s, const float* dcols, float* dx) {
  const size_t oh = s.out_h(), ow = s.out_w(), depth = s.depth();
  // By images: windows overlap within an image only, and each image's positions are
  // added in order, as on one thread.
  ParallelForRows(s.n, oh * ow * depth, [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; b++) {
      for (size_t oy = 0; oy < oh; oy++) {
        for (size_t ox = 0; ox < ow; ox++) {
          const float* row = dcols + ((b * oh + oy) * ow + ox) * depth;
          const ConvWindow win = WindowAt(s, b, oy, ox);
          for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
            const float* src = row + (ky * s.kw + win.tx.lo) * s.cin;
            float* dst = dx + win.Pixel(ky, win.tx.lo) * s.cin;
            for (size_t i = 0; i < (win.tx.hi - win.tx.lo) * s.cin; i++) dst[i] += src[i];
          }
        }
      }
    }
  });
}

}  // namespace qf::kernels
