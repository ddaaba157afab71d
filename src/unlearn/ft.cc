// ft: fine-tune on the retain set only, with cross-entropy (the forget set is simply
// not seen again).
#include "unlearn/methods.h"

namespace qf::unlearn {
namespace {

class FineTune : public PhasedMethod {
 public:
  const char* name() const override { return "ft"; }

 protected:
  Status PlanEpoch(MethodContext& ctx, int, std::vector<Phase>* phases) override {
    meter_.Reset();
    phases->push_back(CrossEntropyPhase("retain", MakeBatches(ctx, AllOf(*ctx.retain, false)),
                                        nullptr, 1.0f, &meter_));
    return OkStatus();
  }

  void FinishEpoch(MethodContext&, EpochReport* report) override {
    report->losses.push_back({"retain_ce", meter_.Mean()});
  }

 private:
  LossMeter meter_;
};

}  // namespace

std::unique_ptr<Method> MakeFineTune() { return std::make_unique<FineTune>(); }

}  // namespace qf::unlearn
