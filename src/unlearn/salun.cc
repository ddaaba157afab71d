// salun: SalUn (Fan et al., ICLR 2024) on quantized nets. Epoch 1 opens with the saliency
// scan: the gradient of -CE on D_f (true labels) summed over all forget batches, no update;
// the top salun_ratio of kWeight elements by |gradient| (one global threshold) form the
// mask. Then rl (D_f with random labels drawn once at Begin, trained with D_r) updates
// only the masked-in weight elements. Choice for the other parameters: biases, LSQ steps
// (weight and input) and BatchNorm scale/shift are frozen. Freezing the weight steps is
// what keeps the deployed int codes of masked-out weights bit-identical (codes =
// quantize(weight, step)); SalUn's own code ranks biases too, we do not. The saliency is
// the gradient of the model as deployed (Mode::kEvalGradient, as SalUn's code takes it in
// eval mode): the scan moves no BatchNorm statistics. BatchNorm running statistics are
// buffers, not parameters: the training-mode forwards of the updates still move them.
#include "unlearn/salun.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "train/loss.h"
#include "train/optimizer.h"
#include "unlearn/method_factories.h"

namespace qf::unlearn {

void AccumulateForgetGradient(MethodContext& ctx, const BatchData& batch,
                              std::vector<std::vector<float>>* sum) {
  const std::vector<nn::Param*>& params = ctx.model->params();
  Tensor logits, dlogits;
  ctx.model->Forward(batch.x.data(), batch.n, &logits, nn::Mode::kEvalGradient);
  train::SoftmaxCrossEntropy(logits, batch.y.data(), nullptr, -1.0f, &dlogits);
  train::ZeroGrads(params);
  ctx.model->Backward(dlogits);
  sum->resize(params.size());
  for (size_t p = 0; p < params.size(); p++) {
    std::vector<float>& acc = (*sum)[p];
    const std::vector<float>& g = params[p]->grad.values();
    acc.resize(g.size(), 0.0f);
    for (size_t i = 0; i < g.size(); i++) acc[i] += g[i];
  }
  train::ZeroGrads(params);
}

std::vector<std::vector<uint8_t>> SaliencyMasks(const std::vector<nn::Param*>& params,
                                                const std::vector<std::vector<float>>& gradients,
                                                float ratio) {
  std::vector<std::vector<uint8_t>> masks(params.size());
  auto magnitude = [&](size_t p, size_t i) {
    const float g = p < gradients.size() && i < gradients[p].size() ? gradients[p][i] : 0.0f;
    return std::isfinite(g) ? std::fabs(g) : 0.0f;  // a non-finite gradient is not salient
  };
  std::vector<float> all;  // every weight element's magnitude (4 bytes per element)
  for (size_t p = 0; p < params.size(); p++) {
    masks[p].assign(params[p]->value.size(), 0);
    if (params[p]->kind != nn::Param::Kind::kWeight) continue;
    for (size_t i = 0; i < masks[p].size(); i++) all.push_back(magnitude(p, i));
  }
  const size_t keep =
      std::min(all.size(), size_t(std::llround(double(ratio) * double(all.size()))));
  if (keep == 0) return masks;
  // The threshold: the keep-th largest magnitude. Everything above it is kept; elements
  // equal to it fill the remaining places in parameter order, then element order.
  std::nth_element(all.begin(), all.begin() + (keep - 1), all.end(), std::greater<float>());
  const float threshold = all[keep - 1];
  all.clear();
  all.shrink_to_fit();
  size_t above = 0;
  for (size_t p = 0; p < params.size(); p++) {
    if (params[p]->kind != nn::Param::Kind::kWeight) continue;
    for (size_t i = 0; i < masks[p].size(); i++) above += magnitude(p, i) > threshold;
  }
  size_t ties_left = keep - above;
  for (size_t p = 0; p < params.size(); p++) {
    if (params[p]->kind != nn::Param::Kind::kWeight) continue;
    for (size_t i = 0; i < masks[p].size(); i++) {
      const float m = magnitude(p, i);
      if (m > threshold) {
        masks[p][i] = 1;
      } else if (m == threshold && ties_left > 0) {
        masks[p][i] = 1;
        ties_left--;
      }
    }
  }
  return masks;
}

namespace {

class Salun : public EpochMethod {
 public:
  const char* name() const override { return "salun"; }
  std::optional<uint64_t> PlannedPasses(const UnlearnOptions& o, size_t forget,
                                        size_t retain) const override {
    return forget + uint64_t(o.epochs) * (forget + retain);  // the saliency scan, then rl
  }

  Status Begin(MethodContext& ctx) override {
    labels_.resize(ctx.forget->size());
    for (Label& label : labels_) label = Label(ctx.rng.Below(uint32_t(ctx.model->classes())));
    gradients_.clear();
    return EpochMethod::Begin(ctx);
  }

 protected:
  Status RunEpoch(MethodContext& ctx, int epoch, float lr, EpochCursor& at,
                  EpochReport* report) override {
    if (at.Once()) {
      meter_.Reset();
      scan_ = epoch == 0 ? InOrderBatches(ctx, *ctx.forget, true) : std::vector<Batch>();
      batches_ = MakeBatches(ctx, ForgetThenRetain(ctx));
    }
    // 1. (First epoch) the saliency scan: the forget gradient summed over D_f, no update.
    for (const Batch& batch : at.Batches(scan_)) {
      Gather(ctx, batch, &data_);
      AccumulateForgetGradient(ctx, data_, &gradients_);
    }
    // 2. (First epoch) the mask: only the salient weights may move from here on.
    if (at.Once() && epoch == 0) ApplyMask(ctx);
    // 3. rl on the masked weights: D_f with random labels, with D_r.
    QF_RETURN_IF_ERROR(CrossEntropyPass(ctx, at, batches_, &labels_, 1.0f, lr, &data_, &meter_));
    if (at.Once()) report->losses.push_back({"ce", meter_.Mean()});
    return OkStatus();
  }

 private:
  void ApplyMask(MethodContext& ctx) {
    const std::vector<nn::Param*>& params = ctx.model->params();
    std::vector<std::vector<uint8_t>> masks =
        SaliencyMasks(params, gradients_, ctx.options.salun_ratio);
    for (size_t p = 0; p < params.size(); p++) {
      ctx.optimizer->SetMask(params[p], std::move(masks[p]));
    }
    gradients_.clear();
    gradients_.shrink_to_fit();
  }

  std::vector<Label> labels_;  // the random label of each forget sample
  std::vector<std::vector<float>> gradients_;
  std::vector<Batch> scan_, batches_;
  LossMeter meter_;
  BatchData data_;
};

}  // namespace

std::unique_ptr<Method> MakeSalun() { return std::make_unique<Salun>(); }

}  // namespace qf::unlearn
