// MIA-efficacy (SPEC §4), as the SalUn codebase computes it but on balanced sides: an RBF
// SVM learns to tell retain samples (members) from test samples (non-members) by a
// per-sample feature of the model's softmax output, then judges the forget samples. Not the model evaluation itself: callers
// run the model and pass softmax probabilities (or ready-made features) in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "unlearn/proportion.h"
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
StatusOr<std::vector<float>> ComputeMiaFeatures(const float* probs, const Label* labels, size_t n,
                                                size_t classes, MiaFeature kind);

// The attack needs this many samples on each side (members and non-members) before its
// efficacy is a number worth reporting: with fewer, a 1-D RBF SVM mostly learns the noise
// of its few points (at 100 per side the 95 % interval of its accuracy is ±0.07 wide).
inline constexpr size_t kMiaMinSamplesPerSide = 100;
// The attack separates members from non-members only if its accuracy on its own balanced
// training set reaches this and the lower end of that accuracy's 95 % interval is above
// chance; below, the efficacy is flagged uninformative (a model that generalizes well
// gives the attack nothing to read, and then every forget set "looks unseen").
inline constexpr double kMiaMinAttackAccuracy = 0.55;

struct MiaInputs {
  // Row-major per-sample features, num_features floats each (e.g. from ComputeMiaFeatures).
  std::vector<float> retain;  // D_r: members
  std::vector<float> test;    // the test set: non-members
  std::vector<float> forget;  // D_f: the samples judged
  size_t num_features = 1;
  // The attack trains on equal numbers of members and non-members: a seeded random subset
  // of the larger side, of the smaller side's size (kept in set order). Unbalanced sides
  // teach the SVM the prior instead of the feature: with 500 members against 1,000
  // non-members it learns "everything is a non-member" and the efficacy reads 100 %.
  // (SalUn takes the first len(test) retain samples and only ever trims that side.)
  uint64_t seed = 0;
  size_t min_per_side = kMiaMinSamplesPerSide;
  SvmOptions svm;  // SalUn's SVC(C=3, gamma="auto"): c = 3, gamma = 1/num_features
};

struct MiaResult {
  // False when a side has fewer than min_per_side samples: no attack was trained, the
  // efficacy is not a number to report, and `note` says why.
  bool available = false;
  // Forget samples the attack calls non-member, over |D_f|.
  Proportion efficacy;
  // The attack's accuracy on its own balanced training set (how separable members and
  // non-members are at all). From the solver's decision values, which saves n kernel sums.
  Proportion attack_accuracy;
  // attack_accuracy >= kMiaMinAttackAccuracy and its interval above 0.5. When false the
  // efficacy says little about forgetting; `note` says so.
  bool informative = false;
  std::string note;  // empty when available and informative
  size_t members = 0, non_members = 0;  // the attack's training set, equal when available
  size_t support_vectors = 0;
  bool converged = false;
};

// The indices of the members (into D_r) and non-members (into the test set) the attack
// trains on: min(n_retain, n_test) of each, the larger side subsampled with `seed`, each
// list ascending.
struct MiaSides {
  std::vector<uint32_t> members, non_members;
};
MiaSides BalancedMiaSides(size_t n_retain, size_t n_test, uint64_t seed);

// Trains the attack (member = +1, non-member = -1) on balanced sides and scores the
// forget samples; a result with available == false when a side is below min_per_side.
// Errors: InvalidArgument when num_features is 0, a set is empty or not a multiple of
// num_features long, a feature is not finite, or the SVM options are invalid.
// Deterministic for given inputs (including seed). Cost: the SVM on 2 * min(|D_r|, |test|)
// samples; see TrainRbfSvm.
StatusOr<MiaResult> RunMiaAttack(const MiaInputs& inputs);

// RunMiaAttack as resumable work: the SVM's SMO steps are most of the metrics' time, so
// callers that report progress or stop between steps run the attack through this.
class MiaSession {
 public:
  // Checks the inputs as RunMiaAttack does and sets up the SVM; a session that is done at
  // once (result().available false) when a side is below min_per_side.
  static StatusOr<std::unique_ptr<MiaSession>> Start(MiaInputs inputs);
  // Up to max_svm_steps SMO steps; scores the forget set when the SVM is done.
  void Step(size_t max_svm_steps);
  bool done() const;
  size_t svm_steps() const { return svm_steps_; }  // taken so far
  const MiaResult& result() const;  // requires done()

 private:
  MiaSession() = default;
  std::unique_ptr<SvmSolver> solver_;  // null once done
  std::vector<int> labels_;            // the attack's training labels, members first
  std::vector<float> forget_;
  size_t num_features_ = 1;
  size_t svm_steps_ = 0;
  MiaResult result_;
};

// RunMiaAttack(inputs).efficacy.value; FailedPrecondition when the attack is unavailable.
StatusOr<double> MiaEfficacy(const MiaInputs& inputs);

}  // namespace qf::unlearn
