// The convolution gradient variants compiled into this build, and the per-ISA choice.
#include "kernels/conv2d_grad/conv2d_grad.h"

namespace qf::kernels {
namespace {

const Conv2DGradKernel kKernels[] = {
    {"qf_conv2d_grad__ref", Isa::kRef, qf_conv2d_weight_grad__ref, qf_conv2d_input_grad__ref},
    {"qf_conv2d_grad_im2col__scalar", Isa::kScalar, qf_conv2d_weight_grad_im2col<Isa::kScalar>,
     qf_conv2d_input_grad_im2col<Isa::kScalar>},
#if defined(QF_HAVE_WASMSIMD)
    {"qf_conv2d_grad__wasmsimd", Isa::kWasmSimd, qf_conv2d_weight_grad__wasmsimd,
     qf_conv2d_input_grad__wasmsimd},
    {"qf_conv2d_grad_im2col__wasmsimd", Isa::kWasmSimd,
     qf_conv2d_weight_grad_im2col<Isa::kWasmSimd>, qf_conv2d_input_grad_im2col<Isa::kWasmSimd>},
#endif
};

}  // namespace

Span<Conv2DGradKernel> Conv2DGradKernels() {
  return {kKernels, sizeof(kKernels) / sizeof(kKernels[0])};
}

const Conv2DGradKernel& Conv2DGradFor(Isa isa) {
  for (const Conv2DGradKernel& kernel : Conv2DGradKernels()) {
    if (kernel.isa == isa) return kernel;
  }
  return kKernels[1];  // no variant of its own: the portable one
}

}  // namespace qf::kernels
