// LSQ quantizers against their definitions: codes, straight-through masks and the
// step-size gradient with its 1/sqrt(N * Qp) scale.
#include <catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/random.h"
#include "quant/lsq.h"

namespace qf::quant {
namespace {

TEST_CASE("code ranges", "[engine][quant]") {
  CHECK(SignedRange(2).qn == -2);
  CHECK(SignedRange(2).qp == 1);
  CHECK(SignedRange(3).qn == -4);
  CHECK(SignedRange(4).qp == 7);
  CHECK(SignedRange(8).qn == -128);
  CHECK(ActivationRange(0).qp == 255);
  CHECK(ActivationRange(128).qn == -128);
  CHECK(ActivationRange(128).qp == 127);
  CHECK(ActivationRange(0, 4).qn == 0);
  CHECK(ActivationRange(0, 4).qp == 15);
  CHECK(ActivationRange(128, 4).qn == -8);
  CHECK(ActivationRange(128, 4).qp == 7);
}

TEST_CASE("4-bit activations use 16 of the uint8 codes", "[engine][quant]") {
  const float x[] = {0.0f, 0.14f, 1.0f, -1.0f, 100.0f};
  uint8_t codes[5];
  QuantizeActivations(x, 5, 0.1f, 0, codes, 4);
  const int unsigned_want[] = {0, 1, 10, 0, 15};
  for (int i = 0; i < 5; i++) CHECK(int(codes[i]) == unsigned_want[i]);
  QuantizeActivations(x, 5, 0.1f, 128, codes, 4);
  const int signed_want[] = {128, 129, 135, 120, 135};
  for (int i = 0; i < 5; i++) CHECK(int(codes[i]) == signed_want[i]);
  // The step gradient sees the 4-bit clip: qp = 7 above, qn = -8 below.
  float dx[5];
  const float dy[] = {1, 1, 1, 1, 1};
  const float dstep = QuantizeActivationsBackward(x, dy, 5, 1, 0.1f, 128, dx, 4);
  CHECK(dx[2] == 0.0f);  // 1.0 / 0.1 = 10 > 7: clipped
  CHECK(dx[1] == 1.0f);
  // (0 - 0) + (1 - 1.4) + 7 + (-8) + 7, scaled by 1 / sqrt(1 * 7)
  CHECK(dstep == Approx((0.0 - 0.4 + 7 - 8 + 7) / std::sqrt(7.0)).epsilon(1e-5));
}

TEST_CASE("weights quantize by round-half-even and clamp", "[engine][quant]") {
  const float w[] = {0.25f, 0.75f, -0.25f, 10.0f, -10.0f, 0.74f};
  const float step = 0.5f;
  int8_t codes[6];
  QuantizeWeights(w, 1, 6, &step, false, SignedRange(4), codes);
  const int want[] = {0, 2, 0, 7, -8, 1};  // 0.5 -> 0, 1.5 -> 2, -0.5 -> 0, clamps
  for (int i = 0; i < 6; i++) CHECK(int(codes[i]) == want[i]);
}

TEST_CASE("activations round trip through codes with either zero point", "[engine][quant]") {
  const float x[] = {0.0f, 0.1f, 1.0f, -1.0f, 100.0f};
  uint8_t codes[5];
  float back[5];
  QuantizeActivations(x, 5, 0.1f, 0, codes);
  CHECK(int(codes[0]) == 0);
  CHECK(int(codes[1]) == 1);
  CHECK(int(codes[2]) == 10);
  CHECK(int(codes[3]) == 0);    // clipped at 0
  CHECK(int(codes[4]) == 255);  // clipped at 255
  QuantizeActivations(x, 5, 0.1f, 128, codes);
  CHECK(int(codes[3]) == 118);
  CHECK(int(codes[4]) == 255);
  DequantizeActivations(codes, 5, 0.1f, 128, back);
  CHECK(back[2] == Approx(1.0f));
  CHECK(back[3] == Approx(-1.0f));
}

TEST_CASE("infinities clamp and NaN quantizes to code 0", "[engine][quant]") {
  // A model with huge float weights overflows to inf and inf - inf = NaN before the next
  // quantized layer (fuzz/corpus/model_file/regression-nan-activation.qfm): converting
  // NaN to an integer code was undefined behaviour.
  const float nan = std::nanf(""), inf = INFINITY;
  const float x[] = {nan, inf, -inf, -nan};
  uint8_t codes[4];
  QuantizeActivations(x, 4, 0.1f, 128, codes);
  CHECK(int(codes[0]) == 128);
  CHECK(int(codes[1]) == 255);
  CHECK(int(codes[2]) == 0);
  CHECK(int(codes[3]) == 128);
  int8_t wcodes[4];
  const float step = 0.5f;
  QuantizeWeights(x, 1, 4, &step, false, SignedRange(2), wcodes);
  CHECK(int(wcodes[0]) == 0);
  CHECK(int(wcodes[1]) == 1);
  CHECK(int(wcodes[2]) == -2);
  CHECK(int(wcodes[3]) == 0);
}

TEST_CASE("weight backward equals the LSQ formulas", "[engine][quant]") {
  Rng rng(3);
  for (bool per_channel : {true, false}) {
    const size_t rows = 17, channels = 5;
    std::vector<float> w(rows * channels), g(rows * channels), dw(rows * channels);
    for (float& v : w) v = rng.Uniform(-2.0f, 2.0f);
    for (float& v : g) v = rng.Uniform(-1.0f, 1.0f);
    std::vector<float> steps = {0.1f, 0.2f, 0.3f, 0.25f, 0.15f};
    std::vector<float> dsteps(per_channel ? channels : 1, 0.5f);  // accumulates onto 0.5
    const QRange r = SignedRange(3);
    QuantizeWeightsBackward(w.data(), g.data(), rows, channels, steps.data(), per_channel, r,
                            dw.data(), dsteps.data());
    std::vector<double> want(dsteps.size(), 0.0);
    for (size_t i = 0; i < rows; i++) {
      for (size_t c = 0; c < channels; c++) {
        const size_t k = per_channel ? c : 0;
        const double v = double(w[i * channels + c]) / steps[k];
        double d;
        if (v < r.qn) d = r.qn;
        else if (v > r.qp) d = r.qp;
        else d = std::nearbyint(v) - v;
        want[k] += g[i * channels + c] * d;
        const bool inside = v >= r.qn && v <= r.qp;
        REQUIRE(dw[i * channels + c] == (inside ? g[i * channels + c] : 0.0f));
      }
    }
    const double n = per_channel ? rows : rows * channels;
    for (size_t k = 0; k < want.size(); k++) {
      const double expected = 0.5 + want[k] / std::sqrt(n * r.qp);
      REQUIRE(dsteps[k] == Approx(expected).epsilon(1e-5));
    }
  }
}

TEST_CASE("activation backward equals the LSQ formulas", "[engine][quant]") {
  Rng rng(5);
  const size_t n = 40, features = 8;
  std::vector<float> x(n), g(n), dx(n);
  for (float& v : x) v = rng.Uniform(-3.0f, 30.0f);
  for (float& v : g) v = rng.Uniform(-1.0f, 1.0f);
  const float step = 0.1f;
  for (uint8_t zp : {uint8_t(0), uint8_t(128)}) {
    const QRange r = ActivationRange(zp);
    const float ds = QuantizeActivationsBackward(x.data(), g.data(), n, features, step, zp, dx.data());
    double want = 0;
    for (size_t i = 0; i < n; i++) {
      const double v = double(x[i]) / step;
      if (v < r.qn) want += g[i] * double(r.qn);
      else if (v > r.qp) want += g[i] * double(r.qp);
      else want += g[i] * (std::nearbyint(v) - v);
      REQUIRE(dx[i] == ((v >= r.qn && v <= r.qp) ? g[i] : 0.0f));
    }
    REQUIRE(ds == Approx(want / std::sqrt(double(features) * r.qp)).epsilon(1e-5));
  }
}

TEST_CASE("initial step is 2 mean|x| / sqrt(Qp)", "[engine][quant]") {
  const float x[] = {1.0f, -3.0f, 2.0f, 0.0f};
  CHECK(LsqInitialStep(x, 4, 7) == Approx(2.0 * 1.5 / std::sqrt(7.0)));
  const float zeros[] = {0.0f, 0.0f};
  CHECK(LsqInitialStep(zeros, 2, 7) > 0.0f);
}

TEST_CASE("the MSE step finds a grid the values lie on, and beats the simple steps", "[engine][quant]") {
  const QRange r = SignedRange(4);
  // Values on the grid 0.25 * [-8, 7], reaching both ends: that grid, error 0.
  std::vector<float> on_grid;
  for (int q = -8; q <= 7; q++) on_grid.push_back(0.25f * float(q));
  CHECK(MseStep(on_grid.data(), on_grid.size(), r) == Approx(0.25f));

  // Gaussian weights with an outlier: clipping the outlier is worth it, so the step is
  // below the one that clips nothing, and its error is at most that step's and LSQ's.
  Rng rng(3);
  std::vector<float> w(512);
  for (float& v : w) v = 0.1f * rng.Normal();
  w[17] = 1.0f;
  auto error = [&](float step) {
    double sum = 0.0;
    for (float v : w) {
      const double q = std::min(std::max(std::nearbyint(double(v) / step), double(r.qn)), double(r.qp));
      sum += (double(v) - q * step) * (double(v) - q * step);
    }
    return sum;
  };
  const float mse = MseStep(w.data(), w.size(), r);
  CHECK(mse < 1.0f / float(r.qp));
  CHECK(error(mse) <= error(1.0f / float(r.qp)));
  CHECK(error(mse) <= error(LsqInitialStep(w.data(), w.size(), r.qp)));

  const float zeros[] = {0.0f, 0.0f};
  CHECK(MseStep(zeros, 2, r) > 0.0f);
}

TEST_CASE("weight steps are fitted per column (channel innermost) or per tensor", "[engine][quant]") {
  const QRange r = SignedRange(4);
  // Column c lies on the grid 0.25 * (c + 1) * [-8, 7].
  const size_t rows = 16, channels = 3;
  std::vector<float> w(rows * channels);
  for (size_t i = 0; i < rows; i++) {
    for (size_t c = 0; c < channels; c++) w[i * channels + c] = 0.25f * float(c + 1) * float(int(i) - 8);
  }
  std::vector<float> steps(channels);
  FitWeightSteps(w.data(), rows, channels, true, r, StepRule::kMse, steps.data());
  for (size_t c = 0; c < channels; c++) CHECK(steps[c] == Approx(0.25 * double(c + 1)));
  FitWeightSteps(w.data(), rows, channels, false, r, StepRule::kLsqInitial, steps.data());
  CHECK(steps[0] == LsqInitialStep(w.data(), w.size(), r.qp));
  CHECK(steps[1] == Approx(0.5));  // untouched: one step only
}

}  // namespace
}  // namespace qf::quant
