// im2col for NHWC uint8 input: one output row per output pixel, padding filled with the
// zero point. Portable only (memset/memcpy per window row); there is no SIMD variant.
#include <cstring>

#include "core/check.h"
#include "kernels/conv2d/conv2d.h"

namespace qf::kernels {

void Im2ColU8(const Conv2DShape& s, const uint8_t* x, uint8_t pad_value, size_t row0, size_t rows,
              uint8_t* out, size_t ld) {
  QF_CHECK(s.Valid() && ld >= s.depth());
  const size_t oh = s.out_h(), ow = s.out_w();
  QF_CHECK(row0 <= s.out_rows() && rows <= s.out_rows() - row0);
  const size_t c = s.cin, window_row = s.kw * c;  // bytes per window row

  size_t ox = row0 % ow, oy = row0 / ow % oh, b = row0 / ow / oh;
  for (size_t r = 0; r < rows; r++) {
    uint8_t* dst = out + r * ld;
    const ConvTaps ys = ValidConvTaps(oy, s.stride_h, s.pad_top, s.kh, s.in_h);
    const ConvTaps xs = ValidConvTaps(ox, s.stride_w, s.pad_left, s.kw, s.in_w);
    // Columns [xs.lo, xs.hi) of a window row are consecutive pixels of one image row,
    // so they are contiguous in NHWC: one memcpy.
    const size_t left = xs.lo * c, mid = (xs.hi - xs.lo) * c, right = window_row - left - mid;
    for (size_t ky = 0; ky < s.kh; ky++, dst += window_row) {
      if (ky < ys.lo || ky >= ys.hi || mid == 0) {
        std::memset(dst, pad_value, window_row);
        continue;
      }
      const size_t iy = oy * s.stride_h + ky - s.pad_top;
      const size_t ix = ox * s.stride_w + xs.lo - s.pad_left;
      std::memset(dst, pad_value, left);
      std::memcpy(dst + left, x + ((b * s.in_h + iy) * s.in_w + ix) * c, mid);
      std::memset(dst + left + mid, pad_value, right);
    }
    if (++ox == ow) {
      ox = 0;
      if (++oy == oh) {
        oy = 0;
        b++;
      }
    }
  }
}

}  // namespace qf::kernels
