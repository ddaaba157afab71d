// Seeded data augmentation on NHWC images: random crop with zero padding and horizontal
// flip. Moves values only, so it works on any element type (pixels, float features).
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

// Augments `n` images of h x w x c values of `value_bytes` bytes each, in place (as
// bytes), drawing from `rng`. Padding is zero bytes: 0 for uint8 and float32 alike.
void Augment(const AugmentOptions& options, size_t n, size_t h, size_t w, size_t c,
             size_t value_bytes, uint8_t* images, Rng& rng);

}  // namespace qf::train
