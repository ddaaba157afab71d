// retrain: the gold standard. Resets the working copy to the freshly initialized model its
// spec describes (same seed, so the same initial weights as the original had), then trains
// it with cross-entropy on D_r using the caller's UnlearnOptions (epochs, batch, lr,
// optimizer, schedule) as the recipe. It is not Fit(): no augmentation, no clipping.
#include <limits>

#include "unlearn/methods.h"

namespace qf::unlearn {
namespace {

// Records, in visiting order, the state tensors and flags of a model.
class StateReader : public nn::StateVisitor {
 public:
  void Float(const std::string&, Tensor* value, nn::FloatRule) override {
    tensors.push_back(value);
  }
  void Quantized(const nn::QuantizedWeightState& state) override {
    tensors.push_back(state.weight);
    tensors.push_back(state.steps);
  }
  void Flag(const std::string&, bool* value) override { flags.push_back(*value); }

  std::vector<Tensor*> tensors;
  std::vector<bool> flags;
};

// Overwrites a model's state with what a StateReader recorded from a model of the same
// spec; `ok` turns false (and nothing more is written) on any mismatch.
class StateWriter : public nn::StateVisitor {
 public:
  explicit StateWriter(const StateReader& from) : from_(from) {}
  void Float(const std::string&, Tensor* value, nn::FloatRule) override { Copy(value); }
  void Quantized(const nn::QuantizedWeightState& state) override {
    Copy(state.weight);
    Copy(state.steps);
  }
  void Flag(const std::string&, bool* value) override {
    if (!ok || flag_ >= from_.flags.size()) {
      ok = false;
      return;
    }
    *value = from_.flags[flag_++];
  }
  bool Complete() const {
    return ok && tensor_ == from_.tensors.size() && flag_ == from_.flags.size();
  }

  bool ok = true;

 private:
  void Copy(Tensor* to) {
    if (!ok || tensor_ >= from_.tensors.size() || from_.tensors[tensor_]->shape() != to->shape()) {
      ok = false;
      return;
    }
    to->values() = from_.tensors[tensor_++]->values();
  }

  const StateReader& from_;
  size_t tensor_ = 0, flag_ = 0;
};

class Retrain : public PhasedMethod {
 public:
  const char* name() const override { return "retrain"; }

  // Re-initialization: a fresh Model::Create of the same spec (weights drawn with
  // spec().seed, BatchNorm running statistics at their initial values, input quantizers
  // not yet initialized from data), whose whole state is then copied into the working
  // copy. The working copy exists already, so the fresh build is not budget-limited.
  Status Begin(MethodContext& ctx) override {
    QF_ASSIGN_OR_RETURN(std::unique_ptr<nn::Model> fresh,
                        nn::Model::Create(ctx.model->spec(), std::numeric_limits<size_t>::max()));
    StateReader reader;
    fresh->CollectState(&reader);
    StateWriter writer(reader);
    ctx.model->CollectState(&writer);
    if (!writer.Complete()) {
      return Status(StatusCode::kInternal,
                    "retrain: a fresh model of the same spec has a different state layout");
    }
    ctx.model->OnParamsChanged();
    return PhasedMethod::Begin(ctx);
  }

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

std::unique_ptr<Method> MakeRetrain() { return std::make_unique<Retrain>(); }

}  // namespace qf::unlearn
