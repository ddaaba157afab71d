// Q-MUL's pluggable similar labels (UnlearnOptions::qmul_similarity: prediction, confusion,
// embedding, a matrix) and the indicators of its reweighting (G by layer, the cosine between
// the forget and retain gradients, the share of forget samples moved to their similar
// label, the weighted pass's retain accuracy, warnings), each checked against numbers this
// file computes on its own from the model, on cases built so that the rule has something
// to decide. Not the SPEC §4 prediction rule itself, G and the weights (qmul_test.cc).
#include <algorithm>
#include <catch.hpp>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "train/loss.h"
#include "train/synthetic.h"
#include "train/trainer.h"
#include "unlearn/forget.h"
#include "unlearn/method.h"
#include "unlearn/qmul_test_util.h"
#include "unlearn/unlearn_test_util.h"

namespace qf::unlearn {
namespace {

using test_util::Fixture;
using test_util::TrainedClassForget;

using namespace qmul_test_util;  // NOLINT: the helpers the Q-MUL tests share

// `a` then `b`.
train::Dataset Join(const train::Dataset& a, const train::Dataset& b) {
  train::Dataset out = a;
  out.x.insert(out.x.end(), b.x.begin(), b.x.end());
  out.y.insert(out.y.end(), b.y.begin(), b.y.end());
  return out;
}

// The samples [0, n) of `data` (or all), every label set to `label`.
train::Dataset Relabelled(const train::Dataset& data, Label label, size_t n = SIZE_MAX) {
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < std::min(n, data.size()); i++) ids.push_back(i);
  train::Dataset out = train::Subset(data, ids);
  std::fill(out.y.begin(), out.y.end(), label);
  return out;
}

// The samples of `data` for which keep(i, probabilities of sample i) holds.
template <typename Keep>
train::Dataset Where(nn::Model& model, const train::Dataset& data, Keep keep) {
  Tensor p;
  model.Forward(data.x.data(), data.size(), &p, nn::Mode::kEval);
  train::Softmax(p, &p);
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < data.size(); i++) {
    if (keep(i, p.data() + i * model.classes())) ids.push_back(i);
  }
  return train::Subset(data, ids);
}

size_t Argmax(const float* z, size_t c) { return std::max_element(z, z + c) - z; }

// A valid similarity matrix: each class's similar label is the next class (S[y][y+1] = 1).
std::vector<double> Ring(size_t c) {
  std::vector<double> s(c * c, 0.0);
  for (size_t y = 0; y < c; y++) s[y * c + (y + 1) % c] = 1.0;
  return s;
}

UnlearnOptions WithSimilarity(UnlearnOptions o, const std::string& rule,
                              std::vector<double> matrix = {}) {
  o.qmul_similarity = rule;
  o.qmul_similarity_matrix = std::move(matrix);
  return o;
}

// A model holding `values` (parameters of a copy of `model`; no BatchNorm statistics).
std::unique_ptr<nn::Model> WithValues(nn::Model& model, const Values& values) {
  auto copy = model.Copy();
  REQUIRE(copy.ok());
  std::unique_ptr<nn::Model> m = std::move(copy).value();
  for (size_t t = 0; t < m->params().size(); t++) m->params()[t]->value.values() = values[t];
  m->OnParamsChanged();
  return m;
}

// The first epoch's row of similar labels of class 0 (the fixture's forget class).
std::vector<uint32_t> Row0(const QmulEpoch& q, size_t c) {
  return std::vector<uint32_t>(q.similar_labels.begin(), q.similar_labels.begin() + c);
}

// A rule that finds no evidence on `retain`: every forget sample falls back to the
// prediction rule (SPEC §4's labels, counted as fallbacks).
void CheckAllFallBack(Fixture& f, const train::Dataset& retain, const std::string& rule) {
  const size_t c = f.model->classes();
  const Run run = RunQmul(*f.model, f.forget, retain, WithSimilarity(PlainSgd(24, "mixed"), rule));
  REQUIRE(run.status.ok());
  const QmulEpoch& q = *run.reports[0].qmul;
  std::vector<uint32_t> want(c, 0);
  for (Label l : SimilarLabels(*f.model, f.forget)) want[l]++;
  CHECK(Row0(q, c) == want);
  CHECK(q.similarity_fallbacks == f.forget.size());
}

