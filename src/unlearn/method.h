// The unlearning method interface and the machinery methods share. A method works on a
// working copy of the model (unlearn/forget.h owns the copy and commits it only when the
// method finishes), advances a bounded number of batches per Step (so a caller can report
// progress and cancel between steps), and reports every epoch: the loss terms, the
// forget-set accuracy and, for Q-MUL, its reweighting and similar labels.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/status.h"
#include "nn/model.h"
#include "train/dataset.h"
#include "train/optimizer.h"
#include "train/stream.h"
#include "unlearn/until.h"

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
  // Shuffled passes over D_r read it through a window of this many samples (train::
  // ShuffleOrder); 0: the whole set, a full shuffle. What bounds a streamed D_r's memory.
  size_t shuffle_window = 0;
  // qmul: "mixed" (forget and retain batches shuffled together) or "sequential".
  std::string qmul_mode = "mixed";
  // qmul: retain batches scanned for the gradient norm G_r (0: all).
  size_t qmul_retain_scan_batches = 0;
  // qmul: the mode of the gradient-norm scans. "train": training-mode forwards (BatchNorm
  // normalizes each scanned batch with its own statistics and moves its running ones);
  // "eval": the gradient of the model as deployed (Mode::kEvalGradient: running
  // statistics, untouched). Models without BatchNorm get the same G from both.
  std::string qmul_scan_mode = "train";
  // qmul: how a forget sample's similar label is chosen (step 1 of SPEC §4).
  //   "prediction": argmin over j != y of |p_j - p_y| on the sample (SPEC §4, the default);
  //   "confusion": per true class y, the class j != y the retain set confuses most with y
  //     (retain samples of y predicted j plus those of j predicted y; eval mode);
  //   "embedding": per sample, the nearest (Euclidean) retain class centroid j != y in the
  //     model's penultimate features (nn::Model::features);
  //   "matrix": per true class y, argmax over j != y of qmul_similarity_matrix[y][j].
  // Ties go to the lowest class. Where confusion or embedding have nothing to go on for a
  // sample (see qmul.cc), the sample falls back to "prediction".
  std::string qmul_similarity = "prediction";
  // qmul, with qmul_similarity "matrix": classes x classes similarities, row-major
  // (row y: how similar each class is to y; larger is more similar; the diagonal is
  // ignored). Finite; every row needs an entry > 0 off the diagonal.
  std::vector<double> qmul_similarity_matrix;
  // l1sparse: the L1 coefficient of the first epoch; it decays linearly to 0 at the last
  // epoch (with one epoch, that epoch uses it). In [0, 1].
  float l1_alpha = 5e-4f;
  // salun: the fraction of kWeight elements (by forget-gradient magnitude, one threshold
  // over all weight tensors) that may move. In (0, 1].
  float salun_ratio = 0.5f;
  // bs: the FGSM step, as a fraction of the input range [0, 1] (pixels / 255). In [0, 1].
  float bs_epsilon = 0.1f;
  // When to stop before `epochs` (until.h); checked after every epoch.
  StopRule until;
};

Status ValidateUnlearnOptions(const UnlearnOptions& options);
// What ValidateUnlearnOptions cannot check without the model: a qmul_similarity_matrix
// of classes x classes values (InvalidArgument naming the option otherwise).
Status ValidateUnlearnOptionsFor(const UnlearnOptions& options, size_t classes);

// Q-MUL's indicators' thresholds (documented in README.md, "Q-MUL's indicators"): a
// warning when w_f leaves [kQmulLowWeight, 1 - kQmulLowWeight], and when the retain
// accuracy of an epoch's weighted pass is more than kQmulRetainDrop (a fraction, i.e.
// 5 points) below the first epoch's.
inline constexpr double kQmulLowWeight = 0.05;
inline constexpr double kQmulRetainDrop = 0.05;

