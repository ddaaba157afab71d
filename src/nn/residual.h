// Residual: y = body(x) + shortcut(x), with two Sequential branches (an empty shortcut is
// the identity). A composite layer only: the branches' layers do the work and own their
// parameters; there is no activation after the sum (put a ReLU after the Residual).
#pragma once

#include <memory>

#include "nn/layer.h"
#include "nn/sequential.h"

namespace qf::nn {

class Residual : public Layer {
 public:
  // Takes ownership of both branches; a null or empty shortcut is the identity. A null
  // body is treated as empty too (y = 2x), which is legal but rarely meant.
  explicit Residual(std::unique_ptr<Sequential> body,
                    std::unique_ptr<Sequential> shortcut = nullptr);

  const char* type() const override { return "residual"; }
  // Builds both branches on the same input shape and BuildInfo, named "<name>.body" and
  // "<name>.shortcut". Fails with a branch's own error, or InvalidArgument naming both
  // output shapes when they differ.
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  bool OutputNonNegative(bool input_non_negative) const override;
  void Init(Rng& rng) override;  // the body, then the shortcut
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  // dy flows into both branches; dx = dx_body + dx_shortcut.
  void Backward(const Tensor& dy, Tensor* dx) override;
  void CollectParams(std::vector<Param*>* out) override;  // the body's, then the shortcut's
  void CollectParamLayers(std::vector<const Layer*>* out) override;  // likewise
  void CollectState(StateVisitor* visitor) override;      // the body's, then the shortcut's
  void OnParamsChanged() override;
  size_t BeginCalibration() override;

  Sequential& body() { return *body_; }
  Sequential& shortcut() { return *shortcut_; }
  const Sequential& body() const { return *body_; }
  const Sequential& shortcut() const { return *shortcut_; }
  bool identity_shortcut() const { return shortcut_->size() == 0; }

 private:
  std::unique_ptr<Sequential> body_, shortcut_;
  Tensor branch_;  // the shortcut's output, then its dx
};

}  // namespace qf::nn
