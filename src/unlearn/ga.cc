// ga: gradient ascent on the forget set only: minimize -CE on D_f with its true labels.
#include "unlearn/method_factories.h"

namespace qf::unlearn {
namespace {

class GradientAscent : public PhasedMethod {
 public:
  const char* name() const override { return "ga"; }
  bool uses_retain() const override { return false; }
  std::optional<uint64_t> PlannedSamples(const UnlearnOptions& o, size_t forget,
                                         size_t) const override {
    return uint64_t(o.epochs) * forget;
  }

 protected:
  Status PlanEpoch(MethodContext& ctx, int, std::vector<Phase>* phases) override {
    meter_.Reset();
    phases->push_back(CrossEntropyPhase("forget", MakeBatches(ctx, AllOf(*ctx.forget, true)),
                                        nullptr, -1.0f, &meter_));
    return OkStatus();
  }

  void FinishEpoch(MethodContext&, EpochReport* report) override {
    report->losses.push_back({"forget_neg_ce", meter_.Mean()});
  }

 private:
  LossMeter meter_;
};

}  // namespace

std::unique_ptr<Method> MakeGradientAscent() { return std::make_unique<GradientAscent>(); }

}  // namespace qf::unlearn