TEST_CASE("qmul's similarity matrix: argmax over j != y of S[y][j], ties to the lowest class",
          "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  const size_t c = f.model->classes(), n = f.forget.size();
  std::vector<double> s = Ring(c);
  size_t target = 0;
  SECTION("class 3 named for class 0") {
    s[0 * c + 3] = 2.0;  // above the ring's S[0][1] = 1
    target = 3;
  }
  SECTION("a tie between classes 5 and 7 goes to 5; the diagonal is ignored") {
    std::fill(s.begin(), s.begin() + c, 0.0);
    s[0 * c + 0] = 100.0;
    s[0 * c + 5] = s[0 * c + 7] = 0.5;
    target = 5;
  }
  UnlearnOptions o = WithSimilarity(PlainSgd(24, "mixed"), "matrix", s);
  o.epochs = 2;
  const Run run = RunQmul(*f.model, f.forget, f.retain, o);
  REQUIRE(run.status.ok());
  REQUIRE(run.reports.size() == 2);
  for (const EpochReport& r : run.reports) {
    const QmulEpoch& q = *r.qmul;
    CHECK(q.similarity == "matrix");
    std::vector<uint32_t> want(c, 0);
    want[target] = uint32_t(n);
    CHECK(Row0(q, c) == want);
    CHECK(q.similarity_fallbacks == 0);
  }
  // G_f is taken with those labels: it differs from what the prediction rule's give.
  const std::vector<Label> labels(n, Label(target));
  const double g_f = MeanBatchGradientNorm(*f.model, f.forget, 24, &labels);
  const std::vector<Label> predicted = SimilarLabels(*f.model, f.forget);
  REQUIRE(std::fabs(MeanBatchGradientNorm(*f.model, f.forget, 24, &predicted) - g_f) > 0.01 * g_f);
  CHECK(run.reports[0].qmul->g_forget == Approx(g_f).epsilon(1e-4));
}

// What "confusion" should pick for class 0 on `retain`: argmax over j != 0 of the counts
// of (0 predicted j) + (j predicted 0), eval mode; SIZE_MAX when all are 0.
size_t ConfusedWith0(nn::Model& model, const train::Dataset& retain) {
  const size_t c = model.classes();
  Tensor logits;
  model.Forward(retain.x.data(), retain.size(), &logits, nn::Mode::kEval);
  std::vector<size_t> count(c, 0);
  for (size_t i = 0; i < retain.size(); i++) {
    const size_t y = retain.y[i], p = Argmax(logits.data() + i * c, c);
    if (y == 0 && p != 0) count[p]++;
    if (p == 0 && y != 0) count[y]++;
  }
  size_t best = SIZE_MAX;
  for (size_t j = 1; j < c; j++) {
    if (count[j] > 0 && (best == SIZE_MAX || count[j] > count[best])) best = j;
  }
  return best;
}

TEST_CASE("qmul's 'confusion' similar labels: the class the retain set confuses most with y",
          "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  const size_t c = f.model->classes(), n = f.forget.size();
  SECTION("30 class-0 images in the retain set labelled 5: the model predicts them 0") {
    // Class 0 is forgotten whole, so the retain set has no sample of it: what is mistaken
    // for class 0 is the evidence.
    const train::Dataset retain = Join(f.retain, Relabelled(f.forget, 5, 30));
    REQUIRE(ConfusedWith0(*f.model, retain) == 5);
    const Run run =
        RunQmul(*f.model, f.forget, retain, WithSimilarity(PlainSgd(24, "mixed"), "confusion"));
    REQUIRE(run.status.ok());
    const QmulEpoch& q = *run.reports[0].qmul;
    CHECK(q.similarity == "confusion");
    std::vector<uint32_t> want(c, 0);
    want[5] = uint32_t(n);
    CHECK(Row0(q, c) == want);
    CHECK(q.similarity_fallbacks == 0);
  }
  SECTION("a retain set the model gets all right: no evidence, every sample falls back") {
    const train::Dataset retain = Where(*f.model, f.retain, [&](size_t i, const float* p) {
      return Argmax(p, c) == f.retain.y[i];
    });
    REQUIRE(retain.size() > 100);
    REQUIRE(ConfusedWith0(*f.model, retain) == SIZE_MAX);
    CheckAllFallBack(f, retain, "confusion");
  }
}

