// The engine's only source of randomness: a seeded xoshiro256** generator with
// distributions defined here (the C++ library's distributions differ between standard
// libraries, so they would break "same seed, same weights" across builds).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace qf {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    // SplitMix64 spreads any seed, including 0, over the whole state.
    for (uint64_t& word : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 24 random bits: exactly representable as float.
  float Uniform() { return float(Next() >> 40) * (1.0f / 16777216.0f); }
  float Uniform(float lo, float hi) { return lo + (hi - lo) * Uniform(); }

  // Uniform integer in [0, n), n >= 1, without modulo bias (Lemire's method).
  uint32_t Below(uint32_t n) {
    uint64_t m = uint64_t(uint32_t(Next() >> 32)) * n;
    if (uint32_t(m) < n) {
      const uint32_t threshold = uint32_t(-n) % n;
      while (uint32_t(m) < threshold) m = uint64_t(uint32_t(Next() >> 32)) * n;
    }
    return uint32_t(m >> 32);
  }

  // Standard normal (Box-Muller). Goes through libm, so native and wasm builds may
  // differ in the last bits; one build is always deterministic.
  float Normal() {
    const double u1 = (double(Next() >> 11) + 1.0) * (1.0 / 9007199254740993.0);  // (0, 1]
    const double u2 = double(Next() >> 11) * (1.0 / 9007199254740992.0);
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

  // Fisher-Yates shuffle of [first, first + n).
  template <typename T>
  void Shuffle(T* first, size_t n) {
    for (size_t i = n; i > 1; i--) std::swap(first[i - 1], first[Below(uint32_t(i))]);
  }

  // A generator for a sub-task (e.g. one epoch's shuffle), independent of later draws.
  Rng Fork() { return Rng(Next()); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace qf
