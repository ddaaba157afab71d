// The unlearning method interface and the machinery methods share. A method works on a
// working copy of the model (unlearn/forget.h owns the copy and commits it only when the
// method finishes), advances a bounded number of batches per Step (so a caller can report
// progress and cancel between steps), and reports every epoch: the loss terms, the
// forget-set accuracy and, for Q-MUL, its reweighting and similar labels.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/status.h"
#include "nn/model.h"
#include "train/dataset.h"
#include "train/optimizer.h"

namespace qf::unlearn {

// Every hyperparameter, with the defaults Q-MUL's paper tunes (SPEC §4). Method-specific
// ones are ignored by the other methods.
struct UnlearnOptions {
  int epochs = 10;
  size_t batch_size = 256;
  float lr = 0.01f;
  train::OptimizerOptions optimizer;  // SGD, momentum 0.9, weight decay 5e-4
  train::ScheduleOptions schedule{"cosine"};
  uint64_t seed = 1;
  // qmul: "mixed" (forget and retain batches shuffled together) or "sequential".
  std::string qmul_mode = "mixed";
  // qmul: retain batches scanned for the gradient norm G_r (0: all).
  size_t qmul_retain_scan_batches = 0;
  // l1sparse: the L1 coefficient of the first epoch; it decays linearly to 0 at the last
  // epoch (with one epoch, that epoch uses it). In [0, 1].
  float l1_alpha = 5e-4f;
  // salun: the fraction of kWeight elements (by forget-gradient magnitude, one threshold
  // over all weight tensors) that may move. In (0, 1].
  float salun_ratio = 0.5f;
  // bs: the FGSM step, as a fraction of the input range [0, 1] (pixels / 255). In [0, 1].
  float bs_epsilon = 0.1f;
};

Status ValidateUnlearnOptions(const UnlearnOptions& options);

// Q-MUL's per-epoch diagnostics.
struct QmulEpoch {
  double g_forget = 0, g_retain = 0;  // mean summed per-tensor gradient norms
  double w_forget = 0, w_retain = 0;  // the adaptive weights
  // similar_labels[y * classes + j]: forget samples of true class y relabelled j.
  std::vector<uint32_t> similar_labels;
};

struct EpochReport {
  int epoch = 0;  // 1-based
  float lr = 0;
  double seconds = 0;
  std::vector<std::pair<std::string, double>> losses;  // mean loss terms of the epoch
  double forget_accuracy = 0;  // after the epoch, eval mode, fraction in [0, 1]
  std::optional<QmulEpoch> qmul;
};

// One sample of a batch: from the forget set (D_f) or the retain set (D_r).
struct SampleRef {
  bool forget;
  uint32_t index;
};

// What a method works with. The model is the working copy.
struct MethodContext {
  nn::Model* model = nullptr;
  const train::Dataset* forget = nullptr;
  const train::Dataset* retain = nullptr;
  UnlearnOptions options;
  Rng rng{1};
  std::unique_ptr<train::Optimizer> optimizer;
};

class Method {
 public:
  virtual ~Method() = default;
  virtual const char* name() const = 0;
  // False for methods that never look at D_r (ga, bs): they run without a retain set.
  virtual bool uses_retain() const { return true; }
  // Prepares the method on a context whose data and options are validated.
  virtual Status Begin(MethodContext& ctx) = 0;
  // Runs up to max_batches batches. Appends the reports of epochs that ended.
  virtual Status Step(MethodContext& ctx, size_t max_batches,
                      std::vector<EpochReport>* reports) = 0;
  virtual bool done() const = 0;

