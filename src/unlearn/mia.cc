// MIA-efficacy: per-sample attack features from softmax rows, the member/non-member SVM, and
// the forget-set score. Not the SVM solver (svm.cc) and not model evaluation.
#include "unlearn/mia.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "core/check.h"
#include "core/random.h"

namespace qf::unlearn {
namespace {

// SalUn replaces log(0) by log(1e-30).
double SafeLog(double x) { return std::log(x > 0 ? x : 1e-30); }

Status CheckSet(const std::vector<float>& set, size_t d, const char* name) {
  if (set.empty()) return InvalidArgument(std::string("mia: the ") + name + " set is empty");
  if (set.size() % d != 0) {
    return InvalidArgument(std::string("mia: the ") + name + " set holds " +
                           std::to_string(set.size()) + " values, not a multiple of num_features " +
                           std::to_string(d));
  }
  for (size_t i = 0; i < set.size(); i++) {
    if (!std::isfinite(set[i])) {
      return InvalidArgument(std::string("mia: feature ") + std::to_string(i % d) + " of " + name +
                             " sample " + std::to_string(i / d) + " is not finite");
    }
  }
  return OkStatus();
}

}  // namespace

const char* MiaFeatureName(MiaFeature kind) {
  switch (kind) {
    case MiaFeature::kConfidence:
      return "confidence";
    case MiaFeature::kEntropy:
      return "entropy";
    case MiaFeature::kModifiedEntropy:
      return "modified_entropy";
  }
  return "unknown";
}

size_t MiaFeatureDims(MiaFeature) { return 1; }

StatusOr<std::vector<float>> ComputeMiaFeatures(const float* probs, const Label* labels, size_t n,
                                                size_t classes, MiaFeature kind) {
  if (classes == 0) return InvalidArgument("mia: classes must be at least 1");
  if (kind != MiaFeature::kConfidence && kind != MiaFeature::kEntropy &&
      kind != MiaFeature::kModifiedEntropy) {
    return InvalidArgument("mia: unknown feature kind " + std::to_string(int(kind)));
  }
  if (n > 0 && (probs == nullptr || labels == nullptr)) {
    return InvalidArgument("mia: probs and labels must not be null");
  }
  std::vector<float> out(n);
  for (size_t i = 0; i < n; i++) {
    const float* p = probs + i * classes;
    const size_t y = labels[i];
    if (y >= classes) {
      return InvalidArgument("mia: label " + std::to_string(y) + " of sample " + std::to_string(i) +
                             " is not below classes = " + std::to_string(classes));
    }
    for (size_t j = 0; j < classes; j++) {
      if (!(p[j] >= 0.0f && p[j] <= 1.0f)) {  // also false for NaN
        return InvalidArgument("mia: probability " + std::to_string(p[j]) + " (sample " +
                               std::to_string(i) + ", class " + std::to_string(j) +
                               ") is not in [0, 1]");
      }
    }
    double v = 0;
    switch (kind) {
      case MiaFeature::kConfidence:
        v = p[y];
        break;
      case MiaFeature::kEntropy:
        for (size_t j = 0; j < classes; j++) {
          if (p[j] > 0) v -= double(p[j]) * std::log(double(p[j]));
        }
        break;
      case MiaFeature::kModifiedEntropy:
        for (size_t j = 0; j < classes; j++) {
          const double pj = p[j];
          v -= j == y ? (1.0 - pj) * SafeLog(pj) : pj * SafeLog(1.0 - pj);
        }
        break;
    }
    out[i] = float(v);
  }
  return out;
}

namespace {

// `count` of [0, n) chosen with `rng`, ascending (a partial Fisher-Yates shuffle).
std::vector<uint32_t> SubsetOf(size_t n, size_t count, Rng& rng) {
  std::vector<uint32_t> ids(n);
  for (size_t i = 0; i < n; i++) ids[i] = uint32_t(i);
  for (size_t i = 0; i < count; i++) std::swap(ids[i], ids[i + rng.Below(uint32_t(n - i))]);
  ids.resize(count);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

MiaSides BalancedMiaSides(size_t n_retain, size_t n_test, uint64_t seed) {
  const size_t side = std::min(n_retain, n_test);
  Rng rng(seed);
  return {SubsetOf(n_retain, side, rng), SubsetOf(n_test, side, rng)};
}

StatusOr<std::unique_ptr<MiaSession>> MiaSession::Start(MiaInputs in) {
  const size_t d = in.num_features;
  if (d == 0) return InvalidArgument("mia: num_features must be at least 1");
  if (in.min_per_side == 0) return InvalidArgument("mia: min_per_side must be at least 1");
  QF_RETURN_IF_ERROR(CheckSet(in.retain, d, "retain"));
  QF_RETURN_IF_ERROR(CheckSet(in.test, d, "test"));
  QF_RETURN_IF_ERROR(CheckSet(in.forget, d, "forget"));
  const size_t n_retain = in.retain.size() / d, n_test = in.test.size() / d;
  if (std::max(n_retain, n_test) > std::numeric_limits<uint32_t>::max()) {
    return InvalidArgument("mia: the retain or test set has too many samples (" +
                           std::to_string(std::max(n_retain, n_test)) + ")");
  }

  std::unique_ptr<MiaSession> session(new MiaSession());
  MiaResult& r = session->result_;
  r.efficacy.n = in.forget.size() / d;
  if (std::min(n_retain, n_test) < in.min_per_side) {
    r.note = "not enough samples: the attack needs " + std::to_string(in.min_per_side) +
             " members (retain) and " + std::to_string(in.min_per_side) +
             " non-members (test), got " + std::to_string(n_retain) + " and " +
             std::to_string(n_test);
    return session;  // done: nothing to train
  }

  const MiaSides sides = BalancedMiaSides(n_retain, n_test, in.seed);
  std::vector<float> x;
  x.reserve(2 * sides.members.size() * d);
  std::vector<int>& y = session->labels_;
  y.reserve(2 * sides.members.size());
  for (uint32_t m : sides.members) {
    x.insert(x.end(), in.retain.begin() + m * d, in.retain.begin() + (m + 1) * d);
    y.push_back(+1);
  }
  for (uint32_t t : sides.non_members) {
    x.insert(x.end(), in.test.begin() + t * d, in.test.begin() + (t + 1) * d);
    y.push_back(-1);
  }
  r.members = sides.members.size();
  r.non_members = sides.non_members.size();
  QF_ASSIGN_OR_RETURN(session->solver_, SvmSolver::Start(std::move(x), d, y, in.svm));
  session->forget_ = std::move(in.forget);
  session->num_features_ = d;
  return session;
}

void MiaSession::Step(size_t max_svm_steps) {
  if (done()) return;
  solver_->Step(max_svm_steps);
  svm_steps_ = solver_->iterations();
  if (!solver_->done()) return;

  const RbfSvm svm = solver_->Finish();
  solver_.reset();
  MiaResult& r = result_;
  r.available = true;
  r.support_vectors = svm.num_support_vectors();
  r.converged = svm.converged();
  size_t correct = 0;
  for (size_t i = 0; i < labels_.size(); i++) {
    correct += (svm.training_decisions()[i] > 0 ? 1 : -1) == labels_[i];
  }
  r.attack_accuracy = WilsonProportion(correct, labels_.size());
  r.informative =
      r.attack_accuracy.value >= kMiaMinAttackAccuracy && r.attack_accuracy.low > 0.5;
  if (!r.informative) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "uninformative: the attack tells members from non-members with accuracy "
                  "%.3f (95 %% interval %.3f-%.3f), too close to chance (0.5) to say much",
                  r.attack_accuracy.value, r.attack_accuracy.low, r.attack_accuracy.high);
    r.note = buf;
  }
  const size_t n_forget = r.efficacy.n, d = num_features_;
  size_t non_member = 0;
  for (size_t i = 0; i < n_forget; i++) non_member += svm.Predict(forget_.data() + i * d) < 0;
  r.efficacy = WilsonProportion(non_member, n_forget);
}

bool MiaSession::done() const { return !solver_; }

const MiaResult& MiaSession::result() const {
  QF_CHECK(done());
  return result_;
}

StatusOr<MiaResult> RunMiaAttack(const MiaInputs& inputs) {
  QF_ASSIGN_OR_RETURN(const std::unique_ptr<MiaSession> session, MiaSession::Start(inputs));
  session->Step(std::numeric_limits<size_t>::max());
  return session->result();
}

StatusOr<double> MiaEfficacy(const MiaInputs& inputs) {
  QF_ASSIGN_OR_RETURN(const MiaResult r, RunMiaAttack(inputs));
  if (!r.available) return FailedPrecondition("mia: " + r.note);
  return r.efficacy.value;
}

}  // namespace qf::unlearn
