// Portable depthwise convolution: channel-innermost loops over contiguous NHWC pixels,
// accumulating in the output row. No intrinsics; what native and no-SIMD builds run.
#include <algorithm>

#include "core/check.h"
#include "kernels/dwconv/dwconv.h"

namespace qf::kernels {

void qf_dwconv__scalar(const DwConvShape& s, const uint8_t* x, uint8_t x_zero_point,
                       const int8_t* w, int32_t* y, size_t ldy) {
  QF_CHECK(s.Valid() && ldy >= s.c);
  const size_t oh = s.out_h(), ow = s.out_w(), c = s.c;
  const int32_t zp = x_zero_point;
  for (size_t b = 0; b < s.n; b++) {
    const uint8_t* image = x + b * s.in_h * s.in_w * c;
    for (size_t oy = 0; oy < oh; oy++) {
      // Taps outside the image would add (zp - zp) * w = 0: they are skipped.
      const ConvTaps ys = ValidConvTaps(oy, s.stride_h, s.pad_top, s.kh, s.in_h);
      for (size_t ox = 0; ox < ow; ox++) {
        const ConvTaps xs = ValidConvTaps(ox, s.stride_w, s.pad_left, s.kw, s.in_w);
        int32_t* acc = y + ((b * oh + oy) * ow + ox) * ldy;
        std::fill(acc, acc + c, 0);
        for (size_t ky = ys.lo; ky < ys.hi; ky++) {
          const size_t iy = oy * s.stride_h + ky - s.pad_top;
          for (size_t kx = xs.lo; kx < xs.hi; kx++) {
            const size_t ix = ox * s.stride_w + kx - s.pad_left;
            const uint8_t* xp = image + (iy * s.in_w + ix) * c;
            const int8_t* wp = w + (ky * s.kw + kx) * c;
            for (size_t ch = 0; ch < c; ch++) acc[ch] += (int32_t(xp[ch]) - zp) * int32_t(wp[ch]);
          }
        }
      }
    }
  }
}

}  // namespace qf::kernels
