// The engine's worker threads: one pool per process (per wasm instance), its threads
// started once, when SetThreads first asks for more than one, and reused by every call.
//
// ParallelFor hands out task indices; which thread runs which task is left to chance, so
// a caller must make the result independent of it: every task writes its own outputs,
// and nothing is summed across tasks (a reduction is done afterwards, in a fixed order,
// by the caller). Then the result is the same bytes at any thread count, which is what
// qforget promises (one seed, one request: one model, on any device).
//
// In builds without threads (the single-threaded wasm modules) the pool has one thread,
// the caller's. Not reentrant: a ParallelFor inside a task runs its tasks inline.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/status.h"

namespace qf {

// The most threads a pool runs (the caller's included).
constexpr size_t kMaxThreads = 16;

// Whether this build can run more than one thread.
bool ThreadsAvailable();

// Sets how many threads parallel work uses, the caller's included: 1 to kMaxThreads
// (InvalidArgument otherwise; FailedPrecondition above 1 in a build without threads).
// Starts the threads missing (their stacks come from the heap) and keeps them; fewer
// than started just leaves some idle. Not to be called while a ParallelFor runs.
Status SetThreads(size_t threads);
size_t Threads();

namespace internal {
void ParallelFor(size_t tasks, void (*fn)(void* context, size_t task), void* context);
}  // namespace internal

// Runs fn(task) for every task in [0, tasks) on the pool's threads (the caller's among
// them) and returns once all have run. Inline, in order, with one thread or one task.
template <typename Fn>
void ParallelFor(size_t tasks, Fn&& fn) {
  using F = std::remove_reference_t<Fn>;
  internal::ParallelFor(
      tasks, [](void* context, size_t task) { (*static_cast<F*>(context))(task); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

// One threshold: work shorter than about 10 us stays on one thread, where handing it to
// the pool costs more than it saves. It was measured on the int8 GEMM (bench/RESULTS.md,
// threads) as a count of multiply-adds; the other constants are the same time counted in
// their own units, so each caller compares its work in the unit it can count.
//   kParallelMacs: GEMM multiply-adds (u8s8_gemm/driver.cc, f32_gemm/registry.cc).
constexpr size_t kParallelMacs = size_t(1) << 18;
//   kParallelSteps: a SIMD kernel's estimated vector steps, at 4 multiply-adds a step.
constexpr size_t kParallelSteps = kParallelMacs / 4;
//   kParallelElements: elements of simple element-wise work (a loop body of a few
//   operations, about a nanosecond each), also the pieces such loops and SumRows are cut
//   into (which fix their sums' order: changing the value changes the bytes).
constexpr size_t kParallelElements = kParallelMacs / 16;

// How many tasks to cut `steps` of work into, at most `most`: one per thread, or one.
inline size_t TasksFor(size_t steps, size_t most) {
  return steps < kParallelSteps ? 1 : std::max<size_t>(1, std::min(Threads(), most));
}

// Runs fn(lo, hi) over [0, n) cut into pieces of `grain` (the last may be shorter), the
// pieces spread over the pool as tasks. A piece's bounds depend on n and grain only,
// never on the thread count: a caller may reduce within each piece and then add up the
// pieces in order, and get the same bytes at any thread count.
template <typename Fn>
void ParallelForPieces(size_t n, size_t grain, Fn&& fn) {
  grain = std::max<size_t>(grain, 1);
  ParallelFor((n + grain - 1) / grain,
              [&](size_t piece) { fn(piece * grain, std::min(n, (piece + 1) * grain)); });
}

// For a rows x cols matrix, rows apart by cols: fn(r0, r1) runs an element-wise pass over
// rows [r0, r1) ...
template <typename Fn>
void ParallelForRows(size_t rows, size_t cols, Fn&& fn) {
  ParallelForPieces(rows, kParallelElements / std::max<size_t>(cols, 1), fn);
}

// n value-initialized T's on cache lines of their own: a task's scratch that it writes
// often. Two tasks' small heap blocks can be neighbours, and would share a line at each
// end, which at every write passes from one core's cache to the other's.
template <typename T>
class LineBuffer {
 public:
  explicit LineBuffer(size_t n) : storage_(n + 2 * kLine) {}
  T* data() {
    const size_t at = reinterpret_cast<uintptr_t>(storage_.data()) / sizeof(T);
    return storage_.data() + (kLine - at % kLine) % kLine;
  }
  T& operator[](size_t i) { return data()[i]; }

 private:
  static_assert(64 % sizeof(T) == 0, "a cache line holds whole T's");
  static constexpr size_t kLine = 64 / sizeof(T);
  std::vector<T> storage_;
};

// ... and sums over the rows, by pieces of `grain` rows: add(r, acc) adds row r's terms
// to acc[0, width). Each piece sums its rows in order from zeros, in a buffer of its own
// (threads summing into one array would share its cache lines), and the pieces are added
// to sums[0, width) in order. When the grain depends on rows and width only, so do the
// pieces, and the sums are the same bytes at any thread count; with one piece (rows <=
// grain) they are one chain from sums' values.
template <typename T, typename Add>
void SumRowPieces(size_t rows, size_t grain, size_t width, T* sums, Add&& add) {
  grain = std::max<size_t>(grain, 1);
  if (rows <= grain) {
    for (size_t r = 0; r < rows; r++) add(r, sums);
    return;
  }
  std::vector<T> partial((rows + grain - 1) / grain * width);
  ParallelForPieces(rows, grain, [&](size_t r0, size_t r1) {
    LineBuffer<T> acc(width);
    for (size_t r = r0; r < r1; r++) add(r, acc.data());
    std::copy(acc.data(), acc.data() + width, partial.begin() + r0 / grain * width);
  });
  for (size_t i = 0; i < partial.size(); i++) sums[i % width] += partial[i];
}

// SumRowPieces for rows of about `width` elements of work: pieces of kParallelElements.
template <typename T, typename Add>
void SumRows(size_t rows, size_t width, T* sums, Add&& add) {
  SumRowPieces(rows, kParallelElements / std::max<size_t>(width, 1), width, sums, add);
}

}  // namespace qf
