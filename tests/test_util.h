// Helpers shared by the Catch2 tests: the environment (also under wasm), seeded random
// data (the seed is printed with every failure), what to do when something installed
// from outside the tree is missing, and output buffers with guard bytes around the
// region a kernel owns.
#pragma once

#include <catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"

#if defined(__EMSCRIPTEN__)
#include <emscripten.h>
#endif

namespace qf::test {

// Restores one thread when a test ends, whatever happens (tests that SetThreads).
struct OneThreadAfter {
  ~OneThreadAfter() { (void)SetThreads(1); }
};

// The environment variable `name` of the test process ("" when unset). Under wasm the
// tests run in Node, whose process.env emscripten's getenv does not see.
inline std::string EnvVar(const char* name) {
#if defined(__EMSCRIPTEN__)
  char value[256] = {};
  EM_ASM(
      {
        const v = process.env[UTF8ToString($0)];
        if (v) stringToUTF8(v, $1, $2);
      },
      name, value, sizeof value);
  return value;
#else
  const char* value = std::getenv(name);
  return value ? value : "";
#endif
}

// A generator whose seed shows up in every failure message of the current scope.
// QF_TEST_SEED in the environment replays a given seed.
inline uint64_t TestSeed() {
  static const uint64_t seed = [] {
    const std::string env = EnvVar("QF_TEST_SEED");
    return env.empty() ? uint64_t(std::random_device{}()) : std::strtoull(env.c_str(), nullptr, 10);
  }();
  return seed;
}

// Whether this is a CI run: CI set to anything but "", "0" or "false" (CI=true).
inline bool InCi() {
  const std::string ci = EnvVar("CI");
  return !ci.empty() && ci != "0" && ci != "false";
}

// For a test that needs something from outside the tree (Fashion-MNIST from
// dataset-fashion-mnist, libsvm's svm-train, a runnable gzip): true when it is `present`.
// When it is not, the test must stop: under CI it FAILS (npm test installs all of them
// with scripts/setup.sh, so missing there means a broken machine, not a pass); elsewhere
// it is skipped with a warning and this returns false. Use as
//   if (!test::PresentOrSkip(present, "what is missing (Debian: package)")) return;
inline bool PresentOrSkip(bool present, const std::string& what) {
  if (present) return true;
  if (InCi()) FAIL(what << " is missing, and CI is set: scripts/setup.sh installs it");
  WARN(what << " is missing: skipped (with CI=true this fails)");
  return false;
}

template <typename T>
std::vector<T> RandomInts(std::mt19937_64& rng, size_t n, int lo, int hi) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = T(dist(rng));
  return v;
}

inline std::vector<float> RandomFloats(std::mt19937_64& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// A rows x cols matrix with `ld` >= cols elements between rows, plus `kGuardRows` whole
// rows after the last one, all pre-filled with a sentinel. Untouched() checks that
// every element outside rows x cols still holds it.
template <typename T>
class Guarded {
 public:
  static constexpr size_t kGuardRows = 2;
  Guarded(size_t rows, size_t cols, size_t ld, T sentinel)
      : rows_(rows),
        cols_(cols),
        ld_(ld),
        sentinel_(sentinel),
        data_((rows + kGuardRows) * ld, sentinel) {}

  T* data() { return data_.data(); }
  size_t ld() const { return ld_; }
  T at(size_t r, size_t c) const { return data_[r * ld_ + c]; }

  bool Untouched() const {
    for (size_t r = 0; r < rows_ + kGuardRows; r++) {
      for (size_t c = 0; c < ld_; c++) {
        const bool owned = r < rows_ && c < cols_;
        if (!owned && std::memcmp(&data_[r * ld_ + c], &sentinel_, sizeof(T)) != 0) {
          return false;
        }
      }
    }
    return true;
  }

 private:
  size_t rows_, cols_, ld_;
  T sentinel_;
  std::vector<T> data_;
};

}  // namespace qf::test
