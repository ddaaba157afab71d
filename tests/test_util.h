// Helpers shared by the Catch2 tests: seeded random data (the seed is printed with
// every failure) and output buffers with guard bytes around the region a kernel owns.
#pragma once

#include <catch.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace qf::test {

// A generator whose seed shows up in every failure message of the current scope.
// QF_TEST_SEED in the environment replays a given seed.
inline uint64_t TestSeed() {
  if (const char* env = std::getenv("QF_TEST_SEED")) return std::strtoull(env, nullptr, 10);
  static uint64_t seed = std::random_device{}();
  return seed;
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
