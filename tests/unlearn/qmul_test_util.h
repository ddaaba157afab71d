// What the Q-MUL tests share: the method's numbers recomputed on their own, from
// per-sample gradients of the model (similar labels by SPEC §4's rule, gradients, G), and
// a run of the method through its interface that keeps every parameter state.
#pragma once

#include <algorithm>
#include <catch.hpp>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "train/loss.h"
#include "unlearn/forget.h"
#include "unlearn/method.h"

namespace qf::unlearn::qmul_test_util {

using Grads = std::vector<std::vector<double>>;  // one vector per trainable tensor
using Values = std::vector<std::vector<float>>;  // parameter values, likewise

// SPEC §4 step 1, from the model before any update: argmin over j != y of |p_j - p_y|
// (ties to the lowest class).
inline std::vector<Label> SimilarLabels(nn::Model& model, const train::Dataset& forget) {
  const size_t c = model.classes();
  Tensor probs;
  model.Forward(forget.x.data(), forget.size(), &probs, nn::Mode::kEval);
  train::Softmax(probs, &probs);
  std::vector<Label> labels(forget.size());
  for (size_t i = 0; i < forget.size(); i++) {
    const float* p = probs.data() + i * c;
    const size_t y = forget.y[i];
    size_t best = SIZE_MAX;
    for (size_t j = 0; j < c; j++) {
      if (j == y) continue;
      if (best == SIZE_MAX || std::fabs(p[j] - p[y]) < std::fabs(p[best] - p[y])) best = j;
    }
    labels[i] = Label(best);
  }
  return labels;
}

// d CE(x, label) / d theta for one sample, in `mode` (training mode, or kEvalGradient:
// the deployed model's); dCE/dz = softmax(z) - onehot.
inline Grads SampleGradient(nn::Model& model, const uint8_t* pixels, Label label, nn::Mode mode) {
  Tensor logits;
  model.Forward(pixels, 1, &logits, mode);
  Tensor dlogits(logits.shape());
  double max = logits[0], sum = 0;
  for (size_t j = 0; j < logits.size(); j++) max = std::max(max, double(logits[j]));
  for (size_t j = 0; j < logits.size(); j++) sum += std::exp(double(logits[j]) - max);
  for (size_t j = 0; j < logits.size(); j++) {
    dlogits[j] = float(std::exp(double(logits[j]) - max) / sum - (j == label ? 1.0 : 0.0));
  }
  for (nn::Param* p : model.params()) p->grad.Fill(0.0f);
  model.Backward(dlogits);
  Grads g;
  for (nn::Param* p : model.params()) {
    g.emplace_back(p->grad.values().begin(), p->grad.values().end());
  }
  return g;
}

// Sum over samples [first, first + n) of `data` of scale * dCE_i/dtheta, added into `acc`
// (labels: forget samples' similar labels, or null for the true ones). Per sample: the
// gradient of a batch in `mode` only where nothing couples its samples (no BatchNorm in
// training mode).
inline void AddGradients(nn::Model& model, const train::Dataset& data, size_t first, size_t n,
                         const std::vector<Label>* labels, double scale, Grads* acc,
                         nn::Mode mode = nn::Mode::kTrain) {
  const size_t d = data.sample.size();
  for (size_t i = first; i < first + n; i++) {
    const Grads g =
        SampleGradient(model, data.x.data() + i * d, labels ? (*labels)[i] : data.y[i], mode);
    if (acc->empty()) {
      for (const auto& t : g) acc->emplace_back(t.size(), 0.0);
    }
    for (size_t t = 0; t < g.size(); t++) {
      for (size_t k = 0; k < g[t].size(); k++) (*acc)[t][k] += scale * g[t][k];
    }
  }
}

// g_b = sum over tensors of the L2 norm of the mean gradient over samples [first, first + n).
inline double BatchGradientNorm(nn::Model& model, const train::Dataset& data, size_t first,
                                size_t n, const std::vector<Label>* labels,
                                nn::Mode mode = nn::Mode::kTrain) {
  Grads mean;
  AddGradients(model, data, first, n, labels, 1.0 / double(n), &mean, mode);
  double sum = 0;
  for (const auto& t : mean) {
    double sq = 0;
    for (double v : t) sq += v * v;
    sum += std::sqrt(sq);
  }
  return sum;
}

// G = mean of g_b over `data` cut in order into batches of `batch` (the last may be smaller).
inline double MeanBatchGradientNorm(nn::Model& model, const train::Dataset& data, size_t batch,
                                    const std::vector<Label>* labels,
                                    nn::Mode mode = nn::Mode::kTrain) {
  double sum = 0;
  size_t batches = 0;
  for (size_t first = 0; first < data.size(); first += batch, batches++) {
    sum +=
        BatchGradientNorm(model, data, first, std::min(batch, data.size() - first), labels, mode);
  }
  return sum / double(batches);
}

inline Values ValuesOf(const nn::Model& model) {
  Values v;
  for (const nn::Param* p : model.params()) v.push_back(p->value.values());
  return v;
}

// Q-MUL begun on a copy of `original` through the method interface itself.
struct Started {
  std::unique_ptr<Method> method;
  std::unique_ptr<nn::Model> model;  // the copy, which ctx.model points at
  MethodContext ctx;
};
inline Started StartQmul(nn::Model& original, const train::Dataset& forget,
                         const train::Dataset& retain, const UnlearnOptions& options) {
  Started s;
  auto made = MakeMethod("qmul");
  REQUIRE(made.ok());
  s.method = std::move(made).value();
  auto copy = original.Copy();
  REQUIRE(copy.ok());
  s.model = std::move(copy).value();
  s.ctx.model = s.model.get();
  s.ctx.forget = &forget;
  s.ctx.retain = &retain;
  s.ctx.options = options;
  s.ctx.rng = Rng(options.seed);
  auto optimizer = train::MakeOptimizer(options.optimizer);
  REQUIRE(optimizer.ok());
  s.ctx.optimizer = std::move(optimizer).value();
  REQUIRE(s.method->Begin(s.ctx).ok());
  return s;
}

// The first n samples of `data`.
inline train::Dataset FirstOf(const train::Dataset& data, size_t n) {
  std::vector<uint32_t> ids(n);
  for (uint32_t i = 0; i < n; i++) ids[i] = i;
  return train::Subset(data, ids);
}

// A Q-MUL run through the method interface itself (not a ForgetSession: its result has
// the shadow weights snapped to the grid, which would hide the updates), one batch per
// Step, keeping the parameter values each time they change: the states the weighted
// steps produced (the scans update nothing).
struct Run {
  std::vector<Values> states;  // states[0]: the model before
  std::vector<EpochReport> reports;
  Status status;
};

inline Run RunQmul(nn::Model& original, const train::Dataset& forget, const train::Dataset& retain,
                   const UnlearnOptions& options) {
  Run run;
  Started s = StartQmul(original, forget, retain, options);
  run.states.push_back(ValuesOf(*s.model));
  while (!s.method->done()) {
    run.status = s.method->Step(s.ctx, 1, &run.reports);
    if (!run.status.ok()) break;
    Values now = ValuesOf(*s.model);
    if (now != run.states.back()) run.states.push_back(std::move(now));
  }
  return run;
}

// Plain SGD (no momentum, no weight decay) and a constant rate: an update is then exactly
// -lr times the gradient. The optimizer is not what is under test here.
inline UnlearnOptions PlainSgd(size_t batch_size, const std::string& mode) {
  UnlearnOptions o;
  o.epochs = 1;
  o.batch_size = batch_size;
  o.lr = 0.05f;
  o.optimizer.momentum = 0.0f;
  o.optimizer.weight_decay = 0.0f;
  o.schedule.name = "constant";
  o.qmul_mode = mode;
  return o;
}

}  // namespace qf::unlearn::qmul_test_util
