// ReLU, ReLU6 and Flatten.
#include "nn/activations.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"

namespace qf::nn {

const char* Relu::type() const { return std::isinf(cap_) ? "relu" : "relu6"; }

StatusOr<Shape> Relu::Build(const Shape& input, const BuildInfo&) { return input; }

void Relu::Forward(const Tensor& x, Tensor* y, Mode mode) {
  y->Resize(x.shape());
  const float* in = x.data();
  float* out = y->data();
  ParallelForPieces(x.size(), kParallelElements, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) out[i] = std::min(std::max(in[i], 0.0f), cap_);
  });
  if (KeepsCaches(mode)) x_ = &x;
}

void Relu::Backward(const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  dx->Resize(dy.shape());
  const float *x = x_->data(), *g = dy.data();
  float* out = dx->data();
  ParallelForPieces(dy.size(), kParallelElements, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) {
      // '&', not '&&': no branch on data the predictor cannot guess, and the loop vectorizes.
      const bool open = (x[i] > 0.0f) & (x[i] < cap_);
      out[i] = open ? g[i] : 0.0f;
    }
  });
}

StatusOr<Shape> Flatten::Build(const Shape& input, const BuildInfo&) {
  input_ = input;
  return Shape{input.size()};
}

void Flatten::Forward(const Tensor& x, Tensor* y, Mode) {
  *y = x;
  y->Reshape(Shape{x.shape()[0], input_.size()});
}

void Flatten::Backward(const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  *dx = dy;
  dx->Reshape(input_.WithBatch(dy.shape()[0]));
}

}  // namespace qf::nn
