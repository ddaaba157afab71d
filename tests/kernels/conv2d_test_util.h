// Shared by the convolution tests: a shape in words, for INFO.
#pragma once

#include <sstream>
#include <string>

#include "kernels/conv2d/conv2d.h"

namespace qf::test {

inline std::string Describe(const kernels::Conv2DShape& s) {
  std::ostringstream o;
  o << "n " << s.n << ", " << s.in_h << "x" << s.in_w << "x" << s.cin << " -> " << s.cout
    << ", kernel " << s.kh << "x" << s.kw << ", stride " << s.stride_h << "," << s.stride_w
    << ", pad t" << s.pad_top << " l" << s.pad_left << " b" << s.pad_bottom << " r" << s.pad_right;
  return o.str();
}

}  // namespace qf::test
