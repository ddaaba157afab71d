// l1sparse: ft plus an L1 penalty. Each retain batch takes one step on
// mean CE + alpha_e * sum |w| over kWeight parameters (biases, steps and BatchNorm are not
// penalized), alpha_e = l1_alpha * (E - 1 - e) / (E - 1) in epoch e of E: l1_alpha in the
// first epoch, 0 in the last (one epoch: l1_alpha). Not a sparsity guarantee: weights are
// pulled towards 0, not pruned.
#include <cmath>

#include "train/loss.h"
#include "train/optimizer.h"
#include "unlearn/method_factories.h"

namespace qf::unlearn {
namespace {

class L1Sparse : public EpochMethod {
 public:
  const char* name() const override { return "l1sparse"; }
  std::optional<uint64_t> PlannedPasses(const UnlearnOptions& o, size_t,
                                        size_t retain) const override {
    return uint64_t(o.epochs) * retain;
  }

 protected:
  Status RunEpoch(MethodContext& ctx, int epoch, float lr, EpochCursor& at,
                  EpochReport* report) override {
    const int epochs = ctx.options.epochs;
    const float alpha = epochs > 1
                            ? ctx.options.l1_alpha * float(epochs - 1 - epoch) / float(epochs - 1)
                            : ctx.options.l1_alpha;
    if (at.Once()) {
      ce_.Reset();
      l1_.Reset();
      batches_ = MakeBatches(ctx, AllRetain(ctx));
    }
    for (const Batch& batch : at.Batches(batches_)) {
      Gather(ctx, batch, &data_);
      Tensor logits, dlogits;
      ctx.model->Forward(data_.x.data(), data_.n, &logits, nn::Mode::kTrain);
      const float ce = train::SoftmaxCrossEntropy(logits, data_.y.data(), nullptr, 1.0f, &dlogits);
      if (!std::isfinite(ce)) {
        return Status(StatusCode::kFailedPrecondition,
                      "unlearning diverged: the loss is not finite (try a smaller lr)");
      }
      train::ZeroGrads(ctx.model->params());
      ctx.model->Backward(dlogits);
      const float l1 = alpha > 0 ? train::L1Penalty(ctx.model->params(), alpha) : 0.0f;
      ctx.optimizer->Step(ctx.model->params(), lr);
      ctx.model->OnParamsChanged();
      ce_.Add(ce);
      l1_.Add(l1);
    }
    if (at.Once()) {
      report->losses.push_back({"retain_ce", ce_.Mean()});
      report->losses.push_back({"l1", l1_.Mean()});  // alpha_e * ||w||_1, before each step
    }
    return OkStatus();
  }

 private:
  std::vector<Batch> batches_;
  LossMeter ce_, l1_;
  BatchData data_;
};

}  // namespace

std::unique_ptr<Method> MakeL1Sparse() { return std::make_unique<L1Sparse>(); }

}  // namespace qf::unlearn
