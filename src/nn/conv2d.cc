// Conv2D layer: shapes and padding around LinearCore.
#include "nn/conv2d.h"

namespace qf::nn {
StatusOr<Shape> Conv2D::Build(const Shape& input, const BuildInfo& info) {
  if (input.rank() != 3) {
    return InvalidArgument(info.name + ": conv2d needs H x W x C inputs, got " + input.ToString());
  }
  if (options_.filters == 0) return InvalidArgument(info.name + ": conv2d needs filters >= 1");
  kernels::Conv2DShape g;
  g.in_h = input[0];
  g.in_w = input[1];
  g.cin = input[2];
  g.cout = options_.filters;
  g.kh = options_.kh;
  g.kw = options_.kw;
  g.stride_h = options_.stride_h;
  g.stride_w = options_.stride_w;
  if (g.stride_h == 0 || g.stride_w == 0)
    return InvalidArgument(info.name + ": conv2d needs strides >= 1");
  const Pads pads =
      ResolvePadding(options_.padding, g.in_h, g.in_w, g.kh, g.kw, g.stride_h, g.stride_w);
  g.pad_top = pads.top;
  g.pad_left = pads.left;
  g.pad_bottom = pads.bottom;
  g.pad_right = pads.right;
  QF_RETURN_IF_ERROR(core_.Configure(g, quant_, info));
  output_ = Shape{g.out_h(), g.out_w(), g.cout};
  return output_;
}

void Conv2D::Forward(const Tensor& x, Tensor* y, Mode mode) {
  core_.Forward(x, y, mode);
  y->Reshape(output_.WithBatch(x.shape()[0]));
}

bool Conv2D::ForwardFolded(const Tensor& x, Tensor* y, const std::vector<float>& scale,
                           const std::vector<float>& shift) {
  if (!core_.ForwardFolded(x, y, scale, shift)) return false;
  y->Reshape(output_.WithBatch(x.shape()[0]));
  return true;
}

}  // namespace qf::nn
