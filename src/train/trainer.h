// The training loop: seeded shuffling and augmentation, minibatches of weighted
// cross-entropy, optimizer steps, LR schedule per epoch. A Trainer advances a bounded
// number of batches per call so a caller (the JS worker) can report progress and
// cancel between calls; Fit() runs one to the end.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/random.h"
#include "core/status.h"
#include "nn/model.h"
#include "nn/state_snapshot.h"
#include "train/augment.h"
#include "train/dataset.h"
#include "train/optimizer.h"
#include "train/stream.h"

namespace qf::train {

// The defaults are bench/TRAINING.md's recipe (SGD with momentum, lr 0.05, cosine): at 5
// epochs on 20,000 Fashion-MNIST images, lr 0.01 constant trailed it by 2.0 points on lenet
// and 0.7 on mlp (4-bit; bench/TRAINING.md, "Defaults").
struct FitOptions {
  int epochs = 10;
  size_t batch_size = 64;
  float lr = 0.05f;
  OptimizerOptions optimizer;
  ScheduleOptions schedule{"cosine"};
  float clip_norm = 0.0f;  // 0: no clipping
  AugmentOptions augment;
  uint64_t seed = 1;
  // Epochs read the data in a window shuffle of this many samples (ShuffleOrder); 0: the
  // whole set in memory, kStreamWindow streamed.
  size_t shuffle_window = 0;
};

Status ValidateFitOptions(const FitOptions& options);

struct EpochStats {
  int epoch = 0;          // 1-based
  float loss = 0;         // mean training loss over the epoch
  float accuracy = 0;     // training accuracy over the epoch (of the batches as seen)
  float lr = 0;           // learning rate used in the epoch
  double seconds = 0;     // wall time of the epoch
};

class Trainer {
 public:
  // Validates the options and data against the model. Borrows `model` and `data`: both
  // must outlive the Trainer.
  static StatusOr<std::unique_ptr<Trainer>> Create(nn::Model* model, const Dataset* data,
                                                   const FitOptions& options);
  // The same on a streamed dataset (sealed, not opened: this opens it; borrowed too).
  // Step stops early, before a batch whose samples have not arrived (stream->demand()).
  static StatusOr<std::unique_ptr<Trainer>> Create(nn::Model* model, SampleStream* stream,
                                                   FitOptions options);

  bool done() const { return epoch_ >= options_.epochs; }
  // Runs up to `max_batches` batches (stopping early at an epoch's end). Returns the
  // epoch's stats when that call finished an epoch. If training diverges (a loss, or at
  // an epoch's end a weight, that is not finite) the model is restored to its state
  // before the first Step and this fails with FailedPrecondition; the Trainer is spent.
  StatusOr<std::optional<EpochStats>> Step(size_t max_batches);

 private:
  Trainer(nn::Model* model, const Dataset* data, SampleStream* stream, const FitOptions& options,
          std::unique_ptr<Optimizer> optimizer);
  static StatusOr<std::unique_ptr<Trainer>> Make(nn::Model* model, const Dataset* data,
                                                 SampleStream* stream, const FitOptions& options);
  void StartEpoch();
  // Restores the model as the first Step found it and returns the divergence error.
  Status Diverged(const std::string& what);

  nn::Model* model_;
  const Dataset* data_;   // one of these two
  SampleStream* stream_;
  FitOptions options_;
  std::unique_ptr<Optimizer> optimizer_;
  Rng rng_;
  int epoch_ = 0;
  size_t batch_ = 0;  // next batch within the epoch
  bool started_ = false;  // the epoch's order is drawn
  std::vector<uint32_t> order_;
  double loss_sum_ = 0, seconds_ = 0;
  size_t correct_ = 0, seen_ = 0;
  std::vector<uint8_t> batch_x_;  // the batch's samples, as bytes
  std::vector<Label> batch_y_;
  Tensor logits_, dlogits_;
  std::optional<nn::StateSnapshot> start_;  // the model as the first Step found it
  bool spent_ = false;                             // diverged: no more steps
};

// Runs a Trainer to the end, calling `progress` after every epoch (return false to
// stop early, with the model as trained so far).
StatusOr<std::vector<EpochStats>> Fit(nn::Model& model, const Dataset& data,
                                      const FitOptions& options,
                                      const std::function<bool(const EpochStats&)>& progress = {});

struct EvalResult {
  float accuracy = 0;  // fraction in [0, 1]
  float loss = 0;      // mean cross-entropy
};
// Accuracy and loss of the deployed (integer) model in eval mode.
EvalResult Evaluate(nn::Model& model, const Dataset& data, size_t batch_size = 256);

// Number of rows whose argmax equals the label.
size_t CountCorrect(const Tensor& logits, const Label* labels);

}  // namespace qf::train
