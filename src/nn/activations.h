// Elementwise and reshaping layers without parameters: ReLU, ReLU6, Flatten.
#pragma once

#include "nn/layer.h"

namespace qf::nn {

// y = min(max(x, 0), cap); cap = +inf for ReLU, 6 for ReLU6.
class Relu : public Layer {
 public:
  explicit Relu(float cap) : cap_(cap) {}
  const char* type() const override;
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  void Backward(const Tensor& dy, Tensor* dx) override;
  bool OutputNonNegative(bool) const override { return true; }
  float cap() const { return cap_; }

 private:
  float cap_;
  const Tensor* x_ = nullptr;  // the last caching Forward's input
};

// [N, ...] -> [N, product of the rest]. Values are unchanged.
class Flatten : public Layer {
 public:
  const char* type() const override { return "flatten"; }
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  void Backward(const Tensor& dy, Tensor* dx) override;
  bool OutputNonNegative(bool input_non_negative) const override { return input_non_negative; }
  bool OutputsInputValues() const override { return true; }

 private:
  Shape input_;
};

}  // namespace qf::nn
