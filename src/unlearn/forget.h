// A forget request carried out atomically: the method works on a deep copy of the model
// and the caller swaps the result in only when the session is done. An error, an abort
// (dropping the session) or a refused request leaves the original model untouched.
// The result's float shadow weights are snapped to its integer weights
// (nn::SnapShadowWeights): below the quantization grid they would still hold the forget
// set, and re-quantizing them brings it back (bench/UNLEARNING.md, the deployment check).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "nn/model.h"
#include "train/dataset.h"
#include "train/stream.h"
#include "unlearn/method.h"

namespace qf::unlearn {

struct ForgetRequest {
  train::Dataset forget;  // D_f, with the true labels
  train::Dataset retain;  // D_r (or a sample of it); may be empty for methods that do not use it
  std::string method = "qmul";
  UnlearnOptions options;
  // D_r streamed (sealed; retain is then empty): read through a window of
  // options.shuffle_window samples (0: train::kStreamWindow).
  std::shared_ptr<train::SampleStream> retain_stream = nullptr;
  // Samples of the forget set's kind the model never trained on, for options.until
  // 'unseen' (unlearn/until.h); empty otherwise.
  train::Dataset holdout = {};
};

class ForgetSession {
 public:
  // Validates the request against `model` and copies the model. `model` is only read.
  static StatusOr<std::unique_ptr<ForgetSession>> Start(nn::Model& model, ForgetRequest request);

  // Runs up to max_batches batches; appends the reports of epochs that ended. A failure
  // (e.g. divergence: a loss, or at the end a weight, that is not finite) spends the
  // session: it is never done() and has no result.
  Status Step(size_t max_batches, std::vector<EpochReport>* reports);
  bool done() const { return !failed_ && method_->done(); }
  const char* method() const { return method_->name(); }
  // Samples put through the model so far (see Method::PlannedSamples).
  uint64_t samples_run() const { return method_->samples_run(); }

  // The unlearned model, once done(); the session is spent afterwards.
  std::unique_ptr<nn::Model> TakeResult();

 private:
  ForgetSession() = default;

  ForgetRequest request_;
  std::unique_ptr<nn::Model> working_;
  std::unique_ptr<Method> method_;
  MethodContext ctx_;
  bool failed_ = false;
};

}  // namespace qf::unlearn
