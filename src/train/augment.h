// Seeded data augmentation on uint8 NHWC images: random crop with zero padding and
// horizontal flip. Operates on pixel buffers only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/random.h"

namespace qf::train {

struct AugmentOptions {
  size_t crop_padding = 0;  // pad each side by this many pixels, crop back at random
  bool flip = false;        // mirror left-right with probability 1/2
  bool enabled() const { return crop_padding > 0 || flip; }
};

// Augments `n` images of h x w x c in place, drawing from `rng`.
void Augment(const AugmentOptions& options, size_t n, size_t h, size_t w, size_t c, uint8_t* pixels,
             Rng& rng);

}  // namespace qf::train
