// Dense layer: shapes around LinearCore.
#include "nn/dense.h"

namespace qf::nn {

StatusOr<Shape> Dense::Build(const Shape& input, const BuildInfo& info) {
  input_ = input;
  if (input.size() == 0 || units_ == 0) {
    return InvalidArgument(info.name +
                           ": dense needs a non-empty input and units >= 1, got input " +
                           input.ToString() + " and units " + std::to_string(units_));
  }
  kernels::Conv2DShape g;
  g.in_h = g.in_w = 1;
  g.cin = input.size();
  g.cout = units_;
  QF_RETURN_IF_ERROR(core_.Configure(g, quant_, info));
  return Shape{units_};
}

void Dense::Forward(const Tensor& x, Tensor* y, Mode mode) {
  core_.Forward(x, y, mode);
  y->Reshape(Shape{x.shape()[0], units_});
}

bool Dense::ForwardFolded(const Tensor& x, Tensor* y, const std::vector<float>& scale,
                          const std::vector<float>& shift) {
  if (!core_.ForwardFolded(x, y, scale, shift)) return false;
  y->Reshape(Shape{x.shape()[0], units_});
  return true;
}

void Dense::Backward(const Tensor& dy, Tensor* dx) {
  core_.Backward(dy, dx);
  if (dx) dx->Reshape(input_.WithBatch(dy.shape()[0]));
}

}  // namespace qf::nn
