// qmul: Q-MUL (Tong et al., ICCV 2025), as SPEC §4 states the rule. Every epoch:
//  1. similar labels: with the model in inference mode, each forget sample's label
//     becomes argmin over j != y of |p_j - p_y| (the runner-up when the model is right;
//     ties go to the lowest class);
//  2. adaptive reweighting: g_b = sum over trainable tensors of ||d mean-CE_b / d theta||_2
//     per batch; G_f, G_r = mean g_b over forget batches (similar labels) and retain
//     batches (optionally capped); w_f = G_r / (G_f + G_r), w_r = G_f / (G_f + G_r). A G
//     that is not finite (a diverged model or loss, or a scan of no batch) is an error,
//     never a weighting; with both 0 (no gradient anywhere) the sides weigh 1/2 each;
//  3. the weighted pass: loss = (1/B) sum w(i) CE_i over batches of D_f (similar labels)
//     and D_r shuffled together ("mixed"), or all forget batches then all retain batches
//     ("sequential").
// The gradient scans update no weights. By default (qmul_scan_mode "train") they run
// training-mode forwards: BatchNorm uses each batch's statistics and updates its running
// averages, as a training step would; "eval" takes the deployed model's gradient
// (kEvalGradient: running statistics, untouched), as SalUn's saliency scan does.
// Training mode is the default because the weights balance a training-mode step; eval mode
// was never ahead on resnet8 and is the same computation without BatchNorm (lenet, mlp):
// bench/UNLEARNING.md, "Q-MUL's gradient scans: training mode or eval mode".
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "train/loss.h"
#include "unlearn/method_factories.h"

namespace qf::unlearn {
namespace {

class Qmul : public EpochMethod {
 public:
  const char* name() const override { return "qmul"; }
  std::optional<uint64_t> PlannedSamples(const UnlearnOptions& o, size_t forget,
                                         size_t retain) const override {
    // Per epoch: the similar-label and the forget-gradient scans, the retain-gradient
    // scan (capped at qmul_retain_scan_batches batches), the weighted pass over both sets.
    uint64_t retain_scan = retain;
    if (o.qmul_retain_scan_batches > 0) {
      retain_scan = std::min<uint64_t>(retain, uint64_t(o.qmul_retain_scan_batches) * o.batch_size);
    }
    return uint64_t(o.epochs) * (3 * uint64_t(forget) + retain_scan + retain);
  }

  Status Begin(MethodContext& ctx) override {
    labels_.assign(ctx.forget->size(), 0);
    return EpochMethod::Begin(ctx);
  }

 protected:
  Status RunEpoch(MethodContext& ctx, int, float lr, EpochCursor& at,
                  EpochReport* report) override {
    if (at.Once()) {
      const size_t classes = ctx.model->classes();
      stats_ = QmulEpoch();
      stats_.similar_labels.assign(classes * classes, 0);
      forget_norms_.Reset();
      retain_norms_.Reset();
      meter_.Reset();
      forget_in_order_ = InOrderBatches(ctx, *ctx.forget, true);
      retain_scan_ = MakeBatches(ctx, AllRetain(ctx));
      if (ctx.options.qmul_retain_scan_batches > 0 &&
          retain_scan_.size() > ctx.options.qmul_retain_scan_batches) {
        retain_scan_.resize(ctx.options.qmul_retain_scan_batches);
      }
      if (ctx.options.qmul_mode == "mixed") {
        weighted_ = MakeBatches(ctx, ForgetThenRetain(ctx));
        weighted_retain_.clear();
      } else {
        weighted_ = MakeBatches(ctx, AllOf(*ctx.forget, true));
        weighted_retain_ = MakeBatches(ctx, AllRetain(ctx));
      }
    }
    // 1. Similar labels, from the model as the epoch finds it.
    for (const Batch& batch : at.Batches(forget_in_order_)) SimilarLabels(ctx, batch);
    // 2. Gradient magnitudes, without updates: G_f over the forget batches with their
    //    similar labels, G_r over the retain batches; then the weights.
    const nn::Mode scan =
        ctx.options.qmul_scan_mode == "eval" ? nn::Mode::kEvalGradient : nn::Mode::kTrain;
    for (const Batch& batch : at.Batches(forget_in_order_)) {
      Gather(ctx, batch, &data_, &labels_);
      forget_norms_.Add(GradientNorm(ctx, data_, scan));
    }
    for (const Batch& batch : at.Batches(retain_scan_)) {
      Gather(ctx, batch, &data_);
      retain_norms_.Add(GradientNorm(ctx, data_, scan));
    }
    if (at.Once()) QF_RETURN_IF_ERROR(ComputeWeights());
    // 3. The weighted pass: mixed batches, or (sequential) the forget batches, then the
    //    retain batches.
    for (const Batch& batch : at.Batches(weighted_))
      QF_RETURN_IF_ERROR(WeightedStep(ctx, batch, lr));
    for (const Batch& batch : at.Batches(weighted_retain_)) {
      QF_RETURN_IF_ERROR(WeightedStep(ctx, batch, lr));
    }
    if (at.Once()) {
      report->losses.push_back({"weighted_ce", meter_.Mean()});
      report->qmul = stats_;
    }
    return OkStatus();
  }

