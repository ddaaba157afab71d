// The worker threads behind ParallelFor: a job (a task counter the threads draw from) is
// published in an atomic job word; workers poll it for a while after each job, then
// sleep on a condition variable, draw tasks until none is left, and the last to finish
// tells the caller, which has been drawing tasks too.
#include "core/thread_pool.h"

#include <string>

#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
#define QF_NO_THREADS 1
#else
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#endif

namespace qf {
namespace {

size_t g_threads = 1;  // what SetThreads asked for

void RunInline(size_t tasks, void (*fn)(void*, size_t), void* context) {
  for (size_t t = 0; t < tasks; t++) fn(context, t);
}

#if !defined(QF_NO_THREADS)

thread_local bool t_in_task = false;

class Pool {
 public:
  // Starts workers until there are `helpers`.
  void Start(size_t helpers) {
    std::lock_guard<std::mutex> lock(mu_);
    StartLocked(helpers);
  }

  // Runs the job on the caller and `helpers` workers (started here when missing).
  void Run(size_t helpers, size_t tasks, void (*fn)(void*, size_t), void* context) {
    fn_ = fn, context_ = context, tasks_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    busy_.store(helpers, std::memory_order_relaxed);
    bool sleepers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      StartLocked(helpers);
      const uint64_t job = job_.load(std::memory_order_relaxed);
      job_.store(((job >> kHelperBits) + 1) << kHelperBits | helpers, std::memory_order_release);
      sleepers = sleepers_ > 0;
    }
    if (sleepers) wake_.notify_all();
    Draw();
    const auto done = [this] { return busy_.load(std::memory_order_acquire) == 0; };
    for (size_t i = 0; i < kSpins && !done(); i++) {
    }
    if (!done()) {
      std::unique_lock<std::mutex> lock(mu_);
      finished_.wait(lock, done);
    }
  }

 private:
  // A job word: a generation count above, the number of helpers it wants below, read in
  // one load so that a worker never pairs one job's generation with another's helpers.
  static constexpr int kHelperBits = 8;  // kMaxThreads - 1 fits
  // How long a worker (and the caller, for the workers) polls before it sleeps: a job
  // mostly follows the last within microseconds (the passes of one layer), and waking
  // from a condition variable takes tens of them. About 50-100 us of atomic loads.
  static constexpr size_t kSpins = size_t(1) << 16;

  void Work(size_t index) {
    t_in_task = true;  // a ParallelFor inside a task runs inline
    uint64_t seen = 0;
    bool helped = false;
    for (;;) {
      // A worker left out of the last job does not poll: more threads than cores (a
      // smaller count after a larger one) would only take cores from those working.
      seen = NextJob(seen, helped);
      helped = index < (seen & ((1u << kHelperBits) - 1));
      if (!helped) continue;
      Draw();
      if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_);  // the caller may be between its check and wait
        finished_.notify_one();
      }
    }
  }

  // The job word after `seen`: polled for a while if `poll`, then waited for.
  uint64_t NextJob(uint64_t seen, bool poll) {
    for (size_t i = 0; poll && i < kSpins; i++) {
      const uint64_t job = job_.load(std::memory_order_acquire);
      if (job != seen) return job;
    }
    std::unique_lock<std::mutex> lock(mu_);
    sleepers_++;
    wake_.wait(lock, [&] { return job_.load(std::memory_order_acquire) != seen; });
    sleepers_--;
    return job_.load(std::memory_order_acquire);
  }

  void StartLocked(size_t helpers) {
    while (workers_.size() < helpers) {
      workers_.emplace_back([this, index = workers_.size()] { Work(index); });
    }
  }

  // Runs tasks of the current job until none is left.
  void Draw() {
    for (size_t t; (t = next_.fetch_add(1, std::memory_order_relaxed)) < tasks_;) fn_(context_, t);
  }

  std::mutex mu_;
  std::condition_variable wake_, finished_;
  std::vector<std::thread> workers_;
  size_t sleepers_ = 0;  // workers waiting on wake_ (under mu_)
  std::atomic<uint64_t> job_{0};
  std::atomic<size_t> busy_{0};  // helpers of the current job not yet done
  // The job: written before job_ is published, read by its helpers after they see it;
  // the next job is not published before every helper of this one is done.
  void (*fn_)(void*, size_t) = nullptr;
  void* context_ = nullptr;
  size_t tasks_ = 0;
  std::atomic<size_t> next_{0};
};

Pool& ThePool() {
  static Pool* pool = new Pool();  // never destroyed: its threads live as long as the process
  return *pool;
}

#endif

}  // namespace

bool ThreadsAvailable() {
#if defined(QF_NO_THREADS)
  return false;
#else
  return true;
#endif
}

Status SetThreads(size_t threads) {
  if (threads < 1 || threads > kMaxThreads) {
    return InvalidArgument("threads must be in [1, " + std::to_string(kMaxThreads) + "], got " +
                           std::to_string(threads));
  }
  if (threads > 1 && !ThreadsAvailable()) {
    return FailedPrecondition("this build runs one thread (" + std::to_string(threads) +
                              " asked for)");
  }
  g_threads = threads;
#if !defined(QF_NO_THREADS)
  // Now, not at the first parallel loop: each thread's stack comes from the heap, and
  // that is better taken before any work has reserved memory (core/memory.h).
  if (threads > 1) ThePool().Start(threads - 1);
#endif
  return OkStatus();
}

size_t Threads() { return g_threads; }

namespace internal {

void ParallelFor(size_t tasks, void (*fn)(void*, size_t), void* context) {
#if defined(QF_NO_THREADS)
  RunInline(tasks, fn, context);
#else
  if (g_threads == 1 || tasks <= 1 || t_in_task) return RunInline(tasks, fn, context);
  t_in_task = true;
  ThePool().Run(std::min(g_threads, tasks) - 1, tasks, fn, context);
  t_in_task = false;
#endif
}

}  // namespace internal
}  // namespace qf
