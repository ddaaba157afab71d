// Random crop (with zero padding) and horizontal flip.
#include "train/augment.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace qf::train {

void Augment(const AugmentOptions& options, size_t n, size_t h, size_t w, size_t c,
             size_t value_bytes, uint8_t* images, Rng& rng) {
  if (!options.enabled()) return;
  const size_t pad = options.crop_padding, pixel = c * value_bytes, image = h * w * pixel;
  std::vector<uint8_t> out(image);
  for (size_t i = 0; i < n; i++) {
    uint8_t* img = images + i * image;
    // Offsets into the padded image: [0, 2 * pad]; a source pixel is at (y + dy - pad).
    const size_t dy = pad ? rng.Below(uint32_t(2 * pad + 1)) : pad;
    const size_t dx = pad ? rng.Below(uint32_t(2 * pad + 1)) : pad;
    const bool flip = options.flip && (rng.Below(2) == 1);
    for (size_t y = 0; y < h; y++) {
      for (size_t x = 0; x < w; x++) {
        const size_t out_x = flip ? w - 1 - x : x;
        const long sy = long(y + dy) - long(pad), sx = long(x + dx) - long(pad);
        uint8_t* to = out.data() + (y * w + out_x) * pixel;
        if (sy >= 0 && sy < long(h) && sx >= 0 && sx < long(w)) {
          std::memcpy(to, img + (size_t(sy) * w + size_t(sx)) * pixel, pixel);
        } else {
          std::memset(to, 0, pixel);
        }
      }
    }
    std::copy(out.begin(), out.end(), img);
  }
}

}  // namespace qf::train
