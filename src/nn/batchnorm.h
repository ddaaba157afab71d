// BatchNorm over the last (channel) dimension of any-rank input ([N, C], [N, H, W, C]):
// batch statistics in training, running statistics in eval, and the eval-mode affine
// for folding into a preceding layer. Float only: it does not quantize anything itself.
#pragma once

#include <vector>

#include "nn/layer.h"

namespace qf::nn {

// Training (Mode::kTrain), per channel c over the M = N * (positions per sample) values:
//   mean = sum(x) / M, var = sum((x - mean)^2) / M            (biased, as PyTorch)
//   y = gamma * (x - mean) / sqrt(var + eps) + beta
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var + momentum * var * M / (M - 1)  (unbiased)
// Statistics are accumulated in double. With M == 1 the unbiased variance does not
// exist: running_var is left unchanged (PyTorch refuses such a batch).
// Eval (Mode::kEval): y = x * scale + shift with FoldedAffine's scale and shift, running
// statistics untouched. Mode::kEvalGradient computes the same y and keeps x_hat for
// Backward.
// Calibration (Mode::kCalibrate, after BeginCalibration): y as in training; the k-th
// batch's statistics enter the running ones with weight 1 / k in place of the momentum,
// so that they end as the mean of the run's batches' mean and unbiased variance
// (PyTorch's momentum=None). No caches: Backward does not follow.
// Backward is the gradient of the last kTrain Forward (through the batch statistics) or
// kEvalGradient Forward (of the eval affine: the running statistics are constants).
class BatchNorm : public Layer {
 public:
  explicit BatchNorm(float momentum = 0.1f, float eps = 1e-5f) : momentum_(momentum), eps_(eps) {}

  const char* type() const override { return "batch_norm"; }
  // InvalidArgument unless the per-sample input has rank >= 1 and no zero dimension.
  // Sets gamma = 1, beta = 0, running mean 0 and running variance 1 (as Init does).
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  void Init(Rng& rng) override;
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  void Backward(const Tensor& dy, Tensor* dx) override;
  // gamma ("<name>.gamma") and beta ("<name>.beta"), both Kind::kNorm, shape [C].
  void CollectParams(std::vector<Param*>* out) override;
  // gamma, beta, then the running statistics "<name>.running_mean" and "<name>.running_var".
  void CollectState(StateVisitor* visitor) override;
  size_t BeginCalibration() override;

  // The eval-mode transform as y = x * scale[c] + shift[c]:
  //   scale = gamma / sqrt(running_var + eps), shift = beta - running_mean * scale.
  // Resizes both vectors to C. Eval Forward computes exactly this (same floats).
  void FoldedAffine(std::vector<float>* scale, std::vector<float>* shift) const;

  size_t channels() const { return channels_; }
  float momentum() const { return momentum_; }
  float eps() const { return eps_; }
  Param& gamma() { return gamma_; }
  Param& beta() { return beta_; }
  // Running statistics, shape [C]: not trained by gradients, but part of the model's
  // state (save and load them with the parameters). Owned by the layer; writing them
  // needs no OnParamsChanged (eval Forward reads them every time).
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }

 private:
  void ResetState();

  float momentum_, eps_;
  std::string name_;
  size_t channels_ = 0;
  Param gamma_, beta_;
  Tensor running_mean_, running_var_;
  size_t calibrated_batches_ = 0;  // of the current calibration run
  // From the last kTrain or kEvalGradient Forward, for Backward.
  bool batch_statistics_ = true;    // kTrain: normalized with the batch's statistics
  Tensor x_hat_;                    // (x - mean) * inv_std, the input's shape
  std::vector<double> inv_std_;     // 1 / sqrt(var + eps) per channel
  std::vector<double> sum_, sum2_;  // per-channel scratch
  std::vector<float> scale_, shift_;
};

}  // namespace qf::nn
