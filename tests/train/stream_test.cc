// Streamed datasets: the window shuffle's order, the window the stream holds, and the
// promise that matters: fit and every unlearning method give the same model bytes on a
// streamed dataset as on the same samples in memory read with the same window, while
// never holding more than window + batch samples.
#include <catch.hpp>
#include <algorithm>
#include <numeric>

#include "io/model_file.h"
#include "train/stream.h"
#include "train/synthetic.h"
#include "train/trainer.h"
#include "unlearn/forget.h"
#include "unlearn/unlearn_test_util.h"

namespace qf::train {
namespace {

// Samples [from, from + n) of `data`.
Dataset Slice(const Dataset& data, size_t from, size_t n) {
  std::vector<uint32_t> ids(n);
  std::iota(ids.begin(), ids.end(), uint32_t(from));
  return Subset(data, ids);
}

// A stream of `data`'s samples, counted (pushed through once in chunks of `chunk`).
std::shared_ptr<SampleStream> Counted(const Dataset& data, size_t classes, size_t chunk = 50) {
  auto stream = std::make_shared<SampleStream>(data.sample, data.input, classes);
  for (size_t at = 0; at < data.size(); at += chunk) {
    REQUIRE(stream->Push(Slice(data, at, std::min(chunk, data.size() - at)), "batch").ok());
  }
  REQUIRE(stream->End("data").ok());
  return stream;
}

// What an embedder does between steps: pushes what the stream waits for, from `source`
// (iterated from its start on each new pass), in chunks of `chunk`. Counts the passes.
struct Feeder {
  const Dataset* source;
  size_t chunk = 37;
  uint64_t passes = 1;

  void Feed(SampleStream& stream) {
    for (SampleStream::Demand d = stream.demand(); d.count > 0; d = stream.demand()) {
      passes = std::max(passes, d.pass);
      REQUIRE(stream.Push(Slice(*source, d.from, std::min(chunk, d.count)), "batch").ok());
    }
  }
};

std::vector<uint8_t> Bytes(nn::Model& model) { return io::SaveModel(model).value(); }

TEST_CASE("a window shuffle reads each sample once, never before it can have arrived",
          "[engine][stream]") {
  for (size_t window : {1, 7, 64, 300}) {
    INFO("window " << window);
    Rng rng(5);
    const std::vector<uint32_t> order = ShuffleOrder(300, window, rng);
    std::vector<uint32_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<uint32_t> all(300);
    std::iota(all.begin(), all.end(), 0u);
    CHECK(sorted == all);
    for (size_t k = 0; k < order.size(); k++) REQUIRE(order[k] < window + k);
    if (window > 1) CHECK(order != all);  // shuffled
  }
  // The whole set in the window: the full shuffle fit has always drawn.
  Rng a(9), b(9);
  std::vector<uint32_t> full(50);
  std::iota(full.begin(), full.end(), 0u);
  b.Shuffle(full.data(), full.size());
  CHECK(ShuffleOrder(50, 0, a) == full);
  Rng c(9);
  CHECK(ShuffleOrder(50, 50, c) == full);
}

TEST_CASE("a stream holds what a pass waits for and starts over for what went by",
          "[engine][stream]") {
  const Dataset data = test::SyntheticImages(100, 12, 9, 3);
  auto stream = Counted(data, 9);
  REQUIRE(stream->size() == 100);
  REQUIRE(stream->Open(4, 2, "retain").ok());
  CHECK(stream->Open(4, 2, "retain").code() == StatusCode::kFailedPrecondition);

  const uint32_t first[] = {3, 1};
  CHECK(stream->Missing(first, 2) == 4);  // samples 0..3 must arrive
  CHECK(stream->demand().count == 4);
  CHECK(stream->Push(Slice(data, 0, 5), "batch").code() == StatusCode::kInvalidArgument);
  REQUIRE(stream->Push(Slice(data, 0, 4), "batch").ok());
  CHECK(stream->Missing(first, 2) == 0);
  uint8_t x[144];
  Label y;
  stream->Take(3, x, &y);
  CHECK(std::equal(x, x + 144, data.x.begin() + 3 * 144));
  CHECK(y == data.y[3]);
  stream->Take(1, x, &y);
  // Sample 3 went by: asking for it again starts pass 2 from the first sample.
  const uint32_t again[] = {3};
  CHECK(stream->Missing(again, 1) == 4);
  CHECK(stream->demand().pass == 3);  // 1 counted the stream, 2 was the first read
  CHECK(stream->demand().from == 0);
  // A pass that gives other samples than the first pass did is refused.
  Dataset changed = Slice(data, 0, 4);
  changed.x[2 * 144 + 7] ^= 1;
  const Status status = stream->Push(changed, "batch");
  CHECK(status.code() == StatusCode::kDataLoss);
  CHECK(status.message().find("sample 2") != std::string::npos);
}

TEST_CASE("a stream refuses bad batches, an empty first pass and a pass that ends early",
          "[engine][stream]") {
  const Dataset data = test::SyntheticImages(20, 12, 9, 3);
  SampleStream empty(data.sample, data.input, 9);
  CHECK(empty.End("data").code() == StatusCode::kInvalidArgument);
  CHECK(empty.Open(4, 2, "retain").code() == StatusCode::kFailedPrecondition);

  SampleStream stream(data.sample, data.input, 5);  // labels must be < 5
  Dataset bad = Slice(data, 0, 20);
  std::fill(bad.y.begin(), bad.y.end(), 0);
  bad.y[4] = 7;
  const Status label = stream.Push(bad, "options.retain batch 1");
  CHECK(label.code() == StatusCode::kInvalidArgument);
  CHECK(label.message().find("options.retain batch 1.y[4] = 7") != std::string::npos);
  Dataset other = test::SyntheticImages(3, 8, 5, 1);
  CHECK(stream.Push(other, "b").code() == StatusCode::kInvalidArgument);  // 8x8 samples

  auto counted = Counted(data, 9);
  REQUIRE(counted->Open(4, 4, "retain").ok());
  const uint32_t last[] = {19};
  CHECK(counted->Missing(last, 1) == 20);
  REQUIRE(counted->Push(Slice(data, 0, 8), "batch").ok());
  const Status ended = counted->End("data");
  CHECK(ended.code() == StatusCode::kDataLoss);
  CHECK(ended.message().find("ended after 8 samples in pass 2") != std::string::npos);
}

TEST_CASE("fit on a stream gives the bytes fit gives on the same samples in memory",
          "[engine][stream]") {
  const Dataset data = test::SyntheticImages(300, 12, 9, 4);
  for (size_t window : {16, 400}) {  // a small window, and one that holds the whole set
    INFO("window " << window);
    FitOptions o;
    o.epochs = 2;
    o.batch_size = 32;
    o.lr = 0.01f;
    o.shuffle_window = window;
    auto in_memory = nn::Model::Create(unlearn::test_util::MlpSpec()).value();
    auto streamed = in_memory->Copy().value();
    REQUIRE(Fit(*in_memory, data, o).ok());

    auto stream = Counted(data, 9);
    auto trainer = Trainer::Create(streamed.get(), stream.get(), o);
    REQUIRE(trainer.ok());
    Feeder feeder{&data};
    while (!trainer.value()->done()) {
      REQUIRE(trainer.value()->Step(5).ok());
      feeder.Feed(*stream);
    }
    CHECK(feeder.passes == 3);  // the counting pass and one per epoch
    CHECK(Bytes(*streamed) == Bytes(*in_memory));
  }
}

}  // namespace
}  // namespace qf::train

