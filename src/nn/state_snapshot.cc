// Model state snapshots.
#include "nn/state_snapshot.h"

#include <cmath>
#include <functional>

#include "core/check.h"
#include "quant/weight_grid.h"

namespace qf::nn {
namespace {

// Calls `tensor` for every state tensor and `flag` for every flag, in visiting order.
class Walker final : public StateVisitor {
 public:
  Walker(std::function<void(Tensor*)> tensor, std::function<void(bool*)> flag)
      : tensor_(std::move(tensor)), flag_(std::move(flag)) {}
  void Float(const std::string&, Tensor* value, FloatRule) override { tensor_(value); }
  void Quantized(const QuantizedWeightState& state) override {
    tensor_(state.weight);
    for (Param* p : state.params) tensor_(&p->value);
  }
  void Flag(const std::string&, bool* value) override { flag_(value); }

 private:
  std::function<void(Tensor*)> tensor_;
  std::function<void(bool*)> flag_;
};

}  // namespace

StateSnapshot::StateSnapshot(Model& model) {
  Walker walker([this](Tensor* t) { tensors_.emplace_back(t->values().begin(), t->values().end()); },
                [this](bool* f) { flags_.push_back(*f); });
  model.CollectState(&walker);
}

void StateSnapshot::Restore(Model& model) const {
  size_t t = 0, f = 0;
  Walker walker(
      [&](Tensor* tensor) {
        QF_CHECK(t < tensors_.size() && tensors_[t].size() == tensor->size());
        std::copy(tensors_[t].begin(), tensors_[t].end(), tensor->data());
        t++;
      },
      [&](bool* flag) {
        QF_CHECK(f < flags_.size());
        *flag = flags_[f++];
      });
  model.CollectState(&walker);
  QF_CHECK(t == tensors_.size() && f == flags_.size());
  model.OnParamsChanged();
}

void SnapShadowWeights(Model& model) {
  class Snapper final : public StateVisitor {
   public:
    void Float(const std::string&, Tensor*, FloatRule) override {}
    void Flag(const std::string&, bool*) override {}
    void Quantized(const QuantizedWeightState& s) override {
      quant::GridTable table;
      quant::BuildTable(s.grid, &table);
      std::vector<int8_t> codes(s.weight->size());
      quant::QuantizeToGrid(s.grid, table, s.weight->data(), codes.data());
      quant::DequantizeGrid(s.grid, table, codes.data(), s.weight->data());
    }
  } snapper;
  model.CollectState(&snapper);
  model.OnParamsChanged();
}

bool StateIsFinite(Model& model) {
  bool finite = true;
  Walker walker(
      [&](Tensor* t) {
        for (float v : t->values()) finite = finite && std::isfinite(v);
      },
      [](bool*) {});
  model.CollectState(&walker);
  return finite;
}

}  // namespace qf::nn
