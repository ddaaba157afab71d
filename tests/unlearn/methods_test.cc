// Unlearning methods on a trained model: every method runs to the end on a copy (the
// original is untouched), reports each epoch, and class-wise forgetting drops forget
// accuracy while retain accuracy holds; Q-MUL's similar labels and weights follow the rule.
#include <catch.hpp>
#include <cmath>

#include "train/loss.h"
#include "train/synthetic.h"
#include "train/trainer.h"
#include "unlearn/forget.h"
#include "unlearn/unlearn_test_util.h"
#include "unlearn/metrics.h"

namespace qf::unlearn {
namespace {

using test_util::Fixture;
using test_util::RunToEnd;
using test_util::TrainedClassForget;

TEST_CASE("every method runs on a copy and reports each epoch", "[unlearn]") {
  Fixture f = TrainedClassForget();
  Tensor before;
  f.model->Forward(f.retain.x.data(), 16, &before, nn::Mode::kEval);
  for (const std::string& method : MethodNames()) {
    INFO(method);
    ForgetRequest request{f.forget, f.retain, method, {}};
    request.options.epochs = 2;
    request.options.batch_size = 64;
    std::vector<EpochReport> reports;
    auto result = RunToEnd(*f.model, request, &reports);
    REQUIRE(reports.size() == 2);
    for (const EpochReport& r : reports) {
      REQUIRE(!r.losses.empty());
      for (const auto& [name, value] : r.losses) CHECK(std::isfinite(value));
      CHECK(r.forget_accuracy >= 0.0);
      CHECK(r.forget_accuracy <= 1.0);
      CHECK(r.qmul.has_value() == (method == "qmul"));
    }
    CHECK(reports[1].lr < reports[0].lr);  // cosine schedule
    Tensor after;
    f.model->Forward(f.retain.x.data(), 16, &after, nn::Mode::kEval);
    CHECK(after.values() == before.values());  // the original model never moved
  }
}

// A method's cost before it runs is what it then puts through the model (the unit `auto`
// weighs a rewind in): for every method that states one, in each configuration that
// changes it (epochs, batch size not dividing the sets, Q-MUL's scan cap and modes).
TEST_CASE("a method's planned samples are the samples it runs", "[unlearn]") {
  Fixture f = TrainedClassForget();
  // 63 forget and 477 retain samples: no batch size below divides them.
  REQUIRE(f.forget.size() == 63);
  REQUIRE(f.retain.size() == 477);
  struct Case {
    std::string method;
    int epochs;
    size_t batch;
    size_t scan_batches;  // qmul
    std::string mode;     // qmul
    std::string similarity = "prediction";  // qmul
  };
  const std::vector<Case> cases = {
      {"retrain", 2, 64, 0, "mixed"},  {"ft", 2, 100, 0, "mixed"},
      {"ga", 3, 64, 0, "mixed"},       {"rl", 2, 64, 0, "mixed"},
      {"l1sparse", 1, 64, 0, "mixed"}, {"salun", 2, 64, 0, "mixed"},
      {"bs", 2, 64, 0, "mixed"},       {"qmul", 2, 64, 0, "mixed"},
      {"qmul", 2, 100, 3, "mixed"},    {"qmul", 1, 64, 100, "sequential"},
      {"qmul", 2, 64, 0, "mixed", "confusion"},  {"qmul", 2, 100, 3, "mixed", "embedding"},
      {"qmul", 2, 64, 0, "sequential", "matrix"},
  };
  const size_t classes = f.model->classes();
  std::vector<double> ring(classes * classes, 0.0);
  for (size_t y = 0; y < classes; y++) ring[y * classes + (y + 1) % classes] = 1.0;
  for (const Case& c : cases) {
    INFO(c.method << " epochs " << c.epochs << " batch " << c.batch << " scan " << c.scan_batches
                  << " " << c.similarity);
    ForgetRequest request{f.forget, f.retain, c.method, {}};
    request.options.epochs = c.epochs;
    request.options.batch_size = c.batch;
    request.options.qmul_retain_scan_batches = c.scan_batches;
    request.options.qmul_mode = c.mode;
    request.options.qmul_similarity = c.similarity;
    if (c.similarity == "matrix") request.options.qmul_similarity_matrix = ring;
    auto method = MakeMethod(c.method);
    REQUIRE(method.ok());
    const std::optional<uint64_t> planned =
        method.value()->PlannedSamples(request.options, f.forget.size(), f.retain.size(), 0);
    REQUIRE(planned.has_value());
    auto session = ForgetSession::Start(*f.model, request);
    REQUIRE(session.ok());
    std::vector<EpochReport> reports;
    while (!session.value()->done()) REQUIRE(session.value()->Step(5, &reports).ok());
    CHECK(session.value()->samples_run() == *planned);
  }
  // Q-MUL with its scan capped at 3 batches of 100 scans 300 retain samples, not 480.
  UnlearnOptions capped;
  capped.epochs = 1;
  capped.batch_size = 100;
  capped.qmul_retain_scan_batches = 3;
  CHECK(MakeMethod("qmul").value()->PlannedSamples(capped, 60, 480, 0) == 3 * 60 + 300 + 480);
  // 'confusion' and 'embedding' read the scanned retain batches once more; a matrix needs
  // no similar-label pass over the forget set.
  capped.qmul_similarity = "confusion";
  CHECK(MakeMethod("qmul").value()->PlannedSamples(capped, 60, 480, 0) == 3 * 60 + 2 * 300 + 480);
  capped.qmul_similarity = "matrix";
  CHECK(MakeMethod("qmul").value()->PlannedSamples(capped, 60, 480, 0) == 2 * 60 + 300 + 480);
  // oeu draws retain batches inside its steps: no cost is claimed for it.
  CHECK_FALSE(MakeMethod("oeu").value()->PlannedSamples(UnlearnOptions(), 60, 480, 0).has_value());
}

// until 'unseen' predicts the held-out set after every epoch: part of the planned cost, and
// of what the method runs, epoch by epoch (the rule may end the forget early).
TEST_CASE("a method's planned samples count the stopping rule's held-out pass", "[unlearn]") {
  Fixture f = TrainedClassForget();
  std::vector<uint32_t> ids(30);
  for (uint32_t i = 0; i < ids.size(); i++) ids[i] = i;
  ForgetRequest request{f.forget, f.retain, "ga", {}};
  request.holdout = train::Subset(f.retain, ids);
  request.options.epochs = 3;
  request.options.until.kind = StopRule::Kind::kUnseen;
  const uint64_t per_epoch = f.forget.size() + request.holdout.size();  // ga: D_f once
  CHECK(MakeMethod("ga").value()->PlannedSamples(request.options, f.forget.size(), f.retain.size(),
                                                 request.holdout.size()) == 3 * per_epoch);
  auto session = ForgetSession::Start(*f.model, request);
  REQUIRE(session.ok());
  std::vector<EpochReport> reports;
  while (!session.value()->done()) REQUIRE(session.value()->Step(5, &reports).ok());
  REQUIRE(!reports.empty());
  CHECK(session.value()->samples_run() == reports.size() * per_epoch);
  // The other rules evaluate nothing besides the forget set.
  request.options.until = {StopRule::Kind::kForgetAccuracy, 0.5};
  CHECK(MakeMethod("ga").value()->PlannedSamples(request.options, f.forget.size(), f.retain.size(),
                                                 request.holdout.size()) == 3 * f.forget.size());
}

TEST_CASE("class-wise forgetting drops forget accuracy and keeps retain accuracy", "[unlearn]") {
  Fixture f = TrainedClassForget();
  REQUIRE(train::Evaluate(*f.model, f.forget).accuracy > 0.9f);
  for (const char* method : {"qmul", "rl", "ga"}) {
    INFO(method);
    ForgetRequest request{f.forget, f.retain, method, {}};
    request.options.epochs = 5;
    request.options.batch_size = 32;
    request.options.lr = 0.05f;
    std::vector<EpochReport> reports;
    auto result = RunToEnd(*f.model, request, &reports);
    const float fa = train::Evaluate(*result, f.forget).accuracy;
    const float ra = train::Evaluate(*result, f.retain).accuracy;
    INFO("FA " << fa << " RA " << ra);
    CHECK(fa < 0.5f);
    if (std::string(method) != "ga") CHECK(ra > 0.85f);  // ga does not look at D_r
    CHECK(reports.back().forget_accuracy == Approx(fa).margin(1e-6));
    // The deployment check: re-quantizing the shadow weights from scratch does not bring
    // the forgotten class back (the session snapped them to the grid it forgot with).
    auto requantized = RequantizedForgetAccuracy(*result, f.forget, f.retain);
    REQUIRE(requantized.ok());
    INFO("FA requantized " << requantized.value().value);
    CHECK(requantized.value().value < fa + 0.05);
  }
}

TEST_CASE("re-quantizing a trained model keeps what it knows", "[unlearn]") {
  Fixture f = TrainedClassForget();
  const double fa = train::Evaluate(*f.model, f.forget).accuracy;
  auto requantized = RequantizedForgetAccuracy(*f.model, f.forget, f.retain);
  REQUIRE(requantized.ok());
  INFO("FA " << fa << " requantized " << requantized.value().value);
  CHECK(requantized.value().value > fa - 0.05);  // the least-error steps are close to the learned ones
}

TEST_CASE("qmul's similar labels and weights follow the stated rule", "[unlearn]") {
  Fixture f = TrainedClassForget();
  const size_t c = f.model->classes();
  // Expected first-epoch labels, from the model before any update.
  Tensor probs;
  f.model->Forward(f.forget.x.data(), f.forget.size(), &probs, nn::Mode::kEval);
  train::Softmax(probs, &probs);
  std::vector<uint32_t> want(c * c, 0);
  for (size_t i = 0; i < f.forget.size(); i++) {
    const float* p = probs.data() + i * c;
    const size_t y = f.forget.y[i];
    size_t best = SIZE_MAX;
    for (size_t j = 0; j < c; j++) {
      if (j == y) continue;
      if (best == SIZE_MAX || std::fabs(p[j] - p[y]) < std::fabs(p[best] - p[y])) best = j;
    }
    want[y * c + best]++;
  }
  for (const char* mode : {"mixed", "sequential"}) {
    INFO(mode);
    ForgetRequest request{f.forget, f.retain, "qmul", {}};
    request.options.epochs = 2;
    request.options.batch_size = 32;
    request.options.qmul_mode = mode;
    std::vector<EpochReport> reports;
    RunToEnd(*f.model, request, &reports);
    REQUIRE(reports[0].qmul);
    const QmulEpoch& q = *reports[0].qmul;
    CHECK(q.similar_labels == want);
    for (size_t y = 0; y < c; y++) CHECK(q.similar_labels[y * c + y] == 0);  // never the true label
    CHECK(q.g_forget > 0);
    CHECK(q.g_retain > 0);
    CHECK(q.w_forget + q.w_retain == Approx(1.0));
    CHECK(q.w_forget == Approx(q.g_retain / (q.g_forget + q.g_retain)));
  }
  // A retain scan capped at one batch still yields weights.
  ForgetRequest capped{f.forget, f.retain, "qmul", {}};
  capped.options.epochs = 1;
  capped.options.qmul_retain_scan_batches = 1;
  std::vector<EpochReport> reports;
  RunToEnd(*f.model, capped, &reports);
  CHECK(reports[0].qmul->w_retain > 0);
}

TEST_CASE("bad forget requests are refused", "[unlearn]") {
  Fixture f = TrainedClassForget();
  auto refused = [&](ForgetRequest request, const std::string& fragment) {
    auto session = ForgetSession::Start(*f.model, std::move(request));
    REQUIRE(!session.ok());
    INFO(session.status().message());
    CHECK(session.status().code() == StatusCode::kInvalidArgument);
    CHECK(session.status().message().find(fragment) != std::string::npos);
  };
  refused({f.forget, f.retain, "sorcery", {}}, "method must be one of");
  train::Dataset empty;
  empty.sample = f.forget.sample;
  refused({empty, f.retain, "qmul", {}}, "forget is empty");
  train::Dataset bad = f.forget;
  bad.y[0] = 200;
  refused({bad, f.retain, "qmul", {}}, "forget.y[0] = 200");
  ForgetRequest options{f.forget, f.retain, "qmul", {}};
  options.options.qmul_mode = "parallel";
  refused(options, "qmulMode");
  options = {f.forget, f.retain, "qmul", {}};
  options.options.qmul_scan_mode = "inference";
  refused(options, "qmulScanMode must be 'train' or 'eval', got 'inference'");
  options = {f.forget, f.retain, "qmul", {}};
  options.options.epochs = 0;
  refused(options, "epochs");
  // The similar-label rule and its matrix (9 classes).
  const size_t c = f.model->classes();
  std::vector<double> ring(c * c, 0.0);
  for (size_t y = 0; y < c; y++) ring[y * c + (y + 1) % c] = 1.0;
  auto similarity = [&](const std::string& rule, std::vector<double> matrix) {
    ForgetRequest r{f.forget, f.retain, "qmul", {}};
    r.options.qmul_similarity = rule;
    r.options.qmul_similarity_matrix = std::move(matrix);
    return r;
  };
  REQUIRE(ForgetSession::Start(*f.model, similarity("matrix", ring)).ok());  // the base case
  refused(similarity("nearest", {}), "qmulSimilarity must be 'prediction', 'confusion', "
                                     "'embedding' or a numClasses x numClasses similarity matrix");
  refused(similarity("matrix", {}), "qmulSimilarity 'matrix' needs the matrix itself");
  refused(similarity("confusion", ring), "a qmulSimilarity matrix goes with the rule 'matrix'");
  std::vector<double> small(8 * 8, 0.0);
  for (size_t y = 0; y < 8; y++) small[y * 8 + (y + 1) % 8] = 1.0;
  refused(similarity("matrix", small),
          "qmulSimilarity is 8 x 8, the model has 9 classes: it must be 9 x 9");
  refused(similarity("matrix", std::vector<double>(80, 1.0)), "qmulSimilarity is 80 values");
  std::vector<double> nan = ring;
  nan[4] = std::nan("");
  refused(similarity("matrix", nan), "the similarity at index 4 (row-major) is not a finite number");
  std::vector<double> inf = ring;
  inf[10] = INFINITY;
  refused(similarity("matrix", inf), "index 10");
  std::vector<double> none = ring;
  for (size_t j = 0; j < c; j++) none[2 * c + j] = j == 2 ? 5.0 : (j == 4 ? -1.0 : 0.0);
  refused(similarity("matrix", none),
          "qmulSimilarity[2] has no similarity > 0 off the diagonal: it names no class similar "
          "to class 2");
}

TEST_CASE("a diverging forget fails, is never done and has no result", "[unlearn]") {
  Fixture f = TrainedClassForget();
  for (int epochs : {1, 2}) {
    INFO("epochs " << epochs);
    ForgetRequest request{f.forget, f.retain, "ft", {}};
    request.options.epochs = epochs;
    request.options.lr = 1e30f;
    auto session = ForgetSession::Start(*f.model, std::move(request));
    REQUIRE(session.ok());
    std::vector<EpochReport> reports;
    Status status = OkStatus();
    while (status.ok() && !session.value()->done()) status = session.value()->Step(3, &reports);
    REQUIRE(!status.ok());
    CHECK(status.code() == StatusCode::kFailedPrecondition);
    CHECK(status.message().find("diverged") != std::string::npos);
    CHECK(!session.value()->done());
    CHECK(!session.value()->Step(1, &reports).ok());
  }
}

}  // namespace
}  // namespace qf::unlearn
