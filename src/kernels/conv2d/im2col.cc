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
    const ConvWindow win = WindowAt(s, b, oy, ox);
    // Columns [tx.lo, tx.hi) of a window row are consecutive pixels of one image row,
    // so they are contiguous in NHWC: one memcpy.
    const size_t left = win.tx.lo * c, mid = (win.tx.hi - win.tx.lo) * c;
    const size_t right = window_row - left - mid;
    for (size_t ky = 0; ky < s.kh; ky++, dst += window_row) {
      if (ky < win.ty.lo || ky >= win.ty.hi || mid == 0) {
        std::memset(dst, pad_value, window_row);
        continue;
      }
      std::memset(dst, pad_value, left);
      std::memcpy(dst + left, x + win.Pixel(ky, win.tx.lo) * c, mid);
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
