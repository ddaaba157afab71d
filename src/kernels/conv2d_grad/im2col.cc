// The im2col + GEMM variants, one per ISA's GEMM: the reference's three steps (ref.cc),
// with the im2col step skipped where the input already is the im2col matrix.
#include <memory>

#include "core/check.h"
#include "kernels/conv2d/im2col_f32.h"
#include "kernels/conv2d_grad/conv2d_grad.h"
#include "kernels/f32_gemm/f32_gemm.h"

namespace qf::kernels {
namespace {

void WeightGrad(F32GemmFn gemm, const Conv2DShape& s, const float* x, const float* dy, float* dw) {
  QF_CHECK(s.Valid());
  const size_t rows = s.out_rows(), depth = s.depth();
  std::unique_ptr<float[]> cols;  // not zero-filled: Im2ColF32 writes every element
  if (!Im2ColIsIdentity(s)) {
    cols.reset(new float[rows * depth]);
    Im2ColF32(s, x, cols.get());
    x = cols.get();
  }
  gemm(Trans::kYes, Trans::kNo, depth, s.cout, rows, x, depth, dy, s.cout, dw, s.cout, false);
}

void InputGrad(F32GemmFn gemm, const Conv2DShape& s, const float* dy, const float* w, float* dx) {
  QF_CHECK(s.Valid());
  const size_t rows = s.out_rows(), depth = s.depth();
  if (Im2ColIsIdentity(s)) {  // dx is dcols: accumulate into it
    gemm(Trans::kNo, Trans::kYes, rows, depth, s.cout, dy, s.cout, w, s.cout, dx, depth, true);
    return;
  }
  const std::unique_ptr<float[]> dcols(new float[rows * depth]);  // the GEMM writes it all
  gemm(Trans::kNo, Trans::kYes, rows, depth, s.cout, dy, s.cout, w, s.cout, dcols.get(), depth,
       false);
  Col2ImF32Accumulate(s, dcols.get(), dx);
}

}  // namespace

template <Isa kIsa>
void qf_conv2d_weight_grad_im2col(const Conv2DShape& s, const float* x, const float* dy,
                                  float* dw) {
  WeightGrad(F32GemmFor(kIsa), s, x, dy, dw);
}

template <Isa kIsa>
void qf_conv2d_input_grad_im2col(const Conv2DShape& s, const float* dy, const float* w, float* dx) {
  InputGrad(F32GemmFor(kIsa), s, dy, w, dx);
}

template void qf_conv2d_weight_grad_im2col<Isa::kScalar>(const Conv2DShape&, const float*,
                                                         const float*, float*);
template void qf_conv2d_input_grad_im2col<Isa::kScalar>(const Conv2DShape&, const float*,
                                                        const float*, float*);
#if defined(QF_HAVE_WASMSIMD)
template void qf_conv2d_weight_grad_im2col<Isa::kWasmSimd>(const Conv2DShape&, const float*,
                                                           const float*, float*);
template void qf_conv2d_input_grad_im2col<Isa::kWasmSimd>(const Conv2DShape&, const float*,
                                                          const float*, float*);
#endif

}  // namespace qf::kernels
