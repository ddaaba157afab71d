// The reference convolution gradients: the numeric specification the other variants are
// measured against (conv2d_grad.h). The im2col matrix is always formed, the GEMM is
// qf_f32_gemm__ref, and nothing is optimized.
#include <memory>

#include "core/check.h"
#include "kernels/conv2d/im2col_f32.h"
#include "kernels/conv2d_grad/conv2d_grad.h"
#include "kernels/f32_gemm/f32_gemm.h"

namespace qf::kernels {

// dw = im2col(x)^T dy.
void qf_conv2d_weight_grad__ref(const Conv2DShape& s, const float* x, const float* dy, float* dw) {
  QF_CHECK(s.Valid());
  const size_t rows = s.out_rows(), depth = s.depth();
  const std::unique_ptr<float[]> cols(new float[rows * depth]);  // Im2ColF32 writes it all
  Im2ColF32(s, x, cols.get());
  qf_f32_gemm__ref(Trans::kYes, Trans::kNo, depth, s.cout, rows, cols.get(), depth, dy, s.cout, dw,
                   s.cout, false);
}

// dx += col2im(dy w^T).
void qf_conv2d_input_grad__ref(const Conv2DShape& s, const float* dy, const float* w, float* dx) {
  QF_CHECK(s.Valid());
  const size_t rows = s.out_rows(), depth = s.depth();
  const std::unique_ptr<float[]> dcols(new float[rows * depth]);  // the GEMM writes it all
  qf_f32_gemm__ref(Trans::kNo, Trans::kYes, rows, depth, s.cout, dy, s.cout, w, s.cout,
                   dcols.get(), depth, false);
  Col2ImF32Accumulate(s, dcols.get(), dx);
}

}  // namespace qf::kernels
