// The worker threads behind ParallelFor: a job (a task counter the threads draw from) is
// published under a mutex; workers wake, draw tasks until none is left, and the last to
// finish tells the caller, which has been drawing tasks too.
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
    std::unique_lock<std::mutex> lock(mu_);
    StartLocked(helpers);
    fn_ = fn, context_ = context, tasks_ = tasks, helpers_ = helpers;
    next_.store(0, std::memory_order_relaxed);
    busy_ = helpers;
    generation_++;
    lock.unlock();
    wake_.notify_all();
    Draw();
    lock.lock();
    finished_.wait(lock, [this] { return busy_ == 0; });
  }

 private:
  void Work(size_t index) {
    t_in_task = true;  // a ParallelFor inside a task runs inline
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (index >= helpers_) continue;  // not needed for this job
      lock.unlock();
      Draw();
      lock.lock();
      if (--busy_ == 0) finished_.notify_one();
    }
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
  uint64_t generation_ = 0;
  size_t helpers_ = 0, busy_ = 0;
  // The job: read by workers after they see the generation change (under mu_).
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
