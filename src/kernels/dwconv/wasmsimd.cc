// WebAssembly SIMD128 depthwise convolution: per output pixel, 16 channels per step
// (then 8), all taps accumulated in registers; the last c % 8 channels take an exact
// scalar loop. Loads never go past a pixel's c bytes, so no input padding is needed.
#include <wasm_simd128.h>

#include <algorithm>

#include "core/check.h"
#include "kernels/dwconv/dwconv.h"

namespace qf::kernels {
namespace {

// lo/hi += (x - zp) * w for 8 channels. x - zp lies in [-255, 255] and w in
// [-128, 127], both exact in int16; their products (|p| <= 32640) are formed in int32,
// and kMaxDwConvTaps bounds the sum.
inline void Mac8(const uint8_t* xp, const int8_t* wp, v128_t zp, v128_t& lo, v128_t& hi) {
  const v128_t xv = wasm_i16x8_sub(wasm_u16x8_load8x8(xp), zp);
  const v128_t wv = wasm_i16x8_load8x8(wp);
  lo = wasm_i32x4_add(lo, wasm_i32x4_extmul_low_i16x8(xv, wv));
  hi = wasm_i32x4_add(hi, wasm_i32x4_extmul_high_i16x8(xv, wv));
}

}  // namespace

void qf_dwconv__wasmsimd(const DwConvShape& s, const uint8_t* x, uint8_t x_zero_point,
                         const int8_t* w, int32_t* y, size_t ldy) {
  QF_CHECK(s.Valid() && ldy >= s.c);
  const size_t oh = s.out_h(), ow = s.out_w(), c = s.c;
  const v128_t vzp = wasm_i16x8_splat(x_zero_point);
  const int32_t zp = x_zero_point;
  for (size_t b = 0; b < s.n; b++) {
    for (size_t oy = 0; oy < oh; oy++) {
      for (size_t ox = 0; ox < ow; ox++) {
        // Taps outside the image would add (zp - zp) * w = 0: they are skipped.
        const ConvWindow win = WindowAt(s, b, oy, ox);
        int32_t* out = y + ((b * oh + oy) * ow + ox) * ldy;
        // Input pixel and weight vector of tap (ky, kx), at channel 0.
        auto pixel = [&](size_t ky, size_t kx) { return x + win.Pixel(ky, kx) * c; };
        auto weights = [&](size_t ky, size_t kx) { return w + (ky * s.kw + kx) * c; };

        size_t ch = 0;
        for (; ch + 16 <= c; ch += 16) {
          v128_t a0 = wasm_i32x4_const(0, 0, 0, 0), a1 = a0, a2 = a0, a3 = a0;
          for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
            for (size_t kx = win.tx.lo; kx < win.tx.hi; kx++) {
              const uint8_t* xp = pixel(ky, kx) + ch;
              const int8_t* wp = weights(ky, kx) + ch;
              Mac8(xp, wp, vzp, a0, a1);
              Mac8(xp + 8, wp + 8, vzp, a2, a3);
            }
          }
          wasm_v128_store(out + ch, a0);
          wasm_v128_store(out + ch + 4, a1);
          wasm_v128_store(out + ch + 8, a2);
          wasm_v128_store(out + ch + 12, a3);
        }
        if (ch + 8 <= c) {
          v128_t a0 = wasm_i32x4_const(0, 0, 0, 0), a1 = a0;
          for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
            for (size_t kx = win.tx.lo; kx < win.tx.hi; kx++) {
              Mac8(pixel(ky, kx) + ch, weights(ky, kx) + ch, vzp, a0, a1);
            }
          }
          wasm_v128_store(out + ch, a0);
          wasm_v128_store(out + ch + 4, a1);
          ch += 8;
        }
        if (ch < c) {  // the last c % 8 channels, same sums in scalar
          std::fill(out + ch, out + c, 0);
          for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
            for (size_t kx = win.tx.lo; kx < win.tx.hi; kx++) {
              const uint8_t* xp = pixel(ky, kx);
              const int8_t* wp = weights(ky, kx);
              for (size_t t = ch; t < c; t++) out[t] += (int32_t(xp[t]) - zp) * int32_t(wp[t]);
            }
          }
        }
      }
    }
  }
}

}  // namespace qf::kernels
