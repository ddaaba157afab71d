// Small synthetic image data for tests: class k lights up a k-dependent 4x4 patch of a
// 12x12 (or 28x28) image over seeded noise. Learnable in a few epochs.
#pragma once

#include "core/random.h"
#include "train/dataset.h"

namespace qf::test {

inline train::Dataset SyntheticImages(size_t n, size_t side, size_t classes, uint64_t seed) {
  Rng rng(seed);
  train::Dataset data;
  data.sample = Shape{side, side, 1};
  data.x.resize(n * side * side);
  data.y.resize(n);
  for (size_t i = 0; i < n; i++) {
    const size_t k = rng.Below(uint32_t(classes));
    data.y[i] = uint8_t(k);
    uint8_t* img = data.x.data() + i * side * side;
    for (size_t p = 0; p < side * side; p++) img[p] = uint8_t(rng.Below(64));
    const size_t cells = side / 4;
    const size_t cy = (k / cells) % cells * 4, cx = k % cells * 4;
    for (size_t y = cy; y < cy + 4; y++) {
      for (size_t x = cx; x < cx + 4; x++) img[y * side + x] = uint8_t(160 + rng.Below(96));
    }
  }
  return data;
}

}  // namespace qf::test
