// MIA-efficacy (SPEC §4), as the SalUn codebase computes it: an RBF SVM learns to tell retain
// samples (members) from test samples (non-members) by a per-sample feature of the model's
// softmax output, then judges the forget samples. Not the model evaluation itself: callers
// run the model and pass softmax probabilities (or ready-made features) in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "unlearn/svm.h"

namespace qf::unlearn {

enum class MiaFeature {
  kConfidence,       // p_y: the probability of the true class (SalUn's "confidence"; default)
  kEntropy,          // -sum_j p_j log p_j (0 log 0 = 0)
  kModifiedEntropy,  // Song & Mittal (2021): -(1 - p_y) log p_y - sum_{j != y} p_j log(1 - p_j)
};

const char* MiaFeatureName(MiaFeature kind);
// Features per sample for `kind` (1 for all current kinds).
size_t MiaFeatureDims(MiaFeature kind);

// Features of n samples from their softmax rows: `probs` is n x classes row-major, `labels`
// n true classes. Returns n x MiaFeatureDims(kind) floats, row-major; computed in double.
// A log of 0 is taken as log(1e-30), as SalUn does, so the features stay finite.
// kModifiedEntropy follows the published formula; SalUn's m_entropy() differs from it (it
// uses log p_j where log(1 - p_j) is meant and overwrites label columns batch-wide), so its
// numbers are not reproduced. Errors: InvalidArgument for classes == 0, a label >= classes,
// a probability outside [0, 1] or not finite, or null pointers with n > 0.
StatusOr<std::vector<float>> ComputeMiaFeatures(const float* probs, const uint8_t* labels, size_t n,
                                                size_t classes, MiaFeature kind);

struct MiaInputs {
  // Row-major per-sample features, num_features floats each (e.g. from ComputeMiaFeatures).
  std::vector<float> retain;  // D_r: members
  std::vector<float> test;    // the test set: non-members
  std::vector<float> forget;  // D_f: the samples judged
  size_t num_features = 1;
  // When D_r has more samples than the test set, a random subset of test-set size is the
  // member side. SalUn takes the first len(test) retain samples instead; a seeded random
  // subset avoids depending on the retain set's order (e.g. sorted by class) and stays
  // reproducible.
  uint64_t seed = 0;
  SvmOptions svm;  // SalUn's SVC(C=3, gamma="auto"): c = 3, gamma = 1/num_features
};

struct MiaResult {
  double efficacy = 0;  // fraction of forget samples predicted non-member, in [0, 1]
  size_t members = 0, non_members = 0;  // the attack's training set
  // Accuracy of the attack on its own training set (how separable members and non-members
  // are at all: near 0.5 means the efficacy says little). From the solver's decision values
  // (RbfSvm::training_decisions), which saves n kernel sums.
  double train_accuracy = 0;
  size_t support_vectors = 0;
  bool converged = false;
};

// Trains the attack (member = +1, non-member = -1) and scores the forget samples.
// Errors: InvalidArgument when num_features is 0, a set is empty or not a multiple of
// num_features long, a feature is not finite, or the SVM options are invalid.
// Deterministic for given inputs (including seed). Cost: the SVM on 2 * min(|D_r|, |test|)
// samples; see TrainRbfSvm.
StatusOr<MiaResult> RunMiaAttack(const MiaInputs& inputs);
// RunMiaAttack(inputs).efficacy.
StatusOr<double> MiaEfficacy(const MiaInputs& inputs);

}  // namespace qf::unlearn