// Q-MUL's per-epoch diagnostics.
struct QmulEpoch {
  double g_forget = 0, g_retain = 0;  // mean summed per-tensor gradient norms
  double w_forget = 0, w_retain = 0;  // the adaptive weights
  std::string similarity;  // the similar-label rule (UnlearnOptions::qmul_similarity)
  // similar_labels[y * classes + j]: forget samples of true class y relabelled j.
  std::vector<uint32_t> similar_labels;
  // Forget samples whose similar label fell back to the prediction rule (confusion,
  // embedding: no evidence for their class).
  uint32_t similarity_fallbacks = 0;
  // G_f and G_r by layer (the tensors named "<layer>.<tensor>", in the model's order):
  // each side's per-layer values sum to g_forget and g_retain.
  struct LayerNorms {
    std::string layer, type;  // "1", "dense"
    double g_forget = 0, g_retain = 0;
  };
  std::vector<LayerNorms> layers;
  // The cosine between the sum of the forget scan's batch gradients and that of the retain
  // scan's, over all trainable tensors; NaN when either is zero.
  double gradient_cosine = 0;
  // After the epoch, the fraction of forget samples whose prediction (eval mode) is the
  // similar label they were trained towards in it.
  double moved_to_similar = 0;
  // The fraction of retain samples the weighted pass's training-mode forwards got right
  // (each batch before its step): the retain accuracy on the batches seen.
  double retain_accuracy = 0;
  // What looks wrong with the reweighting: {kind, message}; kinds "wForgetLow",
  // "wForgetHigh", "retainAccuracyDrop".
  std::vector<std::pair<std::string, std::string>> warnings;
};

struct EpochReport {
  int epoch = 0;  // 1-based
  float lr = 0;
  double seconds = 0;
  std::vector<std::pair<std::string, double>> losses;  // mean loss terms of the epoch
  double forget_accuracy = 0;  // after the epoch, eval mode, fraction in [0, 1]
  std::optional<QmulEpoch> qmul;
  std::optional<StopCheck> until;  // the stopping rule's reading, when options.until is set
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
  const train::Dataset* retain = nullptr;  // empty when D_r is streamed
  train::SampleStream* retain_stream = nullptr;  // D_r, when it is streamed
  const train::Dataset* holdout = nullptr;  // samples never trained on (until: unseen), or empty
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
  // forward and, except in scans and evaluations, a backward pass) with `options` on
  // `forget`, `retain` and `holdout` samples, over all options.epochs: its own passes
  // (PlannedPasses) and the stopping rule's evaluations (StopRuleSamples; a rule met
  // early runs fewer). The unit a fit's cost is counted in too (samples x epochs), so
  // `auto` can weigh rewinding against this method. The pass over D_f each epoch report
  // makes is not counted. nullopt where unknown.
  std::optional<uint64_t> PlannedSamples(const UnlearnOptions& options, size_t forget,
                                         size_t retain, size_t holdout) const;
  // How many samples it has put through the model so far (what PlannedSamples predicts).
  virtual uint64_t samples_run() const { return 0; }

 protected:
  // PlannedSamples of the method's own passes, without the stopping rule's; nullopt
  // where unknown.
  virtual std::optional<uint64_t> PlannedPasses(const UnlearnOptions& /*options*/,
                                                size_t /*forget*/, size_t /*retain*/) const {
    return std::nullopt;
  }
};

// The method called `name` (SPEC §4), or InvalidArgument listing the known ones.
StatusOr<std::unique_ptr<Method>> MakeMethod(const std::string& name);
// The names MakeMethod knows, in the order the experiment tables list them.
std::vector<std::string> MethodNames();

// ---- machinery shared by the methods ---------------------------------------------------

using Batch = std::vector<SampleRef>;

// Samples of a batch gathered into contiguous samples (their bytes) and labels.
struct BatchData {
  std::vector<uint8_t> x;
  std::vector<Label> y;
  std::vector<float> weights;
  size_t n = 0;
};
// Gathers `batch`; forget samples take their label from `forget_labels` (indexed by forget
// sample) when it is given, else their true label.
void Gather(const MethodContext& ctx, const Batch& batch, BatchData* out,
            const std::vector<Label>* forget_labels = nullptr);

