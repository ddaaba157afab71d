// qmul: Q-MUL (Tong et al., ICCV 2025), as SPEC §4 states the rule. Every epoch:
//  1. similar labels: each forget sample gets a label j != y (ties go to the lowest class)
//     by the rule UnlearnOptions::qmul_similarity names:
//       "prediction" (SPEC §4, the default): with the model in inference mode,
//         argmin over j != y of |p_j - p_y| (the runner-up when the model is right);
//       "confusion": per true class y, argmax over j != y of C[y][j] + C[j][y], C the
//         confusion counts (true class, eval-mode prediction) of the retain batches the
//         G_r scan reads, counted on the model as the epoch finds it. Both directions,
//         because a class forgotten whole has no retain sample of its own: what the
//         model mistakes *for* it is then the only evidence. A class whose row and
//         column are all 0 has no evidence: its samples fall back to "prediction";
//       "embedding": per sample, the nearest retain class centroid c_j, j != y, in
//         Euclidean distance between the sample's penultimate features (nn::Model::
//         features, eval mode) and the mean features of the scanned retain batches'
//         samples of class j (same model, same batches as "confusion"). With no centroid
//         but y's, the sample falls back to "prediction";
//       "matrix": per true class y, argmax over j != y of S[y][j] (user given; fixed, so
//         no pass over the forget set is needed).
//  2. adaptive reweighting: g_b = sum over trainable tensors of ||d mean-CE_b / d theta||_2
//     per batch; G_f, G_r = mean g_b over forget batches (similar labels) and retain
//     batches (optionally capped); w_f = G_r / (G_f + G_r), w_r = G_f / (G_f + G_r). A G
//     that is not finite (a diverged model or loss, or a scan of no batch) is an error,
//     never a weighting; with both 0 (no gradient anywhere) the sides weigh 1/2 each;
//  3. the weighted pass: loss = (1/B) sum w(i) CE_i over batches of D_f (similar labels)
//     and D_r shuffled together ("mixed"), or all forget batches then all retain batches
//     ("sequential").
// Indicators of the reweighting come from passes the method runs anyway (README.md, "Q-MUL's
// indicators"): G_f and G_r per layer and the cosine between the forget and retain scans'
// summed gradients (from the scans); the retain accuracy of the weighted pass (its
// training-mode forwards, each batch before its step); the share of forget samples
// predicted as their similar label after the epoch (in the pass that measures the
// epoch's forget accuracy); warnings (kQmulLowWeight, kQmulRetainDrop).
// The gradient scans update no weights. By default (qmul_scan_mode "train") they run
// training-mode forwards: BatchNorm uses each batch's statistics and updates its running
// averages, as a training step would; "eval" takes the deployed model's gradient
// (kEvalGradient: running statistics, untouched), as SalUn's saliency scan does.
// Training mode is the default because the weights balance a training-mode step; eval mode
// was never ahead on resnet8 and is the same computation without BatchNorm (lenet, mlp):
// bench/UNLEARNING.md, "Q-MUL's gradient scans: training mode or eval mode".
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "train/loss.h"
#include "train/trainer.h"
#include "unlearn/method_factories.h"

namespace qf::unlearn {
namespace {

constexpr size_t kNone = SIZE_MAX;

// SPEC §4's rule: argmin over j != y of |p_j - p_y|, ties to the lowest class.
size_t PredictionRule(const float* p, size_t y, size_t classes) {
  size_t best = y == 0 ? 1 : 0;
  for (size_t j = 0; j < classes; j++) {
    if (j != y && std::fabs(p[j] - p[y]) < std::fabs(p[best] - p[y])) best = j;
  }
  return best;
}

// The first class of the largest logit (train::CountCorrect's rule).
size_t Argmax(const float* z, size_t classes) {
  size_t best = 0;
  for (size_t j = 1; j < classes; j++) {
    if (z[j] > z[best]) best = j;
  }
  return best;
}

std::string Percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100 * fraction);
  return text;
}