// What "embedding" should pick for each forget sample: the nearest centroid j != y of the
// retain set's penultimate features, ties to the lowest class; SIZE_MAX without one.
std::vector<size_t> NearestCentroids(nn::Model& model, const train::Dataset& forget,
                                     const train::Dataset& retain) {
  const size_t c = model.classes();
  Tensor logits;
  model.Forward(retain.x.data(), retain.size(), &logits, nn::Mode::kEval);
  const Tensor features = model.features();
  const size_t d = features.size() / retain.size();
  std::vector<std::vector<double>> centroid(c);
  std::vector<size_t> count(c, 0);
  for (size_t i = 0; i < retain.size(); i++) {
    std::vector<double>& m = centroid[retain.y[i]];
    m.resize(d, 0.0);
    for (size_t k = 0; k < d; k++) m[k] += features[i * d + k];
    count[retain.y[i]]++;
  }
  for (size_t j = 0; j < c; j++) {
    for (double& v : centroid[j]) v /= double(count[j]);
  }
  model.Forward(forget.x.data(), forget.size(), &logits, nn::Mode::kEval);
  const Tensor f = model.features();
  std::vector<size_t> nearest(forget.size(), SIZE_MAX);
  for (size_t i = 0; i < forget.size(); i++) {
    double best = 0;
    for (size_t j = 0; j < c; j++) {
      if (j == forget.y[i] || count[j] == 0) continue;
      double dist = 0;
      for (size_t k = 0; k < d; k++) dist += std::pow(double(f[i * d + k]) - centroid[j][k], 2);
      if (nearest[i] == SIZE_MAX || dist < best) nearest[i] = j, best = dist;
    }
  }
  return nearest;
}

TEST_CASE("nn::Model::features: what the last layer reads", "[unlearn][qmul]") {
  for (const auto& [arch, width] :
       std::vector<std::pair<std::string, size_t>>{{"mlp", 128}, {"lenet", 128}, {"resnet8", 64}}) {
    INFO(arch);
    nn::ModelSpec spec = test_util::MlpSpec();
    spec.arch = arch;
    auto model = std::move(nn::Model::Create(spec)).value();
    const train::Dataset data = test::SyntheticImages(5, 12, 9, 1);
    Tensor logits;
    model->Forward(data.x.data(), 5, &logits, nn::Mode::kEval);
    const Tensor& features = model->features();
    CHECK(features.shape()[0] == 5);
    CHECK(features.size() == 5 * width);
    // After a ReLU (and resnet8's average pool): non-negative, and not all alike.
    CHECK(*std::min_element(features.values().begin(), features.values().end()) >= 0.0f);
    CHECK(!std::equal(features.data(), features.data() + width, features.data() + width));
  }
}

TEST_CASE("qmul's 'embedding' similar labels: the nearest retain class centroid j != y",
          "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  const size_t c = f.model->classes(), n = f.forget.size();
  SECTION("class 7's samples replaced by 30 class-0 images: its centroid is nearest") {
    const train::Dataset others =
        Where(*f.model, f.retain, [&](size_t i, const float*) { return f.retain.y[i] != 7; });
    const train::Dataset retain = Join(others, Relabelled(f.forget, 7, 30));
    const std::vector<size_t> nearest = NearestCentroids(*f.model, f.forget, retain);
    std::vector<uint32_t> want(c, 0);
    for (size_t j : nearest) want[j]++;
    REQUIRE(want[7] > n / 2);
    const Run run =
        RunQmul(*f.model, f.forget, retain, WithSimilarity(PlainSgd(24, "mixed"), "embedding"));
    REQUIRE(run.status.ok());
    const QmulEpoch& q = *run.reports[0].qmul;
    CHECK(q.similarity == "embedding");
    CHECK(Row0(q, c) == want);
    CHECK(q.similarity_fallbacks == 0);
  }
  SECTION("the plain retain set") {
    const std::vector<size_t> nearest = NearestCentroids(*f.model, f.forget, f.retain);
    std::vector<uint32_t> want(c, 0);
    for (size_t j : nearest) want[j]++;
    const Run run =
        RunQmul(*f.model, f.forget, f.retain, WithSimilarity(PlainSgd(24, "mixed"), "embedding"));
    REQUIRE(run.status.ok());
    CHECK(Row0(*run.reports[0].qmul, c) == want);
  }
  SECTION("a retain set of class 0 only: no other centroid, every sample falls back") {
    const train::Dataset retain = Relabelled(f.forget, 0, 30);
    CheckAllFallBack(f, retain, "embedding");
  }
}

// The name of a trainable tensor's layer: its name without the last part.
std::string LayerOf(const std::string& tensor) { return tensor.substr(0, tensor.rfind('.')); }

