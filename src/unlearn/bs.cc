// bs: boundary shrink (Chen et al., CVPR 2023). Epoch 1 opens with the relabelling scan:
// every forget sample gets the class the model at Begin predicts (eval mode) on its FGSM
// neighbour (bs.h; epsilon = bs_epsilon of the input range, the neighbour on the pixel
// grid); when that class is the true one the sample keeps its true label, as the original
// code does. Then every epoch fine-tunes on D_f alone with those labels (cross-entropy).
#include "unlearn/bs.h"

#include <cmath>

#include "train/loss.h"
#include "unlearn/method_factories.h"

namespace qf::unlearn {

void FgsmNeighbours(nn::Model& model, const uint8_t* pixels, const uint8_t* labels, size_t n,
                    float epsilon, std::vector<uint8_t>* out) {
  const size_t d = model.input_shape().size();
  Tensor logits, dlogits, dinput;
  model.Forward(pixels, n, &logits, nn::Mode::kEvalGradient);
  train::SoftmaxCrossEntropy(logits, labels, nullptr, 1.0f, &dlogits);
  train::ZeroGrads(model.params());
  model.Backward(dlogits, &dinput);
  train::ZeroGrads(model.params());
  out->resize(n * d);
  for (size_t i = 0; i < n * d; i++) {
    const float g = dinput[i];
    const float step = g > 0 ? epsilon : g < 0 ? -epsilon : 0.0f;
    const float x = std::min(1.0f, std::max(0.0f, float(pixels[i]) / 255.0f + step));
    (*out)[i] = uint8_t(std::lround(x * 255.0f));
  }
}

namespace {

class BoundaryShrink : public PhasedMethod {
 public:
  const char* name() const override { return "bs"; }
  bool uses_retain() const override { return false; }
  std::optional<uint64_t> PlannedSamples(const UnlearnOptions& o, size_t forget,
                                         size_t) const override {
    return forget + uint64_t(o.epochs) * forget;  // the relabelling scan, then training
  }

  Status Begin(MethodContext& ctx) override {
    labels_.assign(ctx.forget->y.begin(), ctx.forget->y.end());
    changed_ = 0;
    return PhasedMethod::Begin(ctx);
  }

 protected:
  Status PlanEpoch(MethodContext& ctx, int epoch, std::vector<Phase>* phases) override {
    meter_.Reset();
    if (epoch == 0) {
      // The relabelling scan; nothing is updated before it ends.
      phases->push_back(ForgetScanPhase(
          "relabel", ctx,
          [this](MethodContext& c, const std::vector<SampleRef>& b) { Relabel(c, b); }));
    }
    phases->push_back(CrossEntropyPhase(
        "forget", MakeBatches(ctx, AllOf(*ctx.forget, true)),
        [this](uint32_t i) { return labels_[i]; }, 1.0f, &meter_));
    return OkStatus();
  }

  void FinishEpoch(MethodContext& ctx, EpochReport* report) override {
    report->losses.push_back({"forget_ce", meter_.Mean()});  // with the boundary labels
    // The fraction of forget samples whose label the scan changed.
    report->losses.push_back({"relabelled", double(changed_) / double(ctx.forget->size())});
  }

 private:
  void Relabel(MethodContext& ctx, const std::vector<SampleRef>& batch) {
    Gather(ctx, batch, nullptr, &data_);
    FgsmNeighbours(*ctx.model, data_.x.data(), data_.y.data(), data_.n, ctx.options.bs_epsilon,
                   &neighbours_);
    Tensor logits;
    ctx.model->Forward(neighbours_.data(), data_.n, &logits, nn::Mode::kEval);
    const size_t c = ctx.model->classes();
    for (size_t i = 0; i < batch.size(); i++) {
      const float* z = logits.data() + i * c;
      const size_t predicted = size_t(std::max_element(z, z + c) - z);
      labels_[batch[i].index] = uint8_t(predicted);
      if (predicted != data_.y[i]) changed_++;
    }
  }

  std::vector<uint8_t> labels_;  // the boundary label of each forget sample
  size_t changed_ = 0;
  LossMeter meter_;
  BatchData data_;
  std::vector<uint8_t> neighbours_;
};

}  // namespace

std::unique_ptr<Method> MakeBoundaryShrink() { return std::make_unique<BoundaryShrink>(); }

}  // namespace qf::unlearn
