// Residual: two branches over one input, summed. The identity shortcut is handled here
// directly rather than through an empty Sequential (which would copy the tensor).
#include "nn/residual.h"

namespace qf::nn {

Residual::Residual(std::unique_ptr<Sequential> body, std::unique_ptr<Sequential> shortcut)
    : body_(body ? std::move(body) : std::make_unique<Sequential>()),
      shortcut_(shortcut ? std::move(shortcut) : std::make_unique<Sequential>()) {}

StatusOr<Shape> Residual::Build(const Shape& input, const BuildInfo& info) {
  BuildInfo branch = info;
  branch.name = info.name.empty() ? "body" : info.name + ".body";
  StatusOr<Shape> body = body_->Build(input, branch);
  if (!body.ok()) return body.status();
  branch.name = info.name.empty() ? "shortcut" : info.name + ".shortcut";
  StatusOr<Shape> shortcut = shortcut_->Build(input, branch);
  if (!shortcut.ok()) return shortcut.status();
  if (body.value() != shortcut.value()) {
    return InvalidArgument(info.name + ": residual branches must have the same output shape, " +
                           "got body " + body.value().ToString() + " and shortcut " +
                           shortcut.value().ToString() +
                           (identity_shortcut() ? " (identity)" : ""));
  }
  return body.value();
}

bool Residual::OutputNonNegative(bool input_non_negative) const {
  return body_->OutputNonNegative(input_non_negative) &&
         shortcut_->OutputNonNegative(input_non_negative);
}

void Residual::Init(Rng& rng) {
  body_->Init(rng);
  shortcut_->Init(rng);
}

void Residual::Forward(const Tensor& x, Tensor* y, Mode mode) {
  body_->Forward(x, y, mode);
  const Tensor* s = &x;
  if (!identity_shortcut()) {
    shortcut_->Forward(x, &branch_, mode);
    s = &branch_;
  }
  for (size_t i = 0; i < y->size(); i++) (*y)[i] += (*s)[i];
}

void Residual::Backward(const Tensor& dy, Tensor* dx) {
  body_->Backward(dy, dx);
  if (identity_shortcut()) {
    if (dx) {
      for (size_t i = 0; i < dx->size(); i++) (*dx)[i] += dy[i];
    }
    return;
  }
  // The shortcut's parameters need its Backward even when no dx is wanted.
  shortcut_->Backward(dy, dx ? &branch_ : nullptr);
  if (dx) {
    for (size_t i = 0; i < dx->size(); i++) (*dx)[i] += branch_[i];
  }
}

void Residual::CollectParams(std::vector<Param*>* out) {
  body_->CollectParams(out);
  shortcut_->CollectParams(out);
}

void Residual::CollectParamLayers(std::vector<const Layer*>* out) {
  body_->CollectParamLayers(out);
  shortcut_->CollectParamLayers(out);
}

void Residual::CollectState(StateVisitor* visitor) {
  body_->CollectState(visitor);
  shortcut_->CollectState(visitor);
}

size_t Residual::BeginCalibration() {
  return body_->BeginCalibration() + shortcut_->BeginCalibration();
}

void Residual::OnParamsChanged() {
  body_->OnParamsChanged();
  shortcut_->OnParamsChanged();
}

}  // namespace qf::nn