 private:
  // One step on sum w(i) CE_i / B, forget samples with their similar labels.
  Status WeightedStep(MethodContext& ctx, const Batch& batch, float lr) {
    Gather(ctx, batch, &data_, &labels_);
    data_.weights.resize(batch.size());
    for (size_t i = 0; i < batch.size(); i++) {
      data_.weights[i] = float(batch[i].forget ? stats_.w_forget : stats_.w_retain);
    }
    QF_ASSIGN_OR_RETURN(const float loss, CrossEntropyStep(ctx, data_, 1.0f, lr));
    meter_.Add(loss);
    data_.weights.clear();
    return OkStatus();
  }

  void SimilarLabels(MethodContext& ctx, const Batch& batch) {
    const size_t c = ctx.model->classes();
    Gather(ctx, batch, &data_);
    Tensor logits;
    ctx.model->Forward(data_.x.data(), data_.n, &logits, nn::Mode::kEval);
    train::Softmax(logits, &logits);
    for (size_t i = 0; i < batch.size(); i++) {
      const float* p = logits.data() + i * c;
      const size_t y = data_.y[i];
      size_t best = y == 0 ? 1 : 0;
      for (size_t j = 0; j < c; j++) {
        if (j != y && std::fabs(p[j] - p[y]) < std::fabs(p[best] - p[y])) best = j;
      }
      labels_[batch[i].index] = Label(best);
      stats_.similar_labels[y * c + best]++;
    }
  }

  Status ComputeWeights() {
    const double none = std::numeric_limits<double>::quiet_NaN();  // the mean of no batch
    stats_.g_forget = forget_norms_.count ? forget_norms_.Mean() : none;
    stats_.g_retain = retain_norms_.count ? retain_norms_.Mean() : none;
    std::string bad;
    auto check = [&bad](const char* name, const std::string& set, double g, size_t batches) {
      if (std::isfinite(g)) return;
      const std::string scanned = batches == 0   ? "no batch"
                                  : batches == 1 ? "over 1 batch"
                                                 : "over " + std::to_string(batches) + " batches";
      bad += std::string(bad.empty() ? "" : "; ") + name + " (the mean gradient norm over the " +
             set + " batches) is " + (std::isnan(g) ? "nan" : std::to_string(g)) + " (" + scanned +
             "): " +
             (batches ? "the model or its loss diverged (try a smaller lr)"
                      : "no " + set + " batch was scanned");
    };
    check("G_f", "forget", stats_.g_forget, forget_norms_.count);
    check("G_r", "retain", stats_.g_retain, retain_norms_.count);
    if (!bad.empty()) {
      return FailedPrecondition("qmul: " + bad +
                                "; the weights w_f, w_r need both G_f and G_r finite");
    }
    const double total = stats_.g_forget + stats_.g_retain;
    stats_.w_forget = total > 0 ? stats_.g_retain / total : 0.5;
    stats_.w_retain = total > 0 ? stats_.g_forget / total : 0.5;
    return OkStatus();
  }

  std::vector<Label> labels_;  // the similar label of each forget sample
  QmulEpoch stats_;
  std::vector<Batch> forget_in_order_, retain_scan_, weighted_, weighted_retain_;
  LossMeter forget_norms_, retain_norms_, meter_;
  BatchData data_;
};

}  // namespace

std::unique_ptr<Method> MakeQmul() { return std::make_unique<Qmul>(); }

}  // namespace qf::unlearn
