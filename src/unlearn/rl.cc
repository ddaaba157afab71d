// rl: random labels. Each forget sample gets a label drawn uniformly from all classes
// (it may equal the true one), once, when the method begins; then the forget set with
// those labels and the retain set are trained together with cross-entropy.
#include "unlearn/method_factories.h"

namespace qf::unlearn {
namespace {

class RandomLabels : public PhasedMethod {
 public:
  const char* name() const override { return "rl"; }
  std::optional<uint64_t> PlannedSamples(const UnlearnOptions& o, size_t forget,
                                         size_t retain) const override {
    return uint64_t(o.epochs) * (forget + retain);
  }

  Status Begin(MethodContext& ctx) override {
    labels_.resize(ctx.forget->size());
    for (uint8_t& label : labels_) label = uint8_t(ctx.rng.Below(uint32_t(ctx.model->classes())));
    return PhasedMethod::Begin(ctx);
  }

 protected:
  Status PlanEpoch(MethodContext& ctx, int, std::vector<Phase>* phases) override {
    meter_.Reset();
    std::vector<SampleRef> all = AllOf(*ctx.forget, true);
    const std::vector<SampleRef> retain = AllOf(*ctx.retain, false);
    all.insert(all.end(), retain.begin(), retain.end());
    phases->push_back(CrossEntropyPhase(
        "mixed", MakeBatches(ctx, std::move(all)), [this](uint32_t i) { return labels_[i]; }, 1.0f,
        &meter_));
    return OkStatus();
  }

  void FinishEpoch(MethodContext&, EpochReport* report) override {
    report->losses.push_back({"ce", meter_.Mean()});
  }

 private:
  LossMeter meter_;
  std::vector<uint8_t> labels_;
};

}  // namespace

std::unique_ptr<Method> MakeRandomLabels() { return std::make_unique<RandomLabels>(); }

}  // namespace qf::unlearn
