// SMO for the RBF C-SVC: dual problem, kernel-row LRU cache, second-order working-set
// selection, libsvm's bias rule. Not shared with anything else; see svm.h for the contract.
//
// The dual: min_a f(a) = 1/2 a'Qa - e'a, 0 <= a_i <= C, y'a = 0, Q_ij = y_i y_j K(x_i, x_j),
// with gradient G = Qa - e (starting at a = 0, G = -e). Following Fan, Chen & Lin (2005):
//   I_up  = { t : a_t < C, y_t = +1  or  a_t > 0, y_t = -1 }   (where y_t a_t may grow)
//   I_low = { t : a_t < C, y_t = -1  or  a_t > 0, y_t = +1 }   (where y_t a_t may shrink)
//   m(a) = max_{I_up} -y_t G_t,  M(a) = min_{I_low} -y_t G_t;  a is eps-optimal when
//   m(a) - M(a) < eps.
// WSS 3: i = the argmax of m; j = argmin over t in I_low with b_it = m + y_t G_t > 0 of
// -b_it^2 / a_it, a_it = K_ii + K_tt - 2 K_it (replaced by tau when not positive).
// The step moves along u (u_i = y_i, u_j = -y_j, which keeps y'a fixed): f falls by
// d b - d^2 a / 2, so d = b / a, clipped to the box.
#include "unlearn/svm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "core/check.h"

namespace qf::unlearn {
namespace {

constexpr double kTau = 1e-12;  // libsvm's stand-in for a non-positive curvature a_it

double SquaredDistance(const float* a, const float* b, size_t d) {
  double s = 0;
  for (size_t k = 0; k < d; k++) {
    const double t = double(a[k]) - double(b[k]);
    s += t * t;
  }
  return s;
}

// Rows K(x_i, .) of the kernel matrix, as float (as libsvm stores them: half the memory
// of double, and the solver's tolerance is far above float rounding). A fixed number of
// row slots, least recently used evicted first. Row(i) stays valid across the next Row(j)
// call because i is then the most recently used slot and there are at least two.
class KernelCache {
 public:
  KernelCache(const float* x, size_t n, size_t d, double gamma, size_t cache_bytes)
      : x_(x), n_(n), d_(d), gamma_(gamma), slot_of_(n, kNone) {
    const size_t row_bytes = n * sizeof(float);
    max_slots_ = std::min(n, std::max<size_t>(2, cache_bytes / row_bytes));
    rows_.reserve(max_slots_);
    owner_.reserve(max_slots_);
    prev_.reserve(max_slots_);
    next_.reserve(max_slots_);
  }

  const float* Row(size_t i) {
    size_t s = slot_of_[i];
    if (s != kNone) {
      MoveToFront(s);
      return rows_[s].data();
    }
    if (rows_.size() < max_slots_) {
      s = rows_.size();
      rows_.emplace_back(n_);
      owner_.push_back(i);
      prev_.push_back(kNone);
      next_.push_back(kNone);
      PushFront(s);
    } else {
      s = tail_;  // evict the least recently used row
      slot_of_[owner_[s]] = kNone;
      owner_[s] = i;
      MoveToFront(s);
    }
    slot_of_[i] = s;
    float* row = rows_[s].data();
    const float* xi = x_ + i * d_;
    for (size_t t = 0; t < n_; t++) {
      row[t] = float(std::exp(-gamma_ * SquaredDistance(xi, x_ + t * d_, d_)));
    }
    return row;
  }

 private:
  static constexpr size_t kNone = ~size_t(0);

  void Unlink(size_t s) {
    if (prev_[s] != kNone) next_[prev_[s]] = next_[s];
    if (next_[s] != kNone) prev_[next_[s]] = prev_[s];
    if (head_ == s) head_ = next_[s];
    if (tail_ == s) tail_ = prev_[s];
    prev_[s] = next_[s] = kNone;
  }
  void PushFront(size_t s) {
    next_[s] = head_;
    prev_[s] = kNone;
    if (head_ != kNone) prev_[head_] = s;
    head_ = s;
    if (tail_ == kNone) tail_ = s;
  }
  void MoveToFront(size_t s) {
    if (head_ == s) return;
    Unlink(s);
    PushFront(s);
  }

