// The thread pool: every task runs exactly once at any thread count, nested calls run
// inline, results written per task and sums over rows (SumRows) are the same bytes at
// any thread count, and bad thread counts are refused.
#include <catch.hpp>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

#include "core/thread_pool.h"
#include "test_util.h"

namespace qf {
namespace {

TEST_CASE("ParallelFor runs every task once, at any thread count", "[engine][threads]") {
  test::OneThreadAfter restore;
  for (size_t threads : {1, 2, 3, 4, 16}) {
    if (threads > 1 && !ThreadsAvailable()) break;  // a single-threaded build
    REQUIRE(SetThreads(threads).ok());
    CHECK(Threads() == threads);
    for (size_t tasks : {0, 1, 2, 5, 64, 1000}) {
      INFO(threads << " threads, " << tasks << " tasks");
      std::vector<std::atomic<int>> runs(tasks);
      ParallelFor(tasks, [&](size_t t) { runs[t]++; });
      for (size_t t = 0; t < tasks; t++) REQUIRE(runs[t] == 1);
    }
  }
}

TEST_CASE("a ParallelFor inside a task runs inline, and results do not depend on threads",
          "[engine][threads]") {
  test::OneThreadAfter restore;
  const auto compute = [] {
    std::vector<double> out(40 * 30);
    ParallelFor(40, [&](size_t i) {
      ParallelFor(30, [&](size_t j) {
        double s = 0;
        for (size_t k = 0; k < 100; k++) s += 1.0 / double(i * 31 + j * 7 + k + 1);
        out[i * 30 + j] = s;
      });
    });
    return out;
  };
  REQUIRE(SetThreads(1).ok());
  const std::vector<double> one = compute();
  for (size_t threads : {2, 3, 4}) {
    if (!ThreadsAvailable()) break;
    REQUIRE(SetThreads(threads).ok());
    CHECK(compute() == one);
  }
}

TEST_CASE("ParallelFor spreads tasks over threads", "[engine][threads]") {
  if (!ThreadsAvailable()) return;
  test::OneThreadAfter restore;
  REQUIRE(SetThreads(4).ok());
  // Tasks that wait for one another can only all finish if they run at the same time.
  std::atomic<int> arrived{0};
  ParallelFor(4, [&](size_t) {
    arrived++;
    while (arrived.load() < 4) {
    }
  });
  CHECK(arrived == 4);
}

TEST_CASE("SumRows: one chain per piece, the pieces in order, the same bytes at any thread count",
          "[engine][threads]") {
  test::OneThreadAfter restore;
  // Values whose float sums depend on the order: 1, then tiny terms a chain from 1 loses.
  const size_t width = 3;
  const auto term = [](size_t r, size_t c) { return r == 0 ? 1.0f : 1e-8f * float(1 + c); };
  const auto sum = [&](size_t rows) {
    std::vector<float> sums(width, 0.5f);
    SumRows(rows, width, sums.data(), [&](size_t r, float* acc) {
      for (size_t c = 0; c < width; c++) acc[c] += term(r, c);
    });
    return sums;
  };
  const size_t grain = kParallelElements / width;
  for (size_t rows : {size_t(0), grain, 5 * grain + 7}) {
    INFO(rows << " rows");
    // What SumRows promises, written out: each piece from zero, then sums + pieces in order.
    std::vector<float> want(width, 0.5f);
    if (rows <= grain) {
      for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < width; c++) want[c] += term(r, c);
      }
    } else {
      for (size_t r0 = 0; r0 < rows; r0 += grain) {
        for (size_t c = 0; c < width; c++) {
          float piece = 0.0f;
          for (size_t r = r0; r < std::min(rows, r0 + grain); r++) piece += term(r, c);
          want[c] += piece;
        }
      }
    }
    for (size_t threads : {1, 2, 3, 4}) {
      if (threads > 1 && !ThreadsAvailable()) break;
      REQUIRE(SetThreads(threads).ok());
      CHECK(sum(rows) == want);
    }
  }
}

TEST_CASE("LineBuffer: zeroed values on cache lines of their own", "[engine][threads]") {
  for (size_t n : {size_t(1), size_t(3), size_t(16), size_t(17)}) {
    INFO(n << " values");
    // Allocated between others, so that its storage does not start on a line by chance.
    std::vector<std::unique_ptr<char[]>> around;
    around.emplace_back(new char[5]);
    LineBuffer<float> floats(n);
    around.emplace_back(new char[3]);
    LineBuffer<double> doubles(n);
    CHECK(reinterpret_cast<uintptr_t>(floats.data()) % 64 == 0);
    CHECK(reinterpret_cast<uintptr_t>(doubles.data()) % 64 == 0);
    for (size_t i = 0; i < n; i++) {
      CHECK(floats[i] == 0.0f);
      CHECK(doubles[i] == 0.0);
    }
    // The line after the last value is the buffer's too: writing it all touches nothing else.
    std::fill(floats.data(), floats.data() + (n + 15) / 16 * 16, 1.0f);
    std::fill(doubles.data(), doubles.data() + (n + 7) / 8 * 8, 1.0);
  }
}

TEST_CASE("bad thread counts are refused", "[engine][threads]") {
  test::OneThreadAfter restore;
  CHECK(SetThreads(0).code() == StatusCode::kInvalidArgument);
  CHECK(SetThreads(kMaxThreads + 1).code() == StatusCode::kInvalidArgument);
  CHECK(Threads() == 1);
  if (!ThreadsAvailable()) CHECK(SetThreads(2).code() == StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace qf
