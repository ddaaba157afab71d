// Depthwise convolution shape validation, and the driver that runs a kernel and the
// requant epilogues. The arithmetic is the kernels'; this file only routes rows.
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"
#include "kernels/dwconv/dwconv.h"

namespace qf::kernels {
namespace {

// Runs the kernel one image at a time into a scratch buffer, then `epilogue(acc, row)`
// on each of the image's output rows (row counted from the start of the batch). Images
// are tasks on the thread pool (integer sums: the same bytes at any thread count), each
// with its own buffer.
template <typename Epilogue>
void PerImage(const DwConvConfig& config, const DwConvShape& s, const uint8_t* x, uint8_t zp,
              const int8_t* w, Epilogue epilogue) {
  QF_CHECK(s.Valid());
  DwConvShape one = s;
  one.n = 1;
  const size_t rows = one.out_rows(), image = s.in_h * s.in_w * s.c;
  const size_t per_task = rows * s.c * s.kh * s.kw >= kParallelElements ? 1 : s.n;
  ParallelForPieces(s.n, per_task, [&](size_t b0, size_t b1) {
    std::vector<int32_t> acc(rows * s.c);
    for (size_t b = b0; b < b1; b++) {
      config.conv(one, x + b * image, zp, w, acc.data(), s.c);
      for (size_t r = 0; r < rows; r++) epilogue(acc.data() + r * s.c, b * rows + r);
    }
  });
}

}  // namespace

bool DwConvShape::Valid() const {
  if (n == 0 || c == 0) return false;
  const size_t oh = out_h(), ow = out_w();
  if (oh == 0 || ow == 0) return false;  // also covers zero extents, kernels, strides
  size_t taps = kh;
  if (!MulInto(&taps, kw) || taps > kMaxDwConvTaps) return false;
  size_t in = n, weights = taps, out = n;
  return MulInto(&in, in_h) && MulInto(&in, in_w) && MulInto(&in, c) && MulInto(&weights, c) &&
         MulInto(&out, oh) && MulInto(&out, ow) && MulInto(&out, c);
}

void DwConvU8S8(const DwConvConfig& config, const DwConvShape& s, const uint8_t* x,
                uint8_t x_zero_point, const int8_t* w, const OutputI32& out) {
  QF_CHECK(out.ldc >= s.c);
  config.conv(s, x, x_zero_point, w, out.c, out.ldc);
}

void DwConvU8S8(const DwConvConfig& config, const DwConvShape& s, const uint8_t* x,
                uint8_t x_zero_point, const int8_t* w, const OutputF32& out) {
  QF_CHECK(out.ldo >= s.c);
  PerImage(config, s, x, x_zero_point, w, [&](const int32_t* acc, size_t row) {
    config.f32(s.c, acc, out.scale, out.bias, out.out + row * out.ldo);
  });
}

void DwConvU8S8(const DwConvConfig& config, const DwConvShape& s, const uint8_t* x,
                uint8_t x_zero_point, const int8_t* w, const OutputU8& out) {
  QF_CHECK(out.ldo >= s.c);
  PerImage(config, s, x, x_zero_point, w, [&](const int32_t* acc, size_t row) {
    config.u8(s.c, acc, out.scale, out.offset, out.qmin, out.qmax, out.out + row * out.ldo);
  });
}

}  // namespace qf::kernels
