// Reference int8 Conv2D: the numeric specification of conv2d.h. Plain loops, never
// optimized; every other variant is tested against it.
#include "core/check.h"
#include "kernels/conv2d/conv2d.h"

namespace qf::kernels {

void qf_conv2d__ref(const Conv2DShape& s, const uint8_t* x, uint8_t x_zero_point, const int8_t* w,
                    int32_t* y, size_t ldy) {
  QF_CHECK(s.Valid() && ldy >= s.cout);
  const size_t oh = s.out_h(), ow = s.out_w();
  const int32_t zp = x_zero_point;
  for (size_t b = 0; b < s.n; b++) {
    for (size_t oy = 0; oy < oh; oy++) {
      for (size_t ox = 0; ox < ow; ox++) {
        for (size_t co = 0; co < s.cout; co++) {
          int32_t acc = 0;
          for (size_t ky = 0; ky < s.kh; ky++) {
            for (size_t kx = 0; kx < s.kw; kx++) {
              const int64_t iy = int64_t(oy * s.stride_h + ky) - int64_t(s.pad_top);
              const int64_t ix = int64_t(ox * s.stride_w + kx) - int64_t(s.pad_left);
              const bool inside =
                  iy >= 0 && iy < int64_t(s.in_h) && ix >= 0 && ix < int64_t(s.in_w);
              for (size_t ci = 0; ci < s.cin; ci++) {
                const int32_t xv =
                    inside
                        ? int32_t(x[((b * s.in_h + size_t(iy)) * s.in_w + size_t(ix)) * s.cin + ci])
                        : zp;
                const int32_t wv = w[((ky * s.kw + kx) * s.cin + ci) * s.cout + co];
                acc += (xv - zp) * wv;
              }
            }
          }
          y[((b * oh + oy) * ow + ox) * ldy + co] = acc;
        }
      }
    }
  }
}

}  // namespace qf::kernels
