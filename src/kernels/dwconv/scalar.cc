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
    for (size_t oy = 0; oy < oh; oy++) {
      for (size_t ox = 0; ox < ow; ox++) {
        // Taps outside the image would add (zp - zp) * w = 0: they are skipped.
        const ConvWindow win = WindowAt(s, b, oy, ox);
        int32_t* acc = y + ((b * oh + oy) * ow + ox) * ldy;
        std::fill(acc, acc + c, 0);
        for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
          for (size_t kx = win.tx.lo; kx < win.tx.hi; kx++) {
            const uint8_t* xp = x + win.Pixel(ky, kx) * c;
            const int8_t* wp = w + (ky * s.kw + kx) * c;
            for (size_t ch = 0; ch < c; ch++) acc[ch] += (int32_t(xp[ch]) - zp) * int32_t(wp[ch]);
          }
        }
      }
    }
  }
}

}  // namespace qf::kernels
