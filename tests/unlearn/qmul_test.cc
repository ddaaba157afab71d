// Q-MUL's adaptive gradient reweighting (SPEC §4 step 2) and its weighted pass (step 3)
// checked against numbers this file computes on its own, from per-sample gradients of the
// model: G_f and G_r, the weights w_f and w_r, and the parameter updates of the mixed and
// the sequential mode. Nothing here calls the method's helpers (GradientNorm, Gather,
// CrossEntropyStep); the model's Forward/Backward are checked by the gradient tests.
// And the scans' two modes: what each leaves of BatchNorm's running statistics, and where
// their G differ. Not the similar-label rule (methods_test.cc) nor what Q-MUL does to
// accuracy.
#include <catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "train/loss.h"
#include "unlearn/forget.h"
#include "unlearn/method.h"
#include "unlearn/qmul_test_util.h"
#include "unlearn/unlearn_test_util.h"

namespace qf::unlearn {
namespace {

using test_util::Fixture;
using test_util::TrainedClassForget;

using namespace qmul_test_util;  // NOLINT: the helpers this file and qmul_similarity_test.cc share

// Requires after - before == -lr * gradient for every parameter value, within float
// rounding: 1e-3 of the tensor's largest expected update, plus a few ulps of the value.
void CheckUpdate(const Values& before, const Values& after, const Grads& gradient, double lr,
                 const nn::Model& model) {
  REQUIRE(before.size() == gradient.size());
  for (size_t t = 0; t < gradient.size(); t++) {
    double largest = 0;
    for (double g : gradient[t]) largest = std::max(largest, std::fabs(lr * g));
    size_t bad = 0, first_bad = 0;
    for (size_t k = 0; k < gradient[t].size(); k++) {
      const double moved = double(after[t][k]) - double(before[t][k]);
      const double want = -lr * gradient[t][k];
      const double tol = 1e-3 * largest + 1e-6 * std::fabs(double(before[t][k]));
      if (!(std::fabs(moved - want) <= tol) && bad++ == 0) first_bad = k;
    }
    const size_t k = first_bad;
    INFO(model.params()[t]->name << ": " << bad << " of " << gradient[t].size()
                                 << " values off; first [" << k << "] moved "
                                 << double(after[t][k]) - double(before[t][k]) << ", expected "
                                 << -lr * gradient[t][k] << " (largest expected " << largest
                                 << ")");
    CHECK(bad == 0);
  }
}

TEST_CASE("qmul's G_f and G_r are mean per-batch gradient norms, w_f = G_r / (G_f + G_r)",
          "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  // Forget: 63 samples in batches of 24, 24 and 15 (the forget scan goes in order); retain:
  // 24 samples, one batch in any order.
  const size_t batch = 24;
  const train::Dataset retain = FirstOf(f.retain, batch);
  REQUIRE(f.forget.size() == 63);

  const std::vector<Label> similar = SimilarLabels(*f.model, f.forget);
  const double g_f = MeanBatchGradientNorm(*f.model, f.forget, batch, &similar);
  const double g_r = MeanBatchGradientNorm(*f.model, retain, batch, nullptr);
  const double w_f = g_r / (g_f + g_r), w_r = g_f / (g_f + g_r);
  INFO("recomputed G_f " << g_f << " G_r " << g_r << " w_f " << w_f << " w_r " << w_r);
  // The check has power: swapped weights, the true labels, or the norm of the whole
  // forget set's mean gradient instead of the mean of per-batch norms all differ by far
  // more than the tolerance.
  REQUIRE(std::fabs(w_f - w_r) > 0.1);
  REQUIRE(std::fabs(MeanBatchGradientNorm(*f.model, f.forget, batch, nullptr) - g_f) > 0.01 * g_f);
  REQUIRE(std::fabs(BatchGradientNorm(*f.model, f.forget, 0, 63, &similar) - g_f) > 0.01 * g_f);

  for (const char* mode : {"mixed", "sequential"}) {
    INFO(mode);
    const Run run = RunQmul(*f.model, f.forget, retain, PlainSgd(batch, mode));
    REQUIRE(run.status.ok());
    REQUIRE(run.reports.size() == 1);
    REQUIRE(run.reports[0].qmul);
    const QmulEpoch& q = *run.reports[0].qmul;
    CHECK(q.g_forget == Approx(g_f).epsilon(1e-4));
    CHECK(q.g_retain == Approx(g_r).epsilon(1e-4));
    CHECK(q.w_forget == Approx(w_f).epsilon(1e-4));
    CHECK(q.w_retain == Approx(w_r).epsilon(1e-4));
  }
}

TEST_CASE(
    "qmul's mixed pass: one step on (1/B) sum w(i) CE_i, w_f on forget samples, w_r on retain",
    "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  // One batch holds everything: the step does not depend on the shuffle.
  const size_t n_f = f.forget.size(), n_r = f.retain.size(), batch = n_f + n_r;
  const std::vector<Label> similar = SimilarLabels(*f.model, f.forget);
  const double g_f = BatchGradientNorm(*f.model, f.forget, 0, n_f, &similar);
  const double g_r = BatchGradientNorm(*f.model, f.retain, 0, n_r, nullptr);
  const double w_f = g_r / (g_f + g_r), w_r = g_f / (g_f + g_r);
  INFO("recomputed w_f " << w_f << " w_r " << w_r);
  REQUIRE(std::fabs(w_f - w_r) > 0.1);  // swapping them is visible
  Grads gradient;
  AddGradients(*f.model, f.forget, 0, n_f, &similar, w_f / double(batch), &gradient);
  AddGradients(*f.model, f.retain, 0, n_r, nullptr, w_r / double(batch), &gradient);

  const UnlearnOptions o = PlainSgd(batch, "mixed");
  const Run run = RunQmul(*f.model, f.forget, f.retain, o);
  REQUIRE(run.status.ok());
  REQUIRE(run.states.size() == 2);  // one update
  CheckUpdate(run.states[0], run.states[1], gradient, o.lr, *f.model);
}

TEST_CASE(
    "qmul's sequential pass: w_f * CE on the forget batches, then w_r * CE on the retain ones",
    "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  // Batches as large as the larger set: one forget batch, then one retain batch.
  const size_t n_f = f.forget.size(), n_r = f.retain.size();
  const std::vector<Label> similar = SimilarLabels(*f.model, f.forget);
  const double g_f = BatchGradientNorm(*f.model, f.forget, 0, n_f, &similar);
  const double g_r = BatchGradientNorm(*f.model, f.retain, 0, n_r, nullptr);
  const double w_f = g_r / (g_f + g_r), w_r = g_f / (g_f + g_r);
  INFO("recomputed w_f " << w_f << " w_r " << w_r);
  REQUIRE(std::fabs(w_f - w_r) > 0.1);

  const UnlearnOptions o = PlainSgd(n_r, "sequential");
  const Run run = RunQmul(*f.model, f.forget, f.retain, o);
  REQUIRE(run.status.ok());
  REQUIRE(run.states.size() == 3);  // two updates: the forget batch, then the retain batch
  // The forget step, from the model before: w_f times the forget samples' mean gradient.
  Grads forget_step;
  AddGradients(*f.model, f.forget, 0, n_f, &similar, w_f / double(n_f), &forget_step);
  CheckUpdate(run.states[0], run.states[1], forget_step, o.lr, *f.model);
  // The retain step, from the model the forget step left (its values, as the run has
  // them): w_r times the retain samples' mean gradient there.
  auto after_forget = f.model->Copy();
  REQUIRE(after_forget.ok());
  nn::Model& m1 = *after_forget.value();
  for (size_t t = 0; t < m1.params().size(); t++) m1.params()[t]->value.values() = run.states[1][t];
  m1.OnParamsChanged();
  Grads retain_step;
  AddGradients(m1, f.retain, 0, n_r, nullptr, w_r / double(n_r), &retain_step);
  CheckUpdate(run.states[1], run.states[2], retain_step, o.lr, *f.model);
}

// SPEC §4 leaves no weights when G_f or G_r is not finite: that must be an error naming
// it, not a 1/2-1/2 weighting (before, NaN > 0 was false and gave 1/2 each).
TEST_CASE("qmul fails naming G_f or G_r when it is not finite", "[unlearn][qmul]") {
  Fixture f = TrainedClassForget();
  SECTION("a forget that diverged in an earlier epoch") {
    // One batch per phase at an absurd rate: the first two epochs' steps leave finite
    // losses (the integer forward clamps the codes) but weights the third epoch's forget
    // scan gets no finite gradient from.
    ForgetRequest request{f.forget, f.retain, "qmul", {}};
    request.options.epochs = 3;
    request.options.lr = 1e20f;
    request.options.batch_size = 1000;
    auto session = ForgetSession::Start(*f.model, std::move(request));
    REQUIRE(session.ok());
    std::vector<EpochReport> reports;
    Status status = OkStatus();
    while (status.ok() && !session.value()->done()) status = session.value()->Step(1, &reports);
    INFO(status.message());
    REQUIRE(!status.ok());
    CHECK(status.code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(status.message(),
               Catch::StartsWith("qmul: G_f (the mean gradient norm over the forget batches) "
                                 "is nan (over 1 batch): the model or its loss diverged"));
    CHECK(reports.size() == 2);
    CHECK(!session.value()->done());
  }
  SECTION("an empty retain set: a scan of no batch") {
    // A ForgetSession refuses an empty retain set; the method itself must not weigh the
    // forget samples by G_r / (G_f + 0) = 0 either.
    train::Dataset empty;
    empty.sample = f.retain.sample;
    const Run run = RunQmul(*f.model, f.forget, empty, PlainSgd(32, "mixed"));
    INFO(run.status.message());
    REQUIRE(!run.status.ok());
    CHECK(run.status.code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(run.status.message(),
               Catch::StartsWith("qmul: G_r (the mean gradient norm over the retain batches) "
                                 "is nan (no batch): no retain batch was scanned"));
    CHECK(run.states.size() == 1);  // no update
  }
}

// ---- the scans' mode ------------------------------------------------------------------

// Every BatchNorm running statistic of `model`, by name.
std::map<std::string, std::vector<float>> RunningStatistics(nn::Model& model) {
  struct Collect final : nn::StateVisitor {
    std::map<std::string, std::vector<float>> stats;
    void Float(const std::string& name, Tensor* t, nn::FloatRule) override {
      if (name.find(".running_") != std::string::npos) stats[name] = t->values();
    }
    void Quantized(const nn::QuantizedWeightState&) override {}
    void Flag(const std::string&, bool*) override {}
  } collect;
  model.CollectState(&collect);
  return collect.stats;
}

// Q-MUL's first epoch on a copy of `original`, up to the end of its scans (similar
// labels, forget scan, retain scan, all of D_r) and no further: the model as the scans
// leave it, before any update.
std::unique_ptr<nn::Model> AfterScans(nn::Model& original, const train::Dataset& forget,
                                      const train::Dataset& retain, const UnlearnOptions& options) {
  Started s = StartQmul(original, forget, retain, options);
  const auto batches = [&](size_t n) { return (n + options.batch_size - 1) / options.batch_size; };
  std::vector<EpochReport> reports;
  REQUIRE(s.method->Step(s.ctx, 2 * batches(forget.size()) + batches(retain.size()), &reports).ok());
  REQUIRE(s.method->samples_run() == 2 * forget.size() + retain.size());
  REQUIRE(reports.empty());
  REQUIRE(ValuesOf(*s.model) == ValuesOf(original));  // the scans update no parameter
  return std::move(s.model);
}

TEST_CASE(
    "qmul's eval-mode scans leave BatchNorm's running statistics as they were; "
    "train-mode scans move them",
    "[unlearn][qmul]") {
  CHECK(UnlearnOptions().qmul_scan_mode == "train");  // the default
  Fixture f = TrainedClassForget(1, 2, test_util::Resnet8Spec());
  std::vector<uint32_t> first48(48);
  for (uint32_t i = 0; i < first48.size(); i++) first48[i] = i;
  const train::Dataset retain = train::Subset(f.retain, first48);
  const auto before = RunningStatistics(*f.model);
  // resnet8's 9 BatchNorm layers (the stem's, two per block, the two projection
  // shortcuts'), a mean and a variance each.
  REQUIRE(before.size() == 2 * 9);

  UnlearnOptions o = PlainSgd(24, "mixed");
  o.qmul_scan_mode = "eval";
  CHECK(RunningStatistics(*AfterScans(*f.model, f.forget, retain, o)) == before);

  o.qmul_scan_mode = "train";
  const auto after = RunningStatistics(*AfterScans(*f.model, f.forget, retain, o));
  size_t moved = 0;
  for (const auto& [name, values] : before) {
    INFO(name);
    REQUIRE(after.count(name));
    moved += after.at(name) != values;
  }
  CHECK(moved == before.size());
}

TEST_CASE(
    "qmul's eval-mode G are the deployed model's gradient norms; with BatchNorm they "
    "differ from train mode's",
    "[unlearn][qmul]") {
  Fixture f = TrainedClassForget(1, 2, test_util::Resnet8Spec());
  const size_t batch = 24;
  const train::Dataset retain = FirstOf(f.retain, batch);
  // The deployed model's gradient (kEvalGradient) couples no samples: a batch's is the
  // mean of its samples'.
  const std::vector<Label> similar = SimilarLabels(*f.model, f.forget);
  const double g_f =
      MeanBatchGradientNorm(*f.model, f.forget, batch, &similar, nn::Mode::kEvalGradient);
  const double g_r =
      MeanBatchGradientNorm(*f.model, retain, batch, nullptr, nn::Mode::kEvalGradient);

  UnlearnOptions o = PlainSgd(batch, "mixed");
  o.qmul_scan_mode = "eval";
  const Run eval = RunQmul(*f.model, f.forget, retain, o);
  o.qmul_scan_mode = "train";
  const Run trained = RunQmul(*f.model, f.forget, retain, o);
  REQUIRE(eval.status.ok());
  REQUIRE(trained.status.ok());
  REQUIRE(eval.reports.size() == 1);
  REQUIRE(trained.reports.size() == 1);
  const QmulEpoch& e = *eval.reports[0].qmul;
  const QmulEpoch& t = *trained.reports[0].qmul;
  INFO("recomputed G_f " << g_f << " G_r " << g_r << "; eval " << e.g_forget << " " << e.g_retain
                         << "; train " << t.g_forget << " " << t.g_retain);
  CHECK(e.g_forget == Approx(g_f).epsilon(1e-4));
  CHECK(e.g_retain == Approx(g_r).epsilon(1e-4));
  // Training mode normalizes each scanned batch with its own statistics (a batch of one
  // class here) and differentiates through them: other G, other weights.
  CHECK(std::fabs(t.g_forget - e.g_forget) > 0.01 * e.g_forget);
  CHECK(std::fabs(t.g_retain - e.g_retain) > 0.01 * e.g_retain);
  CHECK(std::fabs(t.w_forget - e.w_forget) > 1e-3);
}

TEST_CASE("without BatchNorm qmul's two scan modes are one computation", "[unlearn][qmul]") {
  // mlp and lenet have no BatchNorm, and a trained model's input quantizers have their
  // steps: a training-mode forward then computes what the deployed model's does.
  for (const char* arch : {"mlp", "lenet"}) {
    INFO(arch);
    nn::ModelSpec spec = test_util::MlpSpec();
    spec.arch = arch;
    Fixture f = TrainedClassForget(1, 2, spec);
    UnlearnOptions o;
    o.epochs = 2;
    o.batch_size = 24;
    o.schedule.name = "constant";
    o.qmul_scan_mode = "eval";
    const Run eval = RunQmul(*f.model, f.forget, f.retain, o);
    o.qmul_scan_mode = "train";
    const Run trained = RunQmul(*f.model, f.forget, f.retain, o);
    REQUIRE(eval.status.ok());
    REQUIRE(trained.status.ok());
    REQUIRE(eval.reports.size() == 2);
    REQUIRE(trained.reports.size() == 2);
    for (size_t epoch = 0; epoch < 2; epoch++) {
      CHECK(eval.reports[epoch].qmul->g_forget == trained.reports[epoch].qmul->g_forget);
      CHECK(eval.reports[epoch].qmul->g_retain == trained.reports[epoch].qmul->g_retain);
    }
    CHECK(eval.states == trained.states);
  }
}

}  // namespace
}  // namespace qf::unlearn
