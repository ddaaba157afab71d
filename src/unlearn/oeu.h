// OEU's gradient projection, exposed for oeu.cc and its tests. Not the method itself
// (that is MakeMethod("oeu")).
#pragma once

#include <vector>

namespace qf::unlearn {

// Removes from `g` its component along `r` (both one flat vector over all trainable
// parameters): g <- g - (g.r / |r|^2) r, accumulated in double. Leaves g as it is when
// |r| = 0. Returns the cosine between g and r before the projection (0 when either is 0).
double ProjectOrthogonal(const std::vector<float>& r, std::vector<float>* g);

}  // namespace qf::unlearn
