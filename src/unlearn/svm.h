// A two-class C-SVC with an RBF kernel, trained by SMO with libsvm's second-order working-set
// selection (WSS 3 of Fan, Chen & Lin 2005): the classifier behind the MIA-efficacy metric.
// Not a general SVM library: no other kernels, no probabilities, no multi-class, no shrinking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/status.h"

namespace qf::unlearn {

struct SvmOptions {
  double c = 3.0;      // box constraint: 0 <= alpha_i <= c; must be > 0
  double gamma = 0.0;  // K(x, z) = exp(-gamma |x - z|^2); 0 means 1 / num_features
  double eps = 1e-3;   // stop when the maximal KKT violation m(a) - M(a) drops below eps
  // Stop after this many SMO steps even when not converged (the model is still returned,
  // with converged() false, as libsvm does). 0 means libsvm's max(10^7, 100 n).
  size_t max_iterations = 10'000'000;
  // Bytes for cached kernel rows (float, n per row). Two rows are always kept, whatever
  // this says; once every row fits, the cache is the full kernel matrix.
  size_t cache_bytes = size_t(64) << 20;
};

// A trained model: the support vectors (copied), their coefficients alpha_i y_i, and rho.
// Decision(x) = sum_i alpha_i y_i K(x_i, x) - rho; Predict(x) = +1 if Decision(x) > 0 else -1.
// Self-contained (it owns all its data) and immutable; copying is fine.
class RbfSvm {
 public:
  RbfSvm() = default;

  // `features` points at num_features() floats. Decision is computed in double.
  double Decision(const float* features) const;
  int Predict(const float* features) const { return Decision(features) > 0 ? +1 : -1; }

  size_t num_features() const { return num_features_; }
  double gamma() const { return gamma_; }
  double c() const { return c_; }
  double rho() const { return rho_; }

  // Support vectors: training samples with alpha > 0, in training order.
  size_t num_support_vectors() const { return coef_.size(); }
  // Support vectors whose label is `label` (+1 or -1).
  size_t num_support_vectors(int label) const;
  // Support vectors at the upper bound (alpha == c).
  size_t num_bounded_support_vectors() const;
  // For each support vector: its index in the training set, and alpha_i y_i.
  const std::vector<uint32_t>& support_indices() const { return sv_index_; }
  const std::vector<double>& coefficients() const { return coef_; }
  // Row-major num_support_vectors() x num_features().
  const std::vector<float>& support_vectors() const { return sv_; }

  // Decision value of each training sample, read off the solver's gradient
  // (f(x_i) = y_i (G_i + 1) - rho) instead of n kernel sums: agrees with Decision() to about
  // 1e-5 (the cached kernel rows are float), so a value within that of 0 may differ in sign.
  const std::vector<double>& training_decisions() const { return train_decision_; }

  // Solver statistics: SMO steps taken, whether the eps criterion was met, the final
  // dual objective 1/2 a'Qa - e'a (libsvm prints it as "obj").
  size_t iterations() const { return iterations_; }
  bool converged() const { return converged_; }
  double objective() const { return objective_; }

 private:
  friend class SvmSolver;
  size_t num_features_ = 0;
  double gamma_ = 0, c_ = 0, rho_ = 0, objective_ = 0;
  std::vector<float> sv_;
  std::vector<double> coef_;
  std::vector<uint32_t> sv_index_;
  std::vector<double> train_decision_;
  size_t iterations_ = 0;
  bool converged_ = false;
};

// SMO as resumable work, for callers that report progress or stop between steps (the
// metrics' membership attack). TrainRbfSvm is Start, Step until done(), Finish; stepping
// in any chunks gives the same model, bit for bit.
class SvmSolver {
 public:
  // Validates as TrainRbfSvm does and takes the features (the solver keeps them).
  static StatusOr<std::unique_ptr<SvmSolver>> Start(std::vector<float> features,
                                                    size_t num_features,
                                                    const std::vector<int>& labels,
                                                    const SvmOptions& options = {});
  ~SvmSolver();

  // Up to max_steps SMO steps; nothing once done() (converged or out of iterations).
  void Step(size_t max_steps);
  bool done() const;
  size_t iterations() const;
  // The trained model. Requires done().
  RbfSvm Finish() const;

 private:
  struct State;
  explicit SvmSolver(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Trains on `labels.size()` samples whose features are row-major in `features`
// (labels.size() x num_features floats). Labels must be +1 or -1, both present; features
// finite; c > 0; gamma >= 0 and finite; eps > 0. Errors: InvalidArgument naming the first bad
// value. Deterministic: the same inputs give the same model, bit for bit, in one build.
// Time: O(iterations * n * (1 + num_features)) when rows miss the cache; memory:
// n * num_features floats plus the kernel cache (bounded by options.cache_bytes).
StatusOr<RbfSvm> TrainRbfSvm(const std::vector<float>& features, size_t num_features,
                             const std::vector<int>& labels, const SvmOptions& options = {});
// The same with one vector per sample (all of the same, non-zero length).
StatusOr<RbfSvm> TrainRbfSvm(const std::vector<std::vector<float>>& features,
                             const std::vector<int>& labels, const SvmOptions& options = {});

}  // namespace qf::unlearn