std::string Short(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", v);
  return text;
}

class Qmul : public EpochMethod {
 public:
  const char* name() const override { return "qmul"; }
  std::optional<uint64_t> PlannedPasses(const UnlearnOptions& o, size_t forget,
                                        size_t retain) const override {
    // Per epoch: the similar-label scan (none with a matrix) and, for confusion and
    // embedding, the class scan over the scanned retain batches; the forget-gradient scan,
    // the retain-gradient scan (capped at qmul_retain_scan_batches batches), the weighted
    // pass over both sets.
    uint64_t retain_scan = retain;
    if (o.qmul_retain_scan_batches > 0) {
      retain_scan = std::min<uint64_t>(retain, uint64_t(o.qmul_retain_scan_batches) * o.batch_size);
    }
    const std::string& rule = o.qmul_similarity;
    const uint64_t similar = rule == "matrix" ? 0 : forget;
    const uint64_t classes = rule == "confusion" || rule == "embedding" ? retain_scan : 0;
    return uint64_t(o.epochs) * (similar + classes + 2 * uint64_t(forget) + retain_scan + retain);
  }

  Status Begin(MethodContext& ctx) override {
    const size_t c = ctx.model->classes();
    rule_ = ctx.options.qmul_similarity;
    labels_.assign(ctx.forget->size(), 0);
    first_retain_accuracy_ = -1;
    // "matrix": each class's similar label, once.
    class_target_.assign(c, kNone);
    if (rule_ == "matrix") {
      const std::vector<double>& s = ctx.options.qmul_similarity_matrix;
      for (size_t y = 0; y < c; y++) {
        for (size_t j = 0; j < c; j++) {
          if (j == y || !(s[y * c + j] > 0)) continue;
          if (class_target_[y] == kNone || s[y * c + j] > s[y * c + class_target_[y]]) {
            class_target_[y] = j;
          }
        }
      }
    }
    // The layers the trainable tensors belong to, in order.
    layer_of_.clear();
    layers_.clear();
    for (const nn::Model::ParamLayer& layer : ctx.model->param_layers()) {
      if (layers_.empty() || layers_.back().layer != layer.name) {
        QmulEpoch::LayerNorms l;
        l.layer = layer.name;
        l.type = layer.type;
        layers_.push_back(l);
      }
      layer_of_.push_back(layers_.size() - 1);
    }
    return EpochMethod::Begin(ctx);
  }

