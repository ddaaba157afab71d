// Float gradients of a 2-D convolution (NHWC, the geometry of Conv2DShape): the weight
// gradient and the input gradient of every Conv2D and Dense layer's backward pass. The
// reference, an im2col + GEMM variant, a direct wasm SIMD variant, and their registry.
//
// Numeric definition, for every variant: with cols = Im2ColF32(x) (out_rows() x depth(),
// im2col_f32.h) and the GEMMs of f32_gemm.h,
//   weight:  dw = cols^T dy                    (depth() x cout, dense, overwritten)
//   input:   dx = dx + col2im(dy w^T)          (n x in_h x in_w x cin, accumulated)
// with dy out_rows() x cout and w depth() x cout, all dense. col2im adds each window
// cell's gradient back to the pixel it was read from (Col2ImF32Accumulate). The reference
// is exactly that, with qf_f32_gemm__ref: each dw element one float chain over the output
// rows in increasing order; each dcols element one chain over cout in increasing order,
// added to its pixel in increasing output row order. Every registered variant reproduces
// those chains bit for bit (NaN payloads aside), so that the SIMD and no-SIMD builds train
// the same models; the tests check it for each, Inf and NaN included.
//
// Buffers are borrowed for the call and must not overlap. QF_CHECKs s.Valid().
#pragma once

#include "kernels/conv2d/conv2d.h"
#include "kernels/isa.h"

namespace qf::kernels {

using Conv2DWeightGradFn = void (*)(const Conv2DShape& s, const float* x, const float* dy,
                                    float* dw);
using Conv2DInputGradFn = void (*)(const Conv2DShape& s, const float* dy, const float* w,
                                   float* dx);

// The specification: Im2ColF32, qf_f32_gemm__ref and Col2ImF32Accumulate, as above.
// Allocates the im2col matrix (or its gradient). Never optimized.
void qf_conv2d_weight_grad__ref(const Conv2DShape& s, const float* x, const float* dy, float* dw);
void qf_conv2d_input_grad__ref(const Conv2DShape& s, const float* dy, const float* w, float* dx);

// The same three steps with the GEMM layers use for kIsa (F32GemmFor), the im2col step
// skipped where the input already is the im2col matrix (Im2ColIsIdentity). Bit for bit
// the reference: F32GemmFor gives a GEMM with the reference's bits for every ISA
// (qf_f32_gemm__scalar, qf_f32_gemm__wasmsimd), and Im2ColF32 and Col2ImF32Accumulate
// are the reference's own steps (skipping the identity im2col copies nothing but the
// values; dx = dx + s is what col2im adds). Allocates the im2col matrix or its gradient.
// Instantiated for the ISAs of the build.
template <Isa kIsa>
void qf_conv2d_weight_grad_im2col(const Conv2DShape& s, const float* x, const float* dy, float* dw);
template <Isa kIsa>
void qf_conv2d_input_grad_im2col(const Conv2DShape& s, const float* dy, const float* w, float* dx);

#if defined(QF_HAVE_WASMSIMD)
// WebAssembly SIMD128, without the im2col matrix: dw from lists of the non-zero values of
// x or of dy (whichever are fewer, per work), dx tap by tap from each output row's
// non-zero gradients (wasmsimd.cc).
// Bit for bit the reference, for every input: the zero terms it skips change no sum, and
// calls where a skipped 0 would meet an Inf or NaN go to the reference. Inputs that are
// their own im2col matrix, or have fewer than 4 channels, take the im2col way with
// qf_f32_gemm__wasmsimd (also bit for bit). Allocates the lists (2 x x's or dy's size)
// and, splatting dy, dw^T for dw; a transposed copy of w for dx.
void qf_conv2d_weight_grad__wasmsimd(const Conv2DShape& s, const float* x, const float* dy,
                                     float* dw);
void qf_conv2d_input_grad__wasmsimd(const Conv2DShape& s, const float* dy, const float* w,
                                    float* dx);
#endif

struct Conv2DGradKernel {
  const char* name;
  Isa isa;
  Conv2DWeightGradFn weight;
  Conv2DInputGradFn input;
};

// Every variant compiled into this build, for tests and benchmarks.
Span<Conv2DGradKernel> Conv2DGradKernels();

// The variant layers use for `isa`: the first one registered for it (the registry lists
// each ISA's fastest first), else the portable im2col one. The reference for Isa::kRef.
const Conv2DGradKernel& Conv2DGradFor(Isa isa);

}  // namespace qf::kernels