TEST_CASE("qmul's G by layer: each layer's mean summed norms; the layers sum to G",
          "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  const size_t batch = 24;
  const train::Dataset retain = FirstOf(f.retain, batch);
  const Run run = RunQmul(*f.model, f.forget, retain, PlainSgd(batch, "mixed"));
  REQUIRE(run.status.ok());
  const QmulEpoch& q = *run.reports[0].qmul;
  // The mlp: Flatten, Dense, ReLU, Dense, ReLU, Dense; the Dense layers hold the tensors.
  REQUIRE(q.layers.size() == 3);
  CHECK(q.layers[0].layer == "1");
  CHECK(q.layers[1].layer == "3");
  CHECK(q.layers[2].layer == "5");
  double sum_f = 0, sum_r = 0;
  for (const QmulEpoch::LayerNorms& l : q.layers) {
    CHECK(l.type == "dense");
    sum_f += l.g_forget, sum_r += l.g_retain;
  }
  CHECK(sum_f == Approx(q.g_forget).epsilon(1e-12));
  CHECK(sum_r == Approx(q.g_retain).epsilon(1e-12));
  // Recomputed: the forget set in batches of 24, 24, 15, each batch's mean gradient,
  // the norms of its tensors summed by layer, averaged over the batches.
  const std::vector<Label> similar = SimilarLabels(*f.model, f.forget);
  std::map<std::string, double> want;
  size_t batches = 0;
  for (size_t first = 0; first < f.forget.size(); first += batch, batches++) {
    const size_t m = std::min(batch, f.forget.size() - first);
    Grads g;
    AddGradients(*f.model, f.forget, first, m, &similar, 1.0 / double(m), &g);
    for (size_t t = 0; t < g.size(); t++) {
      double sq = 0;
      for (double v : g[t]) sq += v * v;
      want[LayerOf(f.model->params()[t]->name)] += std::sqrt(sq);
    }
  }
  for (const QmulEpoch::LayerNorms& l : q.layers) {
    INFO(l.layer);
    CHECK(l.g_forget == Approx(want[l.layer] / double(batches)).epsilon(1e-4));
  }
  // The layers differ: a per-layer split that gave each the same share would fail.
  CHECK(std::fabs(q.layers[0].g_forget - q.layers[2].g_forget) > 0.01 * q.g_forget);

  // resnet8: conv2d, batch_norm and dense layers, inside residual bodies and shortcuts too.
  Fixture r = TrainedClassForget(1, 1, test_util::Resnet8Spec());
  const Run res =
      RunQmul(*r.model, r.forget, FirstOf(r.retain, batch), PlainSgd(batch, "mixed"));
  REQUIRE(res.status.ok());
  std::set<std::string> types;
  for (const QmulEpoch::LayerNorms& l : res.reports[0].qmul->layers) {
    INFO(l.layer);
    CHECK(!l.type.empty());
    types.insert(l.type);
  }
  CHECK(types == std::set<std::string>{"batch_norm", "conv2d", "dense"});
}

// The cosine between two gradients, each a vector per tensor.
double Cosine(const Grads& a, const Grads& b) {
  double dot = 0, aa = 0, bb = 0;
  for (size_t t = 0; t < a.size(); t++) {
    for (size_t k = 0; k < a[t].size(); k++) {
      dot += a[t][k] * b[t][k], aa += a[t][k] * a[t][k], bb += b[t][k] * b[t][k];
    }
  }
  return dot / std::sqrt(aa * bb);
}