  // Its cost before it runs: how many samples it will put through the model (each a
  // forward and, except in the forget-set scans, a backward pass) with `options` on
  // `forget` and `retain` samples; the unit a fit's cost is counted in too (samples x
  // epochs), so `auto` can weigh rewinding against this method. nullopt where unknown.
  virtual std::optional<uint64_t> PlannedSamples(const UnlearnOptions& /*options*/,
                                                 size_t /*forget*/, size_t /*retain*/) const {
    return std::nullopt;
  }
  // How many samples it has put through the model so far (what PlannedSamples predicts).
  virtual uint64_t samples_run() const { return 0; }
};

// The method called `name` (SPEC §4), or InvalidArgument listing the known ones.
StatusOr<std::unique_ptr<Method>> MakeMethod(const std::string& name);
// The names MakeMethod knows, in the order the experiment tables list them.
std::vector<std::string> MethodNames();

// ---- machinery shared by the methods ---------------------------------------------------

// Samples of `batch` gathered into contiguous pixels and labels; `relabel` (optional)
// gives the label of each forget sample (default: its true label).
struct BatchData {
  std::vector<uint8_t> x, y;
  std::vector<float> weights;
  size_t n = 0;
};
void Gather(const MethodContext& ctx, const std::vector<SampleRef>& batch,
            const std::function<uint8_t(uint32_t)>& forget_label, BatchData* out);

// Shuffled batches of the given samples (seeded by ctx.rng).
std::vector<std::vector<SampleRef>> MakeBatches(MethodContext& ctx, std::vector<SampleRef> samples);
std::vector<SampleRef> AllOf(const train::Dataset& data, bool forget);

// One optimization step on weighted cross-entropy: loss = sign/n * sum w_i CE_i (w empty:
// all 1). Returns the loss; fails when it is not finite.
StatusOr<float> CrossEntropyStep(MethodContext& ctx, const BatchData& batch, float sign, float lr);

// Sum over trainable tensors of the L2 norm of d(mean CE)/d(tensor) on a batch, with
// `labels`; no update (Q-MUL's gradient magnitude).
double GradientNorm(MethodContext& ctx, const BatchData& batch);

// Accuracy of the model (eval mode) on the forget set, a fraction in [0, 1].
double ForgetAccuracy(MethodContext& ctx);

// A running mean of a loss term over an epoch.
struct LossMeter {
  double sum = 0;
  size_t count = 0;
  void Add(double value) { sum += value, count++; }
  double Mean() const { return count ? sum / double(count) : 0.0; }
  void Reset() { sum = 0, count = 0; }
};

// A method built from epochs of batches: subclasses plan each epoch as a list of
// phases (each a list of batches with a function run per batch), and finish each epoch
// by filling its report. Handles stepping, timing and the LR schedule.
class PhasedMethod : public Method {
 public:
  struct Phase {
    std::string name;
    std::vector<std::vector<SampleRef>> batches;
    std::function<Status(MethodContext&, const std::vector<SampleRef>&, float lr)> run;
  };

  Status Begin(MethodContext& ctx) override;
  Status Step(MethodContext& ctx, size_t max_batches, std::vector<EpochReport>* reports) override;
  bool done() const override { return epoch_ >= epochs_; }
  uint64_t samples_run() const override { return samples_run_; }

  // A phase taking one cross-entropy step per batch (sign -1: gradient ascent), forget
  // samples labelled by `forget_label` (null: their true labels), losses into `meter`.
  static Phase CrossEntropyPhase(std::string name, std::vector<std::vector<SampleRef>> batches,
                                 std::function<uint8_t(uint32_t)> forget_label, float sign,
                                 LossMeter* meter);

  // A phase that visits the forget set in order, batch by batch, updating nothing: a scan
  // (similar labels, saliency, FGSM relabelling) whose result the later phases use.
  static Phase ForgetScanPhase(std::string name, const MethodContext& ctx,
                               std::function<void(MethodContext&, const std::vector<SampleRef>&)> visit);

 protected:
  // The phases of epoch `epoch` (0-based). Called at the start of the epoch, so a phase
  // may depend on what the previous phases of the same epoch computed only through state
  // the functions share.
  virtual Status PlanEpoch(MethodContext& ctx, int epoch, std::vector<Phase>* phases) = 0;
  // Fills the report of the epoch that just ended (losses, diagnostics).
  virtual void FinishEpoch(MethodContext& ctx, EpochReport* report) = 0;

 private:
  int epochs_ = 0, epoch_ = 0;
  std::vector<Phase> phases_;
  size_t phase_ = 0, batch_ = 0;
  bool planned_ = false;
  double seconds_ = 0;
  uint64_t samples_run_ = 0;
};

}  // namespace qf::unlearn
