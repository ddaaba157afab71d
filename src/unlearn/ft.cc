// ft and retrain: cross-entropy on the retain set only (the forget set is simply not seen
// again). ft starts from the model as it is; retrain, the gold standard, first resets the
// working copy to the fresh initialization its spec describes (same seed: the weights the
// original started from, BatchNorm statistics at their initial values, input quantizers
// not yet initialized from data), so it trains from scratch on D_r with the caller's
// UnlearnOptions as the recipe. Neither is Fit(): no augmentation, no clipping.
#include <limits>

#include "nn/state_snapshot.h"
#include "unlearn/method_factories.h"

namespace qf::unlearn {
namespace {

class FineTune : public EpochMethod {
 public:
  const char* name() const override { return "ft"; }
  std::optional<uint64_t> PlannedPasses(const UnlearnOptions& o, size_t,
                                        size_t retain) const override {
    return uint64_t(o.epochs) * retain;
  }

 protected:
  Status RunEpoch(MethodContext& ctx, int, float lr, EpochCursor& at,
                  EpochReport* report) override {
    if (at.Once()) {
      meter_.Reset();
      batches_ = MakeBatches(ctx, AllRetain(ctx));
    }
    QF_RETURN_IF_ERROR(CrossEntropyPass(ctx, at, batches_, nullptr, 1.0f, lr, &data_, &meter_));
    if (at.Once()) report->losses.push_back({"retain_ce", meter_.Mean()});
    return OkStatus();
  }

 private:
  std::vector<Batch> batches_;
  LossMeter meter_;
  BatchData data_;
};

class Retrain : public FineTune {
 public:
  const char* name() const override { return "retrain"; }

  // A fresh Model::Create of the same spec, whose whole state is copied into the working
  // copy. The working copy exists already, so the fresh build is not budget-limited.
  Status Begin(MethodContext& ctx) override {
    QF_ASSIGN_OR_RETURN(std::unique_ptr<nn::Model> fresh,
                        nn::Model::Create(ctx.model->spec(), std::numeric_limits<size_t>::max()));
    nn::StateSnapshot(*fresh).Restore(*ctx.model);
    return FineTune::Begin(ctx);
  }
};

}  // namespace

std::unique_ptr<Method> MakeFineTune() { return std::make_unique<FineTune>(); }
std::unique_ptr<Method> MakeRetrain() { return std::make_unique<Retrain>(); }

}  // namespace qf::unlearn