namespace qf::unlearn {
namespace {

TEST_CASE("every method forgets the same on a streamed retain set as on it in memory",
          "[engine][stream]") {
  test_util::Fixture f = test_util::TrainedClassForget();
  for (const std::string& method : MethodNames()) {
    for (const char* mode : {"mixed", "sequential"}) {
      if (method != "qmul" && std::string(mode) == "sequential") continue;
      INFO(method << " " << mode);
      ForgetRequest request{f.forget, f.retain, method, {}};
      request.options.epochs = 2;
      request.options.batch_size = 32;
      request.options.shuffle_window = 24;  // well below the ~480 retain samples
      request.options.qmul_mode = mode;
      request.options.qmul_retain_scan_batches = 3;
      std::vector<EpochReport> reports;
      const auto in_memory = test_util::RunToEnd(*f.model, request, &reports);

      request.retain = train::Dataset();
      request.retain_stream = train::Counted(f.retain, 9);
      auto session = ForgetSession::Start(*f.model, request);
      REQUIRE(session.ok());
      train::Feeder feeder{&f.retain};
      std::vector<EpochReport> streamed_reports;
      while (!session.value()->done()) {
        REQUIRE(session.value()->Step(4, &streamed_reports).ok());
        feeder.Feed(*request.retain_stream);
      }
      const auto streamed = session.value()->TakeResult();
      CHECK(train::Bytes(*streamed) == train::Bytes(*in_memory));
      REQUIRE(streamed_reports.size() == reports.size());
      CHECK(streamed_reports.back().forget_accuracy == reports.back().forget_accuracy);
      if (method != "ga" && method != "bs") CHECK(feeder.passes > 2);
    }
  }
}

}  // namespace
}  // namespace qf::unlearn
