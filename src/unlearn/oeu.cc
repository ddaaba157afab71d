// oeu: orthogonal entropy unlearning (Zhang, Tong et al., arXiv 2602.00567), as SPEC §4
// states it. Each step takes a forget batch and a retain batch: g_f = d(-H)/d(theta) on
// the forget batch (H the mean prediction entropy, so the step raises it), g_r = d CE /
// d(theta) on the retain batch; g_f loses its component along g_r (one flat vector over
// all trainable parameters, oeu.h) and the optimizer steps on g_f' + g_r. An epoch walks
// the shuffled forget batches once, cycling through the shuffled retain batches. Not the
// paper's full recipe (no extra loss weights or schedules beyond UnlearnOptions).
#include "unlearn/oeu.h"

#include <algorithm>
#include <cmath>

#include "train/loss.h"
#include "train/optimizer.h"
#include "unlearn/method_factories.h"

namespace qf::unlearn {

double ProjectOrthogonal(const std::vector<float>& r, std::vector<float>* g) {
  double gr = 0, rr = 0, gg = 0;
  for (size_t i = 0; i < r.size(); i++) {
    gr += double((*g)[i]) * r[i];
    rr += double(r[i]) * r[i];
    gg += double((*g)[i]) * (*g)[i];
  }
  if (rr == 0) return 0.0;
  const double scale = gr / rr;
  for (size_t i = 0; i < r.size(); i++) (*g)[i] = float(double((*g)[i]) - scale * r[i]);
  return gg > 0 ? gr / std::sqrt(gg * rr) : 0.0;
}

namespace {

// The parameters' grads as one flat vector.
void FlattenGrads(const std::vector<nn::Param*>& params, std::vector<float>* out) {
  out->clear();
  for (const nn::Param* p : params) {
    out->insert(out->end(), p->grad.values().begin(), p->grad.values().end());
  }
}

class Oeu : public EpochMethod {
 public:
  const char* name() const override { return "oeu"; }

 protected:
  Status RunEpoch(MethodContext& ctx, int, float lr, EpochCursor& at,
                  EpochReport* report) override {
    if (at.Once()) {
      neg_entropy_.Reset();
      retain_ce_.Reset();
      cosine_.Reset();
      // Each step: a forget batch, then the next retain batch (cycling), in one Batch.
      const std::vector<Batch> retain = MakeBatches(ctx, AllRetain(ctx));
      steps_ = MakeBatches(ctx, AllOf(*ctx.forget, true));
      for (size_t i = 0; i < steps_.size(); i++) {
        const Batch& r = retain[i % retain.size()];
        steps_[i].insert(steps_[i].end(), r.begin(), r.end());
      }
    }
    // Each forget batch steps along g_f projected orthogonally to g_r of its retain batch,
    // plus g_r.
    for (const Batch& step : at.Batches(steps_)) QF_RETURN_IF_ERROR(OrthogonalStep(ctx, step, lr));
    if (at.Once()) {
      report->losses.push_back({"forget_neg_entropy", neg_entropy_.Mean()});
      report->losses.push_back({"retain_ce", retain_ce_.Mean()});
      report->losses.push_back({"cosine", cosine_.Mean()});  // between g_f and g_r
    }
    return OkStatus();
  }

 private:
  Status OrthogonalStep(MethodContext& ctx, const Batch& step, float lr) {
    const std::vector<nn::Param*>& params = ctx.model->params();
    const auto retain = std::find_if(step.begin(), step.end(), [](const SampleRef& s) { return !s.forget; });
    Tensor logits, dlogits;
    // g_f: gradient of -H on the forget batch.
    Gather(ctx, Batch(step.begin(), retain), &data_);
    ctx.model->Forward(data_.x.data(), data_.n, &logits, nn::Mode::kTrain);
    const float entropy = train::SoftmaxEntropy(logits, &dlogits);
    for (float& v : dlogits.values()) v = -v;
    train::ZeroGrads(params);
    ctx.model->Backward(dlogits);
    FlattenGrads(params, &g_forget_);
    // g_r: gradient of CE on the retain batch.
    Gather(ctx, Batch(retain, step.end()), &data_);
    ctx.model->Forward(data_.x.data(), data_.n, &logits, nn::Mode::kTrain);
    const float ce = train::SoftmaxCrossEntropy(logits, data_.y.data(), nullptr, 1.0f, &dlogits);
    if (!std::isfinite(ce) || !std::isfinite(entropy)) {
      return Status(StatusCode::kFailedPrecondition,
                    "unlearning diverged: the loss is not finite (try a smaller lr)");
    }
    train::ZeroGrads(params);
    ctx.model->Backward(dlogits);
    FlattenGrads(params, &g_retain_);
    cosine_.Add(ProjectOrthogonal(g_retain_, &g_forget_));
    // The step direction g_f' + g_r, written back into the grads.
    size_t at = 0;
    for (nn::Param* p : params) {
      for (float& g : p->grad.values()) {
        g = g_forget_[at] + g_retain_[at];
        at++;
      }
    }
    ctx.optimizer->Step(params, lr);
    ctx.model->OnParamsChanged();
    neg_entropy_.Add(-entropy);
    retain_ce_.Add(ce);
    return OkStatus();
  }

  std::vector<Batch> steps_;  // a forget batch and its retain batch each
  std::vector<float> g_forget_, g_retain_;
  LossMeter neg_entropy_, retain_ce_, cosine_;
  BatchData data_;
};

}  // namespace

std::unique_ptr<Method> MakeOeu() { return std::make_unique<Oeu>(); }

}  // namespace qf::unlearn