// Shuffled batches of the given samples (seeded by ctx.rng). The D_r samples among them
// (in increasing order) are read in a window shuffle (options.shuffle_window) and dealt
// into random slots among the D_f ones; with the whole set in the window, one full shuffle.
std::vector<Batch> MakeBatches(MethodContext& ctx, std::vector<SampleRef> samples);
// Batches of all of `data` in order, unshuffled (for scans that update nothing).
std::vector<Batch> InOrderBatches(const MethodContext& ctx, const train::Dataset& data,
                                  bool forget);
std::vector<SampleRef> AllOf(const train::Dataset& data, bool forget);
// The number of samples in D_r, in memory or streamed, and all of them.
size_t RetainSize(const MethodContext& ctx);
std::vector<SampleRef> AllRetain(const MethodContext& ctx);
// All of D_f, then all of D_r.
std::vector<SampleRef> ForgetThenRetain(const MethodContext& ctx);

// One optimization step on weighted cross-entropy: loss = sign/n * sum w_i CE_i (w empty:
// all 1). Returns the loss; fails when it is not finite. `logits`, when given, receives
// the training-mode forward's logits (the model before the step).
StatusOr<float> CrossEntropyStep(MethodContext& ctx, const BatchData& batch, float sign, float lr,
                                 Tensor* logits = nullptr);

// Sum over trainable tensors of the L2 norm of d(mean CE)/d(tensor) on a batch, with
// `labels`; no update (Q-MUL's gradient magnitude). `mode` is the forward's: kTrain
// (BatchNorm batch statistics; its running statistics move) or kEvalGradient (the
// deployed model's gradient; nothing moves). When given, `per_tensor` receives each
// tensor's norm (ctx.model->params() order) and the gradient itself is added into `sum`
// (the tensors' values one after the other; sized on first use).
double GradientNorm(MethodContext& ctx, const BatchData& batch, nn::Mode mode,
                    std::vector<double>* per_tensor = nullptr, std::vector<float>* sum = nullptr);

// A running mean of a loss term over an epoch.
struct LossMeter {
  double sum = 0;
  size_t count = 0;
  void Add(double value) { sum += value, count++; }
  double Mean() const { return count ? sum / double(count) : 0.0; }
  void Reset() { sum = 0, count = 0; }
};

// Where an epoch stands between the steps that run it. A method writes each epoch as one
// function, top to bottom, in the order its paper gives: work done once (`Once`: set-up,
// a computation between two passes, the report) and passes over lists of batches
// (`Batches`). A step calls that function with a budget of batches; the next step calls
// it again, and the cursor skips what already ran:
//
//   if (at.Once()) { plan the epoch's batches; reset meters; }
//   for (const Batch& b : at.Batches(scan)) Scan(b);        // resumes where it stopped
//   if (at.Once()) ComputeWeights();
//   for (const Batch& b : at.Batches(train)) QF_RETURN_IF_ERROR(Train(b));
//   if (at.Once()) { fill the report; }
//
// Passes are told apart by the order in which the function reaches them, so every call
// of it must reach the same Once and Batches in the same order, and a loop over a pass
// must not break early. Once a pass stops for lack of budget, the rest of the call skips
// everything after it; code outside Once and Batches runs on every call.
class EpochCursor {
 public:
  class Range;

  // True the first time the function reaches this point in the epoch.
  bool Once();
  // The batches of `batches` this step runs: those not run yet, while the budget lasts.
  Range Batches(const std::vector<Batch>& batches);

  // The next call of the epoch function, which may run `budget` batches.
  void Resume(size_t budget);
  // Whether the last call reached the epoch's end (every pass and Once ran).
  bool finished() const { return !suspended_ && next_ == calls_; }
  // Starts the next epoch.
  void NextEpoch() { next_ = batch_ = 0, begun_ = false; }
  // Reads D_r's samples from `stream`: a pass with D_r samples begins a pass over it, and
  // a batch whose samples have not arrived suspends the call as a spent budget does.
  void ReadFrom(train::SampleStream* stream) { stream_ = stream; }
  // Samples in the batches run so far, over all epochs.
  uint64_t samples() const { return samples_; }
  void Reset() { *this = EpochCursor(); }

