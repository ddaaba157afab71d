// The Conv2D variants compiled into this build. The scalar and SIMD entries are the
// im2col + GEMM driver run on that ISA's GEMM microkernels.
#include "kernels/conv2d/conv2d.h"

namespace qf::kernels {
namespace {

template <Isa kIsa>
void Im2ColGemm(const Conv2DShape& s, const uint8_t* x, uint8_t x_zero_point, const int8_t* w,
                int32_t* y, size_t ldy) {
  const GemmKernels kernels = GemmKernelsFor(kIsa);
  const PackedWeights packed = PackConv2DWeights(kernels, s, w);
  Conv2DU8S8(kernels, s, x, x_zero_point, packed, OutputI32{y, ldy});
}

const Conv2DKernel kKernels[] = {
    {"qf_conv2d__ref", Isa::kRef, qf_conv2d__ref},
    {"qf_conv2d_im2col__scalar", Isa::kScalar, Im2ColGemm<Isa::kScalar>},
#if defined(QF_HAVE_WASMSIMD)
    {"qf_conv2d_im2col__wasmsimd", Isa::kWasmSimd, Im2ColGemm<Isa::kWasmSimd>},
#endif
};

}  // namespace

Span<Conv2DKernel> Conv2DKernels() { return {kKernels, sizeof(kKernels) / sizeof(kKernels[0])}; }

}  // namespace qf::kernels
