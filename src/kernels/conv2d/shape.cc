// Convolution geometry: output extents and the validity of a Conv2DShape. Argument
// checks with messages for users belong to the layers, not here.
#include "kernels/conv2d/conv2d.h"

namespace qf::kernels {

size_t ConvOutputExtent(size_t in, size_t k, size_t stride, size_t pad_lo, size_t pad_hi) {
  if (in == 0 || k == 0 || stride == 0) return 0;
  if (in > kMaxConvExtent || pad_lo > kMaxConvExtent || pad_hi > kMaxConvExtent) return 0;
  const uint64_t padded = uint64_t(in) + pad_lo + pad_hi;
  if (padded > kMaxConvExtent || k > padded) return 0;
  return size_t((padded - k) / stride + 1);
}

bool Conv2DShape::Valid() const {
  if (n == 0 || cin == 0 || cout == 0) return false;
  const size_t oh = out_h(), ow = out_w();
  if (oh == 0 || ow == 0) return false;  // also covers zero extents, kernels, strides
  size_t d = kh;
  if (!MulInto(&d, kw) || !MulInto(&d, cin) || d > kMaxGemmDepth) return false;
  size_t in = n, weights = d, out = n;
  return MulInto(&in, in_h) && MulInto(&in, in_w) && MulInto(&in, cin) && MulInto(&weights, cout) &&
         MulInto(&out, oh) && MulInto(&out, ow) && MulInto(&out, cout);
}

}  // namespace qf::kernels