 protected:
  Status RunEpoch(MethodContext& ctx, int epoch, float lr, EpochCursor& at,
                  EpochReport* report) override {
    if (at.Once()) {
      const size_t classes = ctx.model->classes();
      stats_ = QmulEpoch();
      stats_.similarity = rule_;
      stats_.similar_labels.assign(classes * classes, 0);
      forget_norms_.Reset();
      retain_norms_.Reset();
      meter_.Reset();
      forget_tensors_.assign(layer_of_.size(), 0.0);
      retain_tensors_.assign(layer_of_.size(), 0.0);
      forget_sum_.clear();
      retain_sum_.clear();
      retain_seen_ = retain_correct_ = 0;
      confusion_.assign(rule_ == "confusion" ? classes * classes : 0, 0);
      centroid_slot_.assign(rule_ == "embedding" ? classes : 0, kNone);
      centroids_.clear();
      centroid_count_.clear();
      forget_in_order_ = InOrderBatches(ctx, *ctx.forget, true);
      retain_scan_ = MakeBatches(ctx, AllRetain(ctx));
      if (ctx.options.qmul_retain_scan_batches > 0 &&
          retain_scan_.size() > ctx.options.qmul_retain_scan_batches) {
        retain_scan_.resize(ctx.options.qmul_retain_scan_batches);
      }
      class_scan_.clear();
      if (rule_ == "confusion" || rule_ == "embedding") class_scan_ = retain_scan_;
      similar_scan_.clear();
      if (rule_ != "matrix") similar_scan_ = forget_in_order_;
      if (ctx.options.qmul_mode == "mixed") {
        weighted_ = MakeBatches(ctx, ForgetThenRetain(ctx));
        weighted_retain_.clear();
      } else {
        weighted_ = MakeBatches(ctx, AllOf(*ctx.forget, true));
        weighted_retain_ = MakeBatches(ctx, AllRetain(ctx));
      }
    }
    // 1. Similar labels, from the model as the epoch finds it: the retain set's evidence
    //    (confusion, embedding), then each forget sample's label (a matrix needs no pass).
    for (const Batch& batch : at.Batches(class_scan_)) ClassEvidence(ctx, batch);
    if (at.Once()) PrepareSimilarLabels(ctx);
    for (const Batch& batch : at.Batches(similar_scan_)) SimilarLabels(ctx, batch);
    // 2. Gradient magnitudes, without updates: G_f over the forget batches with their
    //    similar labels, G_r over the retain batches; then the weights.
    const nn::Mode scan =
        ctx.options.qmul_scan_mode == "eval" ? nn::Mode::kEvalGradient : nn::Mode::kTrain;
    for (const Batch& batch : at.Batches(forget_in_order_)) {
      Gather(ctx, batch, &data_, &labels_);
      forget_norms_.Add(GradientNorm(ctx, data_, scan, &tensor_norms_, &forget_sum_));
      for (size_t t = 0; t < tensor_norms_.size(); t++) forget_tensors_[t] += tensor_norms_[t];
    }
    for (const Batch& batch : at.Batches(retain_scan_)) {
      Gather(ctx, batch, &data_);
      retain_norms_.Add(GradientNorm(ctx, data_, scan, &tensor_norms_, &retain_sum_));
      for (size_t t = 0; t < tensor_norms_.size(); t++) retain_tensors_[t] += tensor_norms_[t];
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
      stats_.retain_accuracy = retain_seen_ ? double(retain_correct_) / double(retain_seen_) : 0.0;
      if (epoch == 0) first_retain_accuracy_ = stats_.retain_accuracy;
      Warn(epoch);
      report->losses.push_back({"weighted_ce", meter_.Mean()});
      report->qmul = stats_;
    }
    return OkStatus();
  }

  // The epoch's forget accuracy and, from the same eval-mode pass over D_f, the share of
  // forget samples predicted as the similar label the epoch trained them towards.
  void FinishReport(MethodContext& ctx, const Tensor& forget_probs, EpochReport* report) override {
    EpochMethod::FinishReport(ctx, forget_probs, report);
    const size_t n = ctx.forget->size();
    const size_t moved = train::CountCorrect(forget_probs, labels_.data());
    if (report->qmul) report->qmul->moved_to_similar = n ? double(moved) / double(n) : 0.0;
  }

 private:
  // One step on sum w(i) CE_i / B, forget samples with their similar labels; counts the
  // retain samples its forward got right.
  Status WeightedStep(MethodContext& ctx, const Batch& batch, float lr) {
    Gather(ctx, batch, &data_, &labels_);
    data_.weights.resize(batch.size());
    for (size_t i = 0; i < batch.size(); i++) {
      data_.weights[i] = float(batch[i].forget ? stats_.w_forget : stats_.w_retain);
    }
    QF_ASSIGN_OR_RETURN(const float loss, CrossEntropyStep(ctx, data_, 1.0f, lr, &logits_));
    meter_.Add(loss);
    data_.weights.clear();
    const size_t c = ctx.model->classes();
    for (size_t i = 0; i < batch.size(); i++) {
      if (batch[i].forget) continue;
      retain_seen_++;
      retain_correct_ += Argmax(logits_.data() + i * c, c) == data_.y[i];
    }
    return OkStatus();
  }

