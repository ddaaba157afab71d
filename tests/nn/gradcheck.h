// Finite-difference checks of a layer's Backward: the loss L = sum(y .* r) for a fixed
// random r, perturbed one input or parameter value at a time (central differences); and
// the tolerance every gradient check of the tests shares.
#pragma once

#include <algorithm>
#include <catch.hpp>
#include <cmath>
#include <string>

#include "core/random.h"
#include "nn/layer.h"

namespace qf::test {

// An analytic gradient agrees with a finite difference when
//   |analytic - numeric| <= rtol * max(|analytic|, |numeric|) + atol.
// rtol covers the truncation error of the difference (zero for a function linear in the
// probed value); atol, small, the float rounding of the loss divided by 2 eps, which does
// not shrink with the gradient. The default suits eps = 1e-2 on one layer: the float
// layer checks measure at most 2.5e-5 absolute error and no relative error beyond it.
// With eps = 1e-3 the rounding term grows tenfold: use atol 1e-3.
struct GradTolerance {
  double rtol = 2e-3;
  double atol = 1e-4;
};

inline bool GradientsAgree(double analytic, double numeric, const GradTolerance& tol) {
  return std::fabs(analytic - numeric) <=
         tol.rtol * std::max(std::fabs(analytic), std::fabs(numeric)) + tol.atol;
}

// Requires agreement, saying what was probed and by how much it missed.
inline void CheckGradient(double analytic, double numeric, const GradTolerance& tol,
                          const std::string& what) {
  INFO(what << ": analytic " << analytic << " numeric " << numeric << " (|diff| "
            << std::fabs(analytic - numeric) << ", allowed " << tol.rtol << " rel + " << tol.atol
            << " abs)");
  CHECK(GradientsAgree(analytic, numeric, tol));
}

struct GradCheckOptions {
  float eps = 1e-2f;                 // perturbation
  GradTolerance tolerance;           // see GradTolerance
  size_t max_probes = 64;            // values probed per tensor (spread over the tensor)
  nn::Mode mode = nn::Mode::kTrain;  // of every Forward: kTrain or kEvalGradient
};

inline double DotLoss(nn::Layer& layer, const Tensor& x, const Tensor& r, nn::Mode mode) {
  Tensor y;
  layer.Forward(x, &y, mode);
  double sum = 0;
  for (size_t i = 0; i < y.size(); i++) sum += double(y[i]) * r[i];
  return sum;
}

// Checks dL/dx and dL/dparam for every parameter of an already built, initialized layer.
inline void CheckGradients(nn::Layer& layer, Tensor x, uint64_t seed,
                           const GradCheckOptions& options = {}) {
  Rng rng(seed);
  Tensor y;
  layer.Forward(x, &y, options.mode);
  Tensor r(y.shape());
  for (float& v : r.values()) v = rng.Uniform(-1.0f, 1.0f);

  std::vector<nn::Param*> params;
  layer.CollectParams(&params);
  for (nn::Param* p : params) p->grad.Fill(0.0f);
  layer.Forward(x, &y, options.mode);
  Tensor dx;
  layer.Backward(r, &dx);
  REQUIRE(dx.shape() == x.shape());

  auto probe = [&](float* value, float analytic, const std::string& what) {
    const float saved = *value;
    *value = saved + options.eps;
    layer.OnParamsChanged();
    const double plus = DotLoss(layer, x, r, options.mode);
    *value = saved - options.eps;
    layer.OnParamsChanged();
    const double minus = DotLoss(layer, x, r, options.mode);
    *value = saved;
    layer.OnParamsChanged();
    CheckGradient(analytic, (plus - minus) / (2.0 * options.eps), options.tolerance, what);
  };

  const size_t x_step = std::max<size_t>(1, x.size() / options.max_probes);
  for (size_t i = 0; i < x.size(); i += x_step) {
    probe(&x[i], dx[i], "dL/dx[" + std::to_string(i) + "]");
  }
  for (nn::Param* p : params) {
    const size_t step = std::max<size_t>(1, p->value.size() / options.max_probes);
    for (size_t i = 0; i < p->value.size(); i += step) {
      probe(&p->value[i], p->grad[i], "dL/d" + p->name + "[" + std::to_string(i) + "]");
    }
  }
}

// Uniform values in [lo, hi] kept at least `gap` away from zero (ReLU's kink).
inline Tensor RandomTensor(const Shape& shape, Rng& rng, float lo = -1.0f, float hi = 1.0f,
                           float gap = 0.05f) {
  Tensor t(shape);
  for (float& v : t.values()) {
    do {
      v = rng.Uniform(lo, hi);
    } while (std::fabs(v) < gap);
  }
  return t;
}

}  // namespace qf::test
