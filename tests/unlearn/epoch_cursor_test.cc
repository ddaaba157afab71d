// EpochCursor: an epoch written top to bottom (Once blocks and passes over batches) and
// called again and again with small budgets does exactly what one call with a large
// budget does, in the same order: each Once body once, each batch once, nothing after a
// pass that ran out of budget.
#include <catch.hpp>
#include <string>
#include <vector>

#include "unlearn/method.h"

namespace qf::unlearn {
namespace {

std::vector<Batch> Batches(size_t count, size_t size) {
  std::vector<Batch> out(count);
  for (size_t i = 0; i < count; i++) out[i].assign(size, SampleRef{false, uint32_t(i)});
  return out;
}

// An epoch of set-up, a pass of 3 batches, a computation, an empty pass, a pass of 2
// batches and a report; `log` records what ran.
void Epoch(EpochCursor& at, const std::vector<Batch>& first, const std::vector<Batch>& second,
           std::vector<std::string>* log) {
  if (at.Once()) log->push_back("setup");
  for (const Batch& b : at.Batches(first)) log->push_back("first " + std::to_string(b[0].index));
  if (at.Once()) log->push_back("between");
  for (const Batch& b : at.Batches(std::vector<Batch>()))
    log->push_back("never " + std::to_string(b.size()));
  for (const Batch& b : at.Batches(second)) log->push_back("second " + std::to_string(b[0].index));
  if (at.Once()) log->push_back("report");
}

TEST_CASE("an epoch run in small steps does what one step does", "[unlearn]") {
  const std::vector<Batch> first = Batches(3, 4), second = Batches(2, 5);
  const std::vector<std::string> whole = {"setup",   "first 0",  "first 1",  "first 2",
                                          "between", "second 0", "second 1", "report"};
  for (size_t budget : {1, 2, 3, 4, 5, 100}) {
    INFO("budget " << budget);
    EpochCursor at;
    std::vector<std::string> log;
    int calls = 0;
    for (int epoch = 0; epoch < 2; epoch++) {
      do {
        at.Resume(budget);
        const size_t before = log.size();
        Epoch(at, first, second, &log);
        calls++;
        size_t batches = 0;
        for (size_t i = before; i < log.size(); i++)
          batches += log[i].find(' ') != std::string::npos;
        CHECK(batches <= budget);  // never more batches than the step allows
      } while (!at.finished());
      at.NextEpoch();
    }
    std::vector<std::string> twice = whole;
    twice.insert(twice.end(), whole.begin(), whole.end());
    CHECK(log == twice);
    CHECK(at.samples() == 2 * (3 * 4 + 2 * 5));
    // Five batches per epoch: as many calls as the budget needs.
    CHECK(calls == 2 * int((5 + budget - 1) / budget));
  }
}

TEST_CASE("a pass that runs out of budget ends the call", "[unlearn]") {
  const std::vector<Batch> first = Batches(3, 1), second = Batches(2, 1);
  EpochCursor at;
  std::vector<std::string> log;
  at.Resume(2);
  Epoch(at, first, second, &log);
  CHECK(log == std::vector<std::string>{"setup", "first 0", "first 1"});
  CHECK_FALSE(at.finished());
  at.Resume(1);
  Epoch(at, first, second, &log);
  // The pass ended with the budget: the Once after it runs, the next pass waits.
  CHECK(log.back() == "between");
  CHECK_FALSE(at.finished());
  at.Resume(5);
  Epoch(at, first, second, &log);
  CHECK(log.back() == "report");
  CHECK(at.finished());
}

}  // namespace
}  // namespace qf::unlearn
