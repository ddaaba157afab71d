// rl: random labels. Each forget sample gets a label drawn uniformly from all classes
// (it may equal the true one), once, when the method begins; then the forget set with
// those labels and the retain set are trained together with cross-entropy.
#include "unlearn/method_factories.h"

namespace qf::unlearn {
namespace {

class RandomLabels : public EpochMethod {
 public:
  const char* name() const override { return "rl"; }
  std::optional<uint64_t> PlannedPasses(const UnlearnOptions& o, size_t forget,
                                        size_t retain) const override {
    return uint64_t(o.epochs) * (forget + retain);
  }

  Status Begin(MethodContext& ctx) override {
    labels_.resize(ctx.forget->size());
    for (Label& label : labels_) label = Label(ctx.rng.Below(uint32_t(ctx.model->classes())));
    return EpochMethod::Begin(ctx);
  }

 protected:
  Status RunEpoch(MethodContext& ctx, int, float lr, EpochCursor& at,
                  EpochReport* report) override {
    if (at.Once()) {
      meter_.Reset();
      batches_ = MakeBatches(ctx, ForgetThenRetain(ctx));
    }
    QF_RETURN_IF_ERROR(CrossEntropyPass(ctx, at, batches_, &labels_, 1.0f, lr, &data_, &meter_));
    if (at.Once()) report->losses.push_back({"ce", meter_.Mean()});
    return OkStatus();
  }

 private:
  std::vector<Label> labels_;  // the random label of each forget sample
  std::vector<Batch> batches_;
  LossMeter meter_;
  BatchData data_;
};

}  // namespace

std::unique_ptr<Method> MakeRandomLabels() { return std::make_unique<RandomLabels>(); }

}  // namespace qf::unlearn
