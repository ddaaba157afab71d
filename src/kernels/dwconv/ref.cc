// Reference int8 depthwise convolution: the numeric specification of dwconv.h. Plain
// loops, never optimized; every other variant is tested against it.
#include "core/check.h"
#include "kernels/dwconv/dwconv.h"

namespace qf::kernels {

void qf_dwconv__ref(const DwConvShape& s, const uint8_t* x, uint8_t x_zero_point, const int8_t* w,
                    int32_t* y, size_t ldy) {
  QF_CHECK(s.Valid() && ldy >= s.c);
  const size_t oh = s.out_h(), ow = s.out_w();
  const int32_t zp = x_zero_point;
  for (size_t b = 0; b < s.n; b++) {
    for (size_t oy = 0; oy < oh; oy++) {
      for (size_t ox = 0; ox < ow; ox++) {
        for (size_t c = 0; c < s.c; c++) {
          int32_t acc = 0;
          for (size_t ky = 0; ky < s.kh; ky++) {
            for (size_t kx = 0; kx < s.kw; kx++) {
              const int64_t iy = int64_t(oy * s.stride_h + ky) - int64_t(s.pad_top);
              const int64_t ix = int64_t(ox * s.stride_w + kx) - int64_t(s.pad_left);
              const bool inside =
                  iy >= 0 && iy < int64_t(s.in_h) && ix >= 0 && ix < int64_t(s.in_w);
              const int32_t xv =
                  inside ? int32_t(x[((b * s.in_h + size_t(iy)) * s.in_w + size_t(ix)) * s.c + c])
                         : zp;
              acc += (xv - zp) * int32_t(w[(ky * s.kw + kx) * s.c + c]);
            }
          }
          y[((b * oh + oy) * ow + ox) * ldy + c] = acc;
        }
      }
    }
  }
}

}  // namespace qf::kernels