  const float* x_;
  size_t n_, d_;
  double gamma_;
  size_t max_slots_;
  std::vector<size_t> slot_of_;  // row index -> slot, or kNone
  std::vector<std::vector<float>> rows_;
  std::vector<size_t> owner_, prev_, next_;  // per slot: row index, LRU list links
  size_t head_ = kNone, tail_ = kNone;       // most / least recently used slot
};

Status Validate(const std::vector<float>& features, size_t d, const std::vector<int>& labels,
                const SvmOptions& o) {
  const size_t n = labels.size();
  if (n == 0) return InvalidArgument("svm: no training samples");
  if (d == 0) return InvalidArgument("svm: num_features must be at least 1");
  if (n > size_t(std::numeric_limits<uint32_t>::max()) / 2) {
    return InvalidArgument("svm: too many training samples (" + std::to_string(n) + ")");
  }
  if (d > std::numeric_limits<size_t>::max() / n || features.size() != n * d) {
    return InvalidArgument("svm: features hold " + std::to_string(features.size()) +
                           " values, expected labels.size() * num_features = " + std::to_string(n) +
                           " * " + std::to_string(d));
  }
  size_t positives = 0;
  for (size_t i = 0; i < n; i++) {
    if (labels[i] != 1 && labels[i] != -1) {
      return InvalidArgument("svm: label " + std::to_string(labels[i]) + " of sample " +
                             std::to_string(i) + " is not +1 or -1");
    }
    positives += labels[i] == 1;
  }
  if (positives == 0 || positives == n) {
    return InvalidArgument(std::string("svm: training needs both classes; all ") +
                           std::to_string(n) + " labels are " + (positives ? "+1" : "-1"));
  }
  for (size_t i = 0; i < n * d; i++) {
    if (!std::isfinite(features[i])) {
      return InvalidArgument("svm: feature " + std::to_string(i % d) + " of sample " +
                             std::to_string(i / d) + " is not finite");
    }
  }
  if (!(o.c > 0) || !std::isfinite(o.c)) {
    return InvalidArgument("svm: C must be positive and finite, got " + std::to_string(o.c));
  }
  if (!(o.gamma >= 0) || !std::isfinite(o.gamma)) {
    return InvalidArgument("svm: gamma must be >= 0 and finite (0: 1/num_features), got " +
                           std::to_string(o.gamma));
  }
  if (!(o.eps > 0) || !std::isfinite(o.eps)) {
    return InvalidArgument("svm: eps must be positive and finite, got " + std::to_string(o.eps));
  }
  return OkStatus();
}

}  // namespace

// The solver's state between steps: the training set (owned: the kernel cache points
// into it), the dual variables and their gradient.
struct SvmSolver::State {
  std::vector<float> x;
  size_t n = 0, d = 0;
  double c = 0, gamma = 0, eps = 0;
  size_t max_iter = 0;
  std::vector<double> y, alpha, grad;
  std::unique_ptr<KernelCache> cache;
  size_t iter = 0;
  bool done = false, converged = false;

  bool InUp(size_t t) const { return y[t] > 0 ? alpha[t] < c : alpha[t] > 0; }
  bool InLow(size_t t) const { return y[t] > 0 ? alpha[t] > 0 : alpha[t] < c; }

