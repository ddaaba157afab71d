// The Wilson score interval against values worked out by hand from its closed form, its
// edges, and the complement.
#include "unlearn/proportion.h"

#include <cmath>

#include "test_util.h"

namespace qf::unlearn {
namespace {

TEST_CASE("wilson interval: known values and edges", "[unlearn][proportion]") {
  // 5 of 10: centre 0.5, half-width z/(1+z²/n)·sqrt(0.025 + z²/400).
  const Proportion half = WilsonProportion(5, 10);
  CHECK(half.value == 0.5);
  CHECK(half.n == 10);
  CHECK(half.low == Approx(0.2365931).epsilon(1e-6));
  CHECK(half.high == Approx(0.7634069).epsilon(1e-6));
  // 0 of 10 and 10 of 10: the interval reaches the end exactly, and z²/(n+z²) inwards.
  const double z2 = 1.959963984540054 * 1.959963984540054;
  const Proportion none = WilsonProportion(0, 10);
  CHECK(none.low == 0.0);
  CHECK(none.high == Approx(z2 / (10 + z2)).epsilon(1e-12));
  const Proportion all = WilsonProportion(10, 10);
  CHECK(all.high == 1.0);
  CHECK(all.low == Approx(10 / (10 + z2)).epsilon(1e-12));
  // 7 of 8, as the demo's eight items move: wide.
  const Proportion eight = WilsonProportion(7, 8);
  CHECK(eight.value == 0.875);
  CHECK(eight.low == Approx(0.5291).epsilon(1e-3));
  CHECK(eight.high == Approx(0.9776).epsilon(1e-3));
  // Nothing measured: no information.
  const Proportion empty = WilsonProportion(0, 0);
  CHECK(empty.n == 0);
  CHECK(empty.low == 0.0);
  CHECK(empty.high == 1.0);
  // Narrower with more samples, and always holding the estimate.
  for (size_t n : {1u, 2u, 9u, 100u, 10000u}) {
    for (size_t k = 0; k <= n; k += std::max<size_t>(1, n / 7)) {
      const Proportion p = WilsonProportion(k, n);
      CHECK(p.low <= p.value);
      CHECK(p.value <= p.high);
      CHECK(p.low >= 0.0);
      CHECK(p.high <= 1.0);
    }
  }
  CHECK(WilsonProportion(500, 1000).high - WilsonProportion(500, 1000).low <
        half.high - half.low);
}

TEST_CASE("complement mirrors value and interval", "[unlearn][proportion]") {
  const Proportion p = WilsonProportion(3, 8);
  const Proportion q = Complement(p);
  CHECK(q.n == 8);
  CHECK(q.value == Approx(0.625));
  CHECK(q.low == Approx(1.0 - p.high));
  CHECK(q.high == Approx(1.0 - p.low));
  const Proportion r = WilsonProportion(5, 8);  // counting the other way gives the same
  CHECK(q.low == Approx(r.low));
  CHECK(q.high == Approx(r.high));
}

}  // namespace
}  // namespace qf::unlearn