  // What the retain batch says about classes: its confusion counts ("confusion") or its
  // features per class ("embedding"); eval mode.
  void ClassEvidence(MethodContext& ctx, const Batch& batch) {
    const size_t c = ctx.model->classes();
    Gather(ctx, batch, &data_);
    ctx.model->Forward(data_.x.data(), data_.n, &logits_, nn::Mode::kEval);
    if (rule_ == "confusion") {
      for (size_t i = 0; i < batch.size(); i++) {
        confusion_[data_.y[i] * c + Argmax(logits_.data() + i * c, c)]++;
      }
      return;
    }
    const Tensor& features = ctx.model->features();
    const size_t d = features.size() / data_.n;
    for (size_t i = 0; i < batch.size(); i++) {
      size_t& slot = centroid_slot_[data_.y[i]];
      if (slot == kNone) {
        slot = centroid_count_.size();
        centroid_count_.push_back(0);
        centroids_.resize(centroids_.size() + d, 0.0);
      }
      centroid_count_[slot]++;
      const float* f = features.data() + i * d;
      for (size_t k = 0; k < d; k++) centroids_[slot * d + k] += f[k];
    }
  }

  // Once the retain set's evidence is in: "confusion" picks each class's label,
  // "embedding" turns the sums into centroids, "matrix" labels every forget sample.
  void PrepareSimilarLabels(MethodContext& ctx) {
    const size_t c = ctx.model->classes();
    if (rule_ == "confusion") {
      for (size_t y = 0; y < c; y++) {
        class_target_[y] = kNone;
        uint64_t most = 0;
        for (size_t j = 0; j < c; j++) {
          const uint64_t both = uint64_t(confusion_[y * c + j]) + confusion_[j * c + y];
          if (j != y && both > most) most = both, class_target_[y] = j;
        }
      }
    } else if (rule_ == "embedding") {
      const size_t d = centroid_count_.empty() ? 0 : centroids_.size() / centroid_count_.size();
      for (size_t s = 0; s < centroid_count_.size(); s++) {
        for (size_t k = 0; k < d; k++) centroids_[s * d + k] /= double(centroid_count_[s]);
      }
    } else if (rule_ == "matrix") {
      for (size_t i = 0; i < labels_.size(); i++) {
        const size_t y = ctx.forget->y[i];
        labels_[i] = Label(class_target_[y]);
        stats_.similar_labels[y * c + class_target_[y]]++;
      }
    }
  }

  void SimilarLabels(MethodContext& ctx, const Batch& batch) {
    const size_t c = ctx.model->classes();
    Gather(ctx, batch, &data_);
    ctx.model->Forward(data_.x.data(), data_.n, &logits_, nn::Mode::kEval);
    const Tensor* features = rule_ == "embedding" ? &ctx.model->features() : nullptr;
    train::Softmax(logits_, &logits_);
    for (size_t i = 0; i < batch.size(); i++) {
      const size_t y = data_.y[i];
      size_t best = kNone;
      if (rule_ == "confusion") best = class_target_[y];
      if (features) best = NearestCentroid(*features, i, y);
      if (best == kNone) {
        best = PredictionRule(logits_.data() + i * c, y, c);
        if (rule_ != "prediction") stats_.similarity_fallbacks++;
      }
      labels_[batch[i].index] = Label(best);
      stats_.similar_labels[y * c + best]++;
    }
  }