 private:
  bool Running(size_t pass, const std::vector<Batch>& batches);
  void Advance(const std::vector<Batch>& batches);
  void PassOver() { next_++, batch_ = 0, begun_ = false; }
  bool Arrived(const Batch& batch);

  size_t next_ = 0;         // the pass (Once or Batches, in order reached) to run next
  size_t batch_ = 0;        // batches of that pass already run
  size_t calls_ = 0;        // passes the function reached in this call
  size_t budget_ = 0;       // batches this call may still run
  bool suspended_ = false;  // a pass stopped for lack of budget or data in this call
  bool begun_ = false;      // the pass next_ began a pass over the stream
  uint64_t samples_ = 0;
  train::SampleStream* stream_ = nullptr;
  std::vector<uint32_t> ids_;  // a batch's D_r samples
};

class EpochCursor::Range {
 public:
  class Iterator {
   public:
    const Batch& operator*() const { return (*range_->batches_)[range_->cursor_->batch_]; }
    Iterator& operator++() {
      range_->cursor_->Advance(*range_->batches_);
      return *this;
    }
    bool operator!=(const Iterator&) const {
      return range_ && range_->cursor_ &&
             range_->cursor_->Running(range_->pass_, *range_->batches_);
    }

   private:
    friend class Range;
    explicit Iterator(const Range* range) : range_(range) {}
    const Range* range_;
  };
  Iterator begin() const { return Iterator(this); }
  Iterator end() const { return Iterator(nullptr); }

 private:
  friend class EpochCursor;
  Range(EpochCursor* cursor, size_t pass, const std::vector<Batch>* batches)
      : cursor_(cursor), pass_(pass), batches_(batches) {}
  EpochCursor* cursor_;  // null: nothing to run in this call
  size_t pass_;
  const std::vector<Batch>* batches_;
};

// A pass over `batches` through `at`, one cross-entropy step per batch at `lr` (forget
// samples labelled by `forget_labels`, null: their true labels; sign -1: gradient ascent),
// each batch's loss into `meter`: the training pass most methods share.
Status CrossEntropyPass(MethodContext& ctx, EpochCursor& at, const std::vector<Batch>& batches,
                        const std::vector<Label>* forget_labels, float sign, float lr,
                        BatchData* data, LossMeter* meter);

// A method built from epochs written with an EpochCursor. Handles stepping, timing, the
// LR schedule, the epoch's forget accuracy, and the stopping rule (options.until), which
// may end it before its last epoch.
class EpochMethod : public Method {
 public:
  Status Begin(MethodContext& ctx) override;
  Status Step(MethodContext& ctx, size_t max_batches, std::vector<EpochReport>* reports) override;
  bool done() const override { return epoch_ >= epochs_ || stopped_; }
  uint64_t samples_run() const override { return cursor_.samples() + rule_samples_; }

 protected:
  // Epoch `epoch` (0-based) of the method at learning rate `lr`, through `at`; fills
  // `report` (its losses and diagnostics) at its end.
  virtual Status RunEpoch(MethodContext& ctx, int epoch, float lr, EpochCursor& at,
                          EpochReport* report) = 0;
  // After each epoch, from `forget_probs`, the softmax rows (eval mode, PredictProbs) of
  // the model it leaves on D_f: report->forget_accuracy. They are the epoch's one pass over
  // D_f, which the stopping rule reads too; a method may read more from them.
  virtual void FinishReport(MethodContext& ctx, const Tensor& forget_probs, EpochReport* report);

 private:
  int epochs_ = 0, epoch_ = 0;
  bool stopped_ = false;  // the stopping rule was met
  uint64_t rule_samples_ = 0;  // put through the model by the stopping rule
  EpochCursor cursor_;
  EpochReport report_;  // the current epoch's, until it ends
  double seconds_ = 0;
};

}  // namespace qf::unlearn
