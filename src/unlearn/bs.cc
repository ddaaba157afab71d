// bs: boundary shrink (Chen et al., CVPR 2023). Epoch 1 opens with the relabelling scan:
// every forget sample gets the class the model at Begin predicts (eval mode) on its FGSM
// neighbour (bs.h; epsilon = bs_epsilon of the pixel range, the neighbour on the pixel
// grid; for float features, bs_epsilon in the features' own units); when that class is the true one the sample keeps its true label, as the original
// code does. Then every epoch fine-tunes on D_f alone with those labels (cross-entropy).
#include "unlearn/bs.h"

#include <cmath>
#include <cstring>

#include "train/loss.h"
#include "unlearn/method_factories.h"

namespace qf::unlearn {

void FgsmNeighbours(nn::Model& model, const uint8_t* x, const Label* labels, size_t n,
                    float epsilon, std::vector<uint8_t>* out) {
  const size_t d = model.input_shape().size();
  Tensor logits, dlogits, dinput;
  model.Forward(x, n, &logits, nn::Mode::kEvalGradient);
  train::SoftmaxCrossEntropy(logits, labels, nullptr, 1.0f, &dlogits);
  train::ZeroGrads(model.params());
  model.Backward(dlogits, &dinput);
  train::ZeroGrads(model.params());
  out->resize(n * model.sample_bytes());
  // dinput is the gradient at the preprocessed input, an increasing function of x (scale
  // and std are > 0): its sign is that of the gradient at x.
  for (size_t i = 0; i < n * d; i++) {
    const float g = dinput[i];
    const float step = g > 0 ? epsilon : g < 0 ? -epsilon : 0.0f;
    if (model.input_type() == DType::kUint8) {
      const float v = std::min(1.0f, std::max(0.0f, float(x[i]) / 255.0f + step));
      (*out)[i] = uint8_t(std::lround(v * 255.0f));
    } else {
      float v;
      std::memcpy(&v, x + 4 * i, 4);
      v += step;
      std::memcpy(out->data() + 4 * i, &v, 4);
    }
  }
}

namespace {

class BoundaryShrink : public EpochMethod {
 public:
  const char* name() const override { return "bs"; }
  bool uses_retain() const override { return false; }
  std::optional<uint64_t> PlannedPasses(const UnlearnOptions& o, size_t forget,
                                        size_t) const override {
    return forget + uint64_t(o.epochs) * forget;  // the relabelling scan, then training
  }

  Status Begin(MethodContext& ctx) override {
    labels_.assign(ctx.forget->y.begin(), ctx.forget->y.end());
    changed_ = 0;
    return EpochMethod::Begin(ctx);
  }

 protected:
  Status RunEpoch(MethodContext& ctx, int epoch, float lr, EpochCursor& at,
                  EpochReport* report) override {
    if (at.Once()) {
      meter_.Reset();
      scan_ = epoch == 0 ? InOrderBatches(ctx, *ctx.forget, true) : std::vector<Batch>();
      batches_ = MakeBatches(ctx, AllOf(*ctx.forget, true));
    }
    // 1. (First epoch) the relabelling scan; nothing is updated before it ends.
    for (const Batch& batch : at.Batches(scan_)) Relabel(ctx, batch);
    // 2. Cross-entropy on D_f with the boundary labels.
    QF_RETURN_IF_ERROR(CrossEntropyPass(ctx, at, batches_, &labels_, 1.0f, lr, &data_, &meter_));
    if (at.Once()) {
      report->losses.push_back({"forget_ce", meter_.Mean()});  // with the boundary labels
      // The fraction of forget samples whose label the scan changed.
      report->losses.push_back({"relabelled", double(changed_) / double(ctx.forget->size())});
    }
    return OkStatus();
  }

 private:
  void Relabel(MethodContext& ctx, const Batch& batch) {
    Gather(ctx, batch, &data_);
    FgsmNeighbours(*ctx.model, data_.x.data(), data_.y.data(), data_.n, ctx.options.bs_epsilon,
                   &neighbours_);
    Tensor logits;
    ctx.model->Forward(neighbours_.data(), data_.n, &logits, nn::Mode::kEval);
    const size_t c = ctx.model->classes();
    for (size_t i = 0; i < batch.size(); i++) {
      const float* z = logits.data() + i * c;
      const size_t predicted = size_t(std::max_element(z, z + c) - z);
      labels_[batch[i].index] = Label(predicted);
      if (predicted != data_.y[i]) changed_++;
    }
  }

  std::vector<Batch> scan_, batches_;
  std::vector<Label> labels_;  // the boundary label of each forget sample
  size_t changed_ = 0;
  LossMeter meter_;
  BatchData data_;
  std::vector<uint8_t> neighbours_;
};

}  // namespace

std::unique_ptr<Method> MakeBoundaryShrink() { return std::make_unique<BoundaryShrink>(); }

}  // namespace qf::unlearn