TEST_CASE("qmul's gradient cosine: between the forget and retain scans' summed gradients",
          "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  SECTION("recomputed from per-sample gradients") {
    const size_t batch = 24;
    const train::Dataset retain = FirstOf(f.retain, batch);
    const std::vector<Label> similar = SimilarLabels(*f.model, f.forget);
    Grads forget_sum, retain_sum;
    for (size_t first = 0; first < f.forget.size(); first += batch) {
      const size_t m = std::min(batch, f.forget.size() - first);
      AddGradients(*f.model, f.forget, first, m, &similar, 1.0 / double(m), &forget_sum);
    }
    AddGradients(*f.model, retain, 0, batch, nullptr, 1.0 / double(batch), &retain_sum);
    const double want = Cosine(forget_sum, retain_sum);
    const Run run = RunQmul(*f.model, f.forget, retain, PlainSgd(batch, "mixed"));
    REQUIRE(run.status.ok());
    const double cosine = run.reports[0].qmul->gradient_cosine;
    INFO("recomputed " << want << ", reported " << cosine);
    CHECK(cosine >= -1.0);
    CHECK(cosine <= 1.0);
    CHECK(cosine == Approx(want).margin(1e-4));
  }
  SECTION("1 when the retain set is the forget set with the labels it is trained towards") {
    // Class 0's similar label is 3 (a matrix); the retain set: the same images labelled 3.
    // One batch each, so the scans take the same gradient.
    const size_t c = f.model->classes(), n = f.forget.size();
    std::vector<double> s = Ring(c);
    s[0 * c + 3] = 2.0;
    const Run run = RunQmul(*f.model, f.forget, Relabelled(f.forget, 3),
                            WithSimilarity(PlainSgd(n, "mixed"), "matrix", s));
    REQUIRE(run.status.ok());
    CHECK(run.reports[0].qmul->gradient_cosine == Approx(1.0).margin(1e-5));
    // And not 1 with the true labels in the retain set.
    const Run other = RunQmul(*f.model, f.forget, Relabelled(f.forget, 0),
                              WithSimilarity(PlainSgd(n, "mixed"), "matrix", s));
    REQUIRE(other.status.ok());
    CHECK(other.reports[0].qmul->gradient_cosine < 0.9);
  }
}

TEST_CASE(
    "qmul's moved share and retain accuracy: forget samples predicted as their similar label "
    "after the epoch; retain samples the weighted pass got right",
    "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  const size_t c = f.model->classes(), n = f.forget.size();
  std::vector<double> s = Ring(c);
  s[0 * c + 3] = 2.0;  // every forget sample's similar label: 3
  SECTION("after two epochs") {
    // The retain set: the real one and 20 of the forget images labelled 3, so that both
    // sides pull them to 3 (against the real retain set alone, w_f is small on this model
    // and none moves). The synthetic class moves as one: all of it, here.
    UnlearnOptions o = WithSimilarity(PlainSgd(24, "sequential"), "matrix", s);
    o.epochs = 2;
    o.lr = 0.05f;
    const Run run = RunQmul(*f.model, f.forget, Join(f.retain, Relabelled(f.forget, 3, 20)), o);
    REQUIRE(run.status.ok());
    REQUIRE(run.reports.size() == 2);
    const auto after = WithValues(*f.model, run.states.back());
    Tensor logits;
    after->Forward(f.forget.x.data(), n, &logits, nn::Mode::kEval);
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) moved += Argmax(logits.data() + i * c, c) == 3;
    const EpochReport& last = run.reports.back();
    INFO("moved " << moved << " of " << n);
    CHECK(moved > 0);
    CHECK(last.forget_accuracy < 0.5);  // a different count from the moved share
    CHECK(last.qmul->moved_to_similar == Approx(double(moved) / double(n)).margin(1e-12));
    CHECK(last.forget_accuracy == Approx(train::Evaluate(*after, f.forget).accuracy).margin(1e-6));
    for (const EpochReport& r : run.reports) {
      CHECK(r.qmul->retain_accuracy >= 0.0);
      CHECK(r.qmul->retain_accuracy <= 1.0);
    }
  }
  SECTION("one batch of everything: the model before the step, on all of D_r") {
    // Without BatchNorm the training-mode forward computes what the deployed model does
    // (qmul_test.cc), so the batch's retain accuracy is the model's.
    // The model gets every retain sample right: 40 of them mislabelled make it a count.
    train::Dataset retain = f.retain;
    for (size_t i = 0; i < 40; i++) retain.y[i * 11] = Label(1 + retain.y[i * 11] % 8);
    const Run run = RunQmul(*f.model, f.forget, retain,
                            WithSimilarity(PlainSgd(n + retain.size(), "mixed"), "matrix", s));
    REQUIRE(run.status.ok());
    const double want = train::Evaluate(*f.model, retain).accuracy;
    REQUIRE(want < 0.95);
    CHECK(run.reports[0].qmul->retain_accuracy == Approx(want).margin(1e-6));
  }
}

// The kinds of warning the documented thresholds call for, epoch by epoch.
std::vector<std::vector<std::string>> ExpectedWarnings(const std::vector<EpochReport>& reports) {
  std::vector<std::vector<std::string>> kinds;
  for (const EpochReport& r : reports) {
    std::vector<std::string> k;
    if (r.qmul->w_forget < 0.05) k.push_back("wForgetLow");
    if (r.qmul->w_forget > 0.95) k.push_back("wForgetHigh");
    if (r.qmul->retain_accuracy < reports[0].qmul->retain_accuracy - 0.05) {
      k.push_back("retainAccuracyDrop");
    }
    kinds.push_back(k);
  }
  return kinds;
}