  // One SMO step; sets done (and converged) instead when there is nothing left to do.
  void Advance() {
    // i: the most violating index from above.
    double g_max = -std::numeric_limits<double>::infinity();
    size_t i = n;
    for (size_t t = 0; t < n; t++) {
      if (InUp(t) && -y[t] * grad[t] > g_max) {
        g_max = -y[t] * grad[t];
        i = t;
      }
    }
    if (i == n) {  // I_up empty: cannot happen with both classes present, but harmless
      done = converged = true;
      return;
    }
    const float* ki = cache->Row(i);
    // j: the largest second-order decrease among indices that violate with i; on the way,
    // -M(a) = max_{I_low} y_t G_t for the stopping test.
    double neg_m_low = -std::numeric_limits<double>::infinity();
    double best = std::numeric_limits<double>::infinity();
    size_t j = n;
    for (size_t t = 0; t < n; t++) {
      if (!InLow(t)) continue;
      const double v = y[t] * grad[t];
      neg_m_low = std::max(neg_m_low, v);
      const double b = g_max + v;
      if (b > 0) {
        double a = 2.0 - 2.0 * double(ki[t]);  // K_ii = K_tt = 1 for the RBF kernel
        if (a <= 0) a = kTau;
        const double obj = -(b * b) / a;
        if (obj < best) {
          best = obj;
          j = t;
        }
      }
    }
    if (g_max + neg_m_low < eps || j == n) {
      done = converged = true;
      return;
    }
    if (iter >= max_iter) {
      done = true;
      return;
    }
    const float* kj = cache->Row(j);

    double a = 2.0 - 2.0 * double(ki[j]);
    if (a <= 0) a = kTau;
    const double b = g_max + y[j] * grad[j];
    // Room along u before a box bound: y_i a_i grows, y_j a_j shrinks.
    const double room_i = y[i] > 0 ? c - alpha[i] : alpha[i];
    const double room_j = y[j] > 0 ? alpha[j] : c - alpha[j];
    const double step = std::min(b / a, std::min(room_i, room_j));
    const double old_i = alpha[i], old_j = alpha[j];
    // A clipped variable lands exactly on its bound, not a rounding error away.
    alpha[i] = step == room_i ? (y[i] > 0 ? c : 0.0) : old_i + y[i] * step;
    alpha[j] = step == room_j ? (y[j] > 0 ? 0.0 : c) : old_j - y[j] * step;
    const double di = y[i] * (alpha[i] - old_i), dj = y[j] * (alpha[j] - old_j);
    for (size_t t = 0; t < n; t++) {
      grad[t] += y[t] * (di * double(ki[t]) + dj * double(kj[t]));
    }
    iter++;
  }
};

StatusOr<std::unique_ptr<SvmSolver>> SvmSolver::Start(std::vector<float> features,
                                                      size_t num_features,
                                                      const std::vector<int>& labels,
                                                      const SvmOptions& o) {
  QF_RETURN_IF_ERROR(Validate(features, num_features, labels, o));
  auto s = std::make_unique<State>();
  const size_t n = labels.size(), d = num_features;
  s->x = std::move(features);
  s->n = n;
  s->d = d;
  s->c = o.c;
  s->gamma = o.gamma > 0 ? o.gamma : 1.0 / double(d);
  s->eps = o.eps;
  s->max_iter = o.max_iterations > 0 ? o.max_iterations : std::max<size_t>(10'000'000, 100 * n);
  s->y.assign(labels.begin(), labels.end());
  s->alpha.assign(n, 0.0);
  s->grad.assign(n, -1.0);
  s->cache = std::make_unique<KernelCache>(s->x.data(), n, d, s->gamma, o.cache_bytes);
  return std::unique_ptr<SvmSolver>(new SvmSolver(std::move(s)));
}

SvmSolver::SvmSolver(std::unique_ptr<State> state) : state_(std::move(state)) {}
SvmSolver::~SvmSolver() = default;

void SvmSolver::Step(size_t max_steps) {
  for (size_t k = 0; k < max_steps && !state_->done; k++) state_->Advance();
}

bool SvmSolver::done() const { return state_->done; }
size_t SvmSolver::iterations() const { return state_->iter; }

RbfSvm SvmSolver::Finish() const {
  QF_CHECK(state_->done);
  const State& s = *state_;
  const size_t n = s.n, d = s.d;
  const std::vector<double>&y = s.y, &alpha = s.alpha, &grad = s.grad;
  const double c = s.c;
  // rho: for a free alpha_i (0 < alpha_i < C), KKT says y_i f(x_i) = 1, i.e.
  // rho = y_i G_i; average those. Without free ones, the bounded ones only bracket rho:
  // alpha = 0 needs y f >= 1 and alpha = C needs y f <= 1, which gives
  // rho <= y_i G_i for (y = +1, alpha = 0) and (y = -1, alpha = C), rho >= y_i G_i for the
  // other two; take the middle of the bracket.
  double upper = std::numeric_limits<double>::infinity();
  double lower = -upper;
  double free_sum = 0;
  size_t free_count = 0;
  for (size_t t = 0; t < n; t++) {
    const double yg = y[t] * grad[t];
    const bool at_c = alpha[t] >= c, at_zero = alpha[t] <= 0;
    if (!at_c && !at_zero) {
      free_sum += yg;
      free_count++;
    } else if ((at_zero && y[t] > 0) || (at_c && y[t] < 0)) {
      upper = std::min(upper, yg);
    } else {
      lower = std::max(lower, yg);
    }
  }
  RbfSvm m;
  m.num_features_ = d;
  m.gamma_ = s.gamma;
  m.c_ = c;
  m.rho_ = free_count > 0 ? free_sum / double(free_count) : (upper + lower) / 2;
  m.iterations_ = s.iter;
  m.converged_ = s.converged;
  // 1/2 a'Qa - e'a = 1/2 sum a_t (G_t - 1), since Qa = G + e.
  double objective = 0;
  for (size_t t = 0; t < n; t++) objective += alpha[t] * (grad[t] - 1.0);
  m.objective_ = objective / 2;
  m.train_decision_.resize(n);
  for (size_t t = 0; t < n; t++) m.train_decision_[t] = y[t] * (grad[t] + 1.0) - m.rho_;
  for (size_t t = 0; t < n; t++) {
    if (alpha[t] > 0) {
      m.sv_index_.push_back(uint32_t(t));
      m.coef_.push_back(y[t] * alpha[t]);
      m.sv_.insert(m.sv_.end(), s.x.data() + t * d, s.x.data() + (t + 1) * d);
    }
  }
  return m;
}

double RbfSvm::Decision(const float* features) const {
  double sum = 0;
  for (size_t k = 0; k < coef_.size(); k++) {
    sum += coef_[k] * std::exp(-gamma_ * SquaredDistance(sv_.data() + k * num_features_, features,
                                                         num_features_));
  }
  return sum - rho_;
}

size_t RbfSvm::num_support_vectors(int label) const {
  size_t count = 0;
  for (double c : coef_) count += label > 0 ? c > 0 : c < 0;
  return count;
}

size_t RbfSvm::num_bounded_support_vectors() const {
  size_t count = 0;
  for (double c : coef_) count += std::fabs(c) >= c_;
  return count;
}

StatusOr<RbfSvm> TrainRbfSvm(const std::vector<float>& features, size_t num_features,
                             const std::vector<int>& labels, const SvmOptions& options) {
  QF_ASSIGN_OR_RETURN(const std::unique_ptr<SvmSolver> solver,
                      SvmSolver::Start(features, num_features, labels, options));
  solver->Step(std::numeric_limits<size_t>::max());
  return solver->Finish();
}

StatusOr<RbfSvm> TrainRbfSvm(const std::vector<std::vector<float>>& features,
                             const std::vector<int>& labels, const SvmOptions& options) {
  if (features.empty()) return InvalidArgument("svm: no training samples");
  if (features.size() != labels.size()) {
    return InvalidArgument("svm: " + std::to_string(features.size()) + " feature rows but " +
                           std::to_string(labels.size()) + " labels");
  }
  const size_t d = features[0].size();
  std::vector<float> flat;
  flat.reserve(features.size() * d);
  for (size_t i = 0; i < features.size(); i++) {
    if (features[i].size() != d) {
      return InvalidArgument("svm: sample " + std::to_string(i) + " has " +
                             std::to_string(features[i].size()) + " features, sample 0 has " +
                             std::to_string(d));
    }
    flat.insert(flat.end(), features[i].begin(), features[i].end());
  }
  return TrainRbfSvm(flat, d, labels, options);
}

}  // namespace qf::unlearn
