// ga: gradient ascent on the forget set only: minimize -CE on D_f with its true labels.
#include "unlearn/method_factories.h"

namespace qf::unlearn {
namespace {

class GradientAscent : public EpochMethod {
 public:
  const char* name() const override { return "ga"; }
  bool uses_retain() const override { return false; }
  std::optional<uint64_t> PlannedPasses(const UnlearnOptions& o, size_t forget,
                                        size_t) const override {
    return uint64_t(o.epochs) * forget;
  }

 protected:
  Status RunEpoch(MethodContext& ctx, int, float lr, EpochCursor& at,
                  EpochReport* report) override {
    if (at.Once()) {
      meter_.Reset();
      batches_ = MakeBatches(ctx, AllOf(*ctx.forget, true));
    }
    QF_RETURN_IF_ERROR(CrossEntropyPass(ctx, at, batches_, nullptr, -1.0f, lr, &data_, &meter_));
    if (at.Once()) report->losses.push_back({"forget_neg_ce", meter_.Mean()});
    return OkStatus();
  }

 private:
  std::vector<Batch> batches_;
  LossMeter meter_;
  BatchData data_;
};

}  // namespace

std::unique_ptr<Method> MakeGradientAscent() { return std::make_unique<GradientAscent>(); }

}  // namespace qf::unlearn
