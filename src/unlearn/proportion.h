// A measured proportion with its sample count and 95 % Wilson score interval: the form
// every accuracy and rate of the unlearning metrics takes, so a figure measured on eight
// samples says so. Statistics only; nothing here runs a model.
#pragma once

#include <cstddef>

namespace qf::unlearn {

struct Proportion {
  double value = 0;  // successes / n, in [0, 1]; 0 when n == 0
  size_t n = 0;      // the samples it was measured on
  // The 95 % Wilson score interval (z = 1.96): unlike value ± z·sqrt(p(1-p)/n), it stays
  // inside [0, 1] and is not empty at 0 or n successes. [0, 1] when n == 0.
  double low = 0, high = 1;
};

// `successes` of `n` trials (successes <= n).
Proportion WilsonProportion(size_t successes, size_t n);

// 1 - p: the same samples counted the other way (UA from FA), interval mirrored.
Proportion Complement(const Proportion& p);

}  // namespace qf::unlearn
