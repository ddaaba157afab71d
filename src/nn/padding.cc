// Padding resolution.
#include "nn/padding.h"

namespace qf::nn {
namespace {

// TensorFlow "SAME" padding of one axis: out = ceil(in / stride); the total pad is what
// the last window needs beyond the input, split with the odd cell at the end.
void SamePads(size_t in, size_t k, size_t stride, size_t* lo, size_t* hi) {
  const size_t out = (in + stride - 1) / stride;
  const size_t need = (out - 1) * stride + k;
  const size_t total = need > in ? need - in : 0;
  *lo = total / 2;
  *hi = total - *lo;
}

}  // namespace

Pads ResolvePadding(const Padding& padding, size_t in_h, size_t in_w, size_t kh, size_t kw,
                    size_t stride_h, size_t stride_w) {
  Pads p;
  switch (padding.mode) {
    case Padding::Mode::kValid:
      break;
    case Padding::Mode::kSame:
      SamePads(in_h, kh, stride_h, &p.top, &p.bottom);
      SamePads(in_w, kw, stride_w, &p.left, &p.right);
      break;
    case Padding::Mode::kExplicit:
      p = {padding.top, padding.left, padding.bottom, padding.right};
      break;
  }
  return p;
}

}  // namespace qf::nn