  // The class j != y whose centroid is nearest sample i's features (ties to the lowest
  // class), or kNone when no other class has one.
  size_t NearestCentroid(const Tensor& features, size_t i, size_t y) const {
    const size_t d = features.size() / data_.n;
    const float* f = features.data() + i * d;
    size_t best = kNone;
    double nearest = 0;
    for (size_t j = 0; j < centroid_slot_.size(); j++) {
      const size_t slot = centroid_slot_[j];
      if (j == y || slot == kNone) continue;
      double distance = 0;
      for (size_t k = 0; k < d; k++) {
        const double delta = double(f[k]) - centroids_[slot * d + k];
        distance += delta * delta;
      }
      if (best == kNone || distance < nearest) best = j, nearest = distance;
    }
    return best;
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
    // The indicators the scans give: G by layer (means over the same batches, so each
    // side's layers sum to its G) and the cosine between the summed gradients.
    stats_.layers = layers_;
    for (size_t t = 0; t < layer_of_.size(); t++) {
      stats_.layers[layer_of_[t]].g_forget += forget_tensors_[t] / double(forget_norms_.count);
      stats_.layers[layer_of_[t]].g_retain += retain_tensors_[t] / double(retain_norms_.count);
    }
    double dot = 0, ff = 0, rr = 0;
    for (size_t k = 0; k < forget_sum_.size() && k < retain_sum_.size(); k++) {
      dot += double(forget_sum_[k]) * retain_sum_[k];
      ff += double(forget_sum_[k]) * forget_sum_[k];
      rr += double(retain_sum_[k]) * retain_sum_[k];
    }
    stats_.gradient_cosine = ff > 0 && rr > 0 ? dot / std::sqrt(ff * rr) : none;
    return OkStatus();
  }

  // The epoch's warnings: w_f near 0 or 1, and retain accuracy fallen since epoch 1.
  void Warn(int epoch) {
    const double w = stats_.w_forget;
    const std::string g = " (G_f " + Short(stats_.g_forget) + ", G_r " + Short(stats_.g_retain) +
                          "; gByLayer shows which layers carry it)";
    if (w < kQmulLowWeight) {
      stats_.warnings.push_back(
          {"wForgetLow", "w_f = " + Short(w) + " < " + Short(kQmulLowWeight) +
                             ": the forget gradients are far larger than the retain ones" + g +
                             ", so the forget samples barely count and may not be forgotten"});
    } else if (w > 1 - kQmulLowWeight) {
      stats_.warnings.push_back(
          {"wForgetHigh", "w_f = " + Short(w) + " > " + Short(1 - kQmulLowWeight) +
                              ": the retain gradients are far larger than the forget ones" + g +
                              ", so the retain samples barely count and retain accuracy may "
                              "fall"});
    }
    if (epoch > 0 && first_retain_accuracy_ - stats_.retain_accuracy > kQmulRetainDrop) {
      stats_.warnings.push_back(
          {"retainAccuracyDrop",
           "retain accuracy in the weighted pass fell from " + Percent(first_retain_accuracy_) +
               " (epoch 1) to " + Percent(stats_.retain_accuracy) + ", more than " +
               Short(100 * kQmulRetainDrop) +
               " points: the forget side pulls the model off the retain set (try a smaller "
               "lr or fewer epochs)"});
    }
  }

  std::string rule_;
  std::vector<Label> labels_;          // the similar label of each forget sample
  std::vector<size_t> class_target_;   // confusion, matrix: each class's similar label
  std::vector<uint32_t> confusion_;    // confusion: [true class * classes + prediction]
  std::vector<size_t> centroid_slot_;  // embedding: each class's centroid, or kNone
  std::vector<double> centroids_;      // embedding: sums, then means, features by slot
  std::vector<size_t> centroid_count_;
  std::vector<size_t> layer_of_;  // the layer of each trainable tensor
  std::vector<QmulEpoch::LayerNorms> layers_;
  std::vector<double> tensor_norms_, forget_tensors_, retain_tensors_;
  std::vector<float> forget_sum_, retain_sum_;  // the scans' summed gradients
  size_t retain_seen_ = 0, retain_correct_ = 0;
  double first_retain_accuracy_ = -1;
  QmulEpoch stats_;
  std::vector<Batch> forget_in_order_, retain_scan_, class_scan_, similar_scan_, weighted_,
      weighted_retain_;
  LossMeter forget_norms_, retain_norms_, meter_;
  BatchData data_;
  Tensor logits_;
};

}  // namespace

std::unique_ptr<Method> MakeQmul() { return std::make_unique<Qmul>(); }

}  // namespace qf::unlearn
