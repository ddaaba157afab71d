// The Wilson score interval (Wilson 1927; Brown, Cai & DasGupta 2001 recommend it over
// the normal approximation for small n and proportions near 0 or 1).
#include "unlearn/proportion.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace qf::unlearn {

Proportion WilsonProportion(size_t successes, size_t n) {
  QF_CHECK(successes <= n);
  Proportion p;
  p.n = n;
  if (n == 0) return p;
  constexpr double z = 1.959963984540054;  // the 0.975 quantile of the standard normal
  const double nn = double(n), phat = double(successes) / nn, z2 = z * z;
  const double denominator = 1.0 + z2 / nn;
  const double center = (phat + z2 / (2.0 * nn)) / denominator;
  const double half = z / denominator * std::sqrt(phat * (1.0 - phat) / nn + z2 / (4.0 * nn * nn));
  p.value = phat;
  // Exact at the ends (the formula gives them up to rounding).
  p.low = successes == 0 ? 0.0 : std::max(0.0, center - half);
  p.high = successes == n ? 1.0 : std::min(1.0, center + half);
  return p;
}

Proportion Complement(const Proportion& p) {
  Proportion c;
  c.n = p.n;
  c.value = p.n == 0 ? 0.0 : 1.0 - p.value;
  c.low = 1.0 - p.high;
  c.high = 1.0 - p.low;
  return c;
}

}  // namespace qf::unlearn
