// SGD and Adam (their element-wise updates on the thread pool), schedules, clipping.
#include "train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "core/thread_pool.h"

namespace qf::train {
namespace {

constexpr float kMinStep = 1e-8f;  // LSQ step sizes never reach zero or below

float Decay(const nn::Param& p, float weight_decay) {
  return p.kind == nn::Param::Kind::kWeight ? weight_decay : 0.0f;
}

void KeepStepPositive(nn::Param* p) {
  if (p->kind != nn::Param::Kind::kStep) return;
  for (float& s : p->value.values()) s = std::max(s, kMinStep);
}

}  // namespace

void Optimizer::SetMask(const nn::Param* param, std::vector<uint8_t> mask) {
  QF_CHECK(mask.empty() || mask.size() == param->value.size());
  if (mask.empty()) {
    masks_.erase(param);
  } else {
    masks_[param] = std::move(mask);
  }
}

const std::vector<uint8_t>* Optimizer::MaskOf(const nn::Param* param) const {
  const auto it = masks_.find(param);
  return it == masks_.end() ? nullptr : &it->second;
}

namespace {

class Sgd : public Optimizer {
 public:
  explicit Sgd(const OptimizerOptions& o) : o_(o) {}

  void Step(const std::vector<nn::Param*>& params, float lr) override {
    for (nn::Param* p : params) {
      std::vector<float>& v = velocity_[p];
      if (v.size() != p->value.size()) v.assign(p->value.size(), 0.0f);
      const float wd = Decay(*p, o_.weight_decay);
      const std::vector<uint8_t>* mask = MaskOf(p);
      ParallelForPieces(p->value.size(), kParallelElements, [&](size_t lo, size_t hi) {
        for (size_t i = lo; i < hi; i++) {
          if (mask && !(*mask)[i]) continue;
          const float g = p->grad[i] + wd * p->value[i];
          v[i] = o_.momentum * v[i] + g;
          const float update = o_.nesterov ? g + o_.momentum * v[i] : v[i];
          p->value[i] -= lr * update;
        }
      });
      KeepStepPositive(p);
    }
  }

 private:
  OptimizerOptions o_;
  std::unordered_map<nn::Param*, std::vector<float>> velocity_;
};

class Adam : public Optimizer {
 public:
  explicit Adam(const OptimizerOptions& o) : o_(o) {}

  void Step(const std::vector<nn::Param*>& params, float lr) override {
    t_++;
    const float c1 = 1.0f - std::pow(o_.beta1, float(t_));
    const float c2 = 1.0f - std::pow(o_.beta2, float(t_));
    for (nn::Param* p : params) {
      auto& moments = moments_[p];  // not a structured binding: the lambda below uses them
      std::vector<float>& m = moments.first;
      std::vector<float>& v = moments.second;
      if (m.size() != p->value.size()) {
        m.assign(p->value.size(), 0.0f);
        v.assign(p->value.size(), 0.0f);
      }
      const float wd = Decay(*p, o_.weight_decay);
      const std::vector<uint8_t>* mask = MaskOf(p);
      ParallelForPieces(p->value.size(), kParallelElements, [&](size_t lo, size_t hi) {
        for (size_t i = lo; i < hi; i++) {
          if (mask && !(*mask)[i]) continue;
          const float g = p->grad[i] + wd * p->value[i];
          m[i] = o_.beta1 * m[i] + (1.0f - o_.beta1) * g;
          v[i] = o_.beta2 * v[i] + (1.0f - o_.beta2) * g * g;
          p->value[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + o_.epsilon);
        }
      });
      KeepStepPositive(p);
    }
  }

 private:
  OptimizerOptions o_;
  int t_ = 0;
  std::unordered_map<nn::Param*, std::pair<std::vector<float>, std::vector<float>>> moments_;
};

}  // namespace

StatusOr<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerOptions& o) {
  if (!(o.weight_decay >= 0.0f && std::isfinite(o.weight_decay))) {
    return InvalidArgument("weightDecay must be a finite number >= 0");
  }
  if (o.name == "sgd") {
    if (!(o.momentum >= 0.0f && o.momentum < 1.0f)) {
      return InvalidArgument("momentum must be in [0, 1), got " + std::to_string(o.momentum));
    }
    return std::unique_ptr<Optimizer>(new Sgd(o));
  }
  if (o.name == "adam") {
    if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.epsilon > 0)) {
      return InvalidArgument("adam needs beta1, beta2 in [0, 1) and epsilon > 0");
    }
    return std::unique_ptr<Optimizer>(new Adam(o));
  }
  return InvalidArgument("optimizer must be 'sgd' or 'adam', got '" + o.name + "'");
}

Status ValidateSchedule(const ScheduleOptions& o) {
  if (o.name == "constant" || o.name == "cosine") return OkStatus();
  if (o.name == "step") {
    if (o.step_epochs < 1) return InvalidArgument("schedule step_epochs must be >= 1");
    if (!(o.gamma > 0.0f && o.gamma <= 1.0f))
      return InvalidArgument("schedule gamma must be in (0, 1]");
    return OkStatus();
  }
  return InvalidArgument("schedule must be 'constant', 'step' or 'cosine', got '" + o.name + "'");
}

float ScheduledLr(const ScheduleOptions& o, float base_lr, int epoch, int epochs) {
  if (o.name == "step") return base_lr * std::pow(o.gamma, float(epoch / o.step_epochs));
  if (o.name == "cosine") {
    return float(base_lr * 0.5 * (1.0 + std::cos(3.141592653589793 * epoch / std::max(epochs, 1))));
  }
  return base_lr;
}

float ClipGradNorm(const std::vector<nn::Param*>& params, float max_norm) {
  double sq = 0;
  for (nn::Param* p : params) {
    for (float g : p->grad.values()) sq += double(g) * g;
  }
  const float norm = float(std::sqrt(sq));
  if (norm > max_norm) {
    const float scale = max_norm / norm;
    for (nn::Param* p : params) {
      for (float& g : p->grad.values()) g *= scale;
    }
  }
  return norm;
}

void ZeroGrads(const std::vector<nn::Param*>& params) {
  for (nn::Param* p : params) p->grad.Fill(0.0f);
}

}  // namespace qf::train
