// Float depthwise convolution and its gradients, NHWC, depth multiplier 1: the float
// layers' forward and every depthwise layer's backward (quantized forwards run the
// int8 path in dwconv.h). Plain loops over the geometry of DwConvShape, on the thread
// pool: the forward by output rows, the backward by images (dw summed in pieces of
// images fixed by the shape: the same bytes at any thread count).
#pragma once

#include "kernels/dwconv/dwconv.h"

namespace qf::kernels {

// y[b,oy,ox,c] = bias[c] + sum_{ky,kx} x[b, oy*sh-pt+ky, ox*sw-pl+kx, c] * w[ky,kx,c]
// (cells outside the image count as 0). y: out_rows() x c.
void DwConvF32(const DwConvShape& s, const float* x, const float* w, const float* bias, float* y);

// Adds the gradients of the above: dx (n x in_h x in_w x c, may be null) and dw (kh x kw
// x c) from dy (out_rows() x c). Bias gradients are the caller's (a column sum).
void DwConvF32BackwardAccumulate(const DwConvShape& s, const float* x, const float* w,
                                 const float* dy, float* dx, float* dw);

}  // namespace qf::kernels
