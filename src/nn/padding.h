// Spatial padding as the convolution and pooling layers take it: "valid", TensorFlow's
// "same", or explicit pads; and its resolution into per-side pads for one input size.
#pragma once

#include <cstddef>

namespace qf::nn {

struct Padding {
  enum class Mode {
    kValid,     // no padding: only windows that fit the image
    kSame,      // TensorFlow "SAME": out = ceil(in / stride), the odd pad at bottom/right
    kExplicit,  // the pads below, as given
  } mode = Mode::kValid;
  size_t top = 0, left = 0, bottom = 0, right = 0;  // kExplicit only
};

struct Pads {
  size_t top = 0, left = 0, bottom = 0, right = 0;
};

// The pads `padding` means for an in_h x in_w input, a kh x kw window and the strides
// (each >= 1; callers validate). SAME pads are always smaller than the window.
Pads ResolvePadding(const Padding& padding, size_t in_h, size_t in_w, size_t kh, size_t kw,
                    size_t stride_h, size_t stride_w);

}  // namespace qf::nn