std::vector<std::vector<std::string>> Warned(const std::vector<EpochReport>& reports) {
  std::vector<std::vector<std::string>> kinds;
  for (const EpochReport& r : reports) {
    std::vector<std::string> k;
    for (const auto& [kind, message] : r.qmul->warnings) {
      CHECK(!message.empty());
      k.push_back(kind);
    }
    kinds.push_back(k);
  }
  return kinds;
}

TEST_CASE("qmul warns when w_f collapses toward 0 or 1 and when retain accuracy falls",
          "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  const size_t c = f.model->classes();
  std::vector<double> s = Ring(c);
  s[0 * c + 3] = 2.0;  // class 0's similar label: 3
  const UnlearnOptions matrix = WithSimilarity(PlainSgd(24, "mixed"), "matrix", s);
  SECTION("none when both sides are the same gradient") {
    // The retain set: the forget images with the label they are trained towards.
    const Run run = RunQmul(*f.model, f.forget, Relabelled(f.forget, 3),
                            WithSimilarity(PlainSgd(f.forget.size(), "mixed"), "matrix", s));
    REQUIRE(run.status.ok());
    CHECK(run.reports[0].qmul->w_forget == Approx(0.5).margin(1e-3));
    CHECK(run.reports[0].qmul->warnings.empty());
  }
  SECTION("w_f near 0: the plain class forget of a model that gets the retain set right") {
    // Forget samples pushed to another class have large gradients; the retain samples,
    // which the model already predicts, small ones.
    const Run run = RunQmul(*f.model, f.forget, f.retain, matrix);
    REQUIRE(run.status.ok());
    INFO("w_f " << run.reports[0].qmul->w_forget);
    REQUIRE(run.reports[0].qmul->w_forget < 0.05);
    CHECK(Warned(run.reports) == std::vector<std::vector<std::string>>{{"wForgetLow"}});
  }
  SECTION("w_f near 1: the same the other way round") {
    // Forget: class-3 images the model predicts 3, given as class 0, whose similar label
    // is 3: small gradients. Retain: the class-0 images labelled 3: large ones.
    train::Dataset forget = Where(*f.model, f.retain, [&](size_t i, const float* p) {
      return f.retain.y[i] == 3 && p[3] > 0.95f;
    });
    INFO(forget.size() << " sure class-3 images");
    REQUIRE(forget.size() >= 5);
    std::fill(forget.y.begin(), forget.y.end(), Label(0));
    const Run run = RunQmul(*f.model, forget, Relabelled(f.forget, 3), matrix);
    REQUIRE(run.status.ok());
    INFO("w_f " << run.reports[0].qmul->w_forget);
    REQUIRE(run.reports[0].qmul->w_forget > 0.95);
    CHECK(Warned(run.reports) == std::vector<std::vector<std::string>>{{"wForgetHigh"}});
  }
  SECTION("retain accuracy falling: one step at a rate that wrecks the model") {
    // Epoch 1 is one batch of everything: its retain accuracy is the model's before any
    // step. Its step, at this rate, leaves a model that gets far fewer right in epoch 2.
    UnlearnOptions o =
        WithSimilarity(PlainSgd(f.forget.size() + f.retain.size(), "mixed"), "matrix", s);
    o.epochs = 2;
    o.lr = 20.0f;
    const Run run = RunQmul(*f.model, f.forget, f.retain, o);
    INFO(run.status.message());
    REQUIRE(run.status.ok());
    REQUIRE(run.reports.size() == 2);
    INFO("retain accuracy " << run.reports[0].qmul->retain_accuracy << " then "
                            << run.reports[1].qmul->retain_accuracy << "; w_f "
                            << run.reports[0].qmul->w_forget << ", "
                            << run.reports[1].qmul->w_forget);
    REQUIRE(run.reports[1].qmul->retain_accuracy < run.reports[0].qmul->retain_accuracy - 0.05);
    const auto expected = ExpectedWarnings(run.reports);
    CHECK(std::count(expected[1].begin(), expected[1].end(), "retainAccuracyDrop") == 1);
    CHECK(Warned(run.reports) == expected);
  }
}

}  // namespace
}  // namespace qf::unlearn
