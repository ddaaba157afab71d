// Float im2col and its adjoint col2im, for the backward passes of quantized and float
// convolutions (the forward of quantized ones runs the int8 path in conv2d.h). Same
// geometry and window order (ky, kx, ci) as Im2ColU8.
#pragma once

#include <cstddef>

#include "kernels/conv2d/conv2d.h"

namespace qf::kernels {

// cols: s.out_rows() rows of s.depth() floats (dense); cells outside the image are 0.
void Im2ColF32(const Conv2DShape& s, const float* x, float* cols);

// dx (the whole input, n x in_h x in_w x cin) += the adjoint of Im2ColF32 applied to
// dcols: every window cell's gradient is added back to the pixel it was read from.
void Col2ImF32Accumulate(const Conv2DShape& s, const float* dcols, float* dx);

// Whether the im2col matrix of s is the input itself (1x1, stride 1, no padding; or a
// window covering the whole unpadded image): callers can skip Im2ColF32/Col2ImF32.
bool Im2ColIsIdentity(const Conv2DShape& s);

}  // namespace qf::kernels
