// Softmax-based losses, computed stably (max-subtracted, accumulated in double).
#include "train/loss.h"

#include <algorithm>
#include <cmath>

namespace qf::train {
namespace {

// p = softmax(z) for one row; returns logsumexp(z).
double SoftmaxRow(const float* z, size_t c, float* p) {
  const float max = *std::max_element(z, z + c);
  double sum = 0;
  for (size_t j = 0; j < c; j++) sum += std::exp(double(z[j] - max));
  const double lse = double(max) + std::log(sum);
  for (size_t j = 0; j < c; j++) p[j] = float(std::exp(double(z[j]) - lse));
  return lse;
}

}  // namespace

void Softmax(const Tensor& logits, Tensor* probs) {
  const size_t n = logits.shape()[0], c = logits.shape()[1];
  if (probs != &logits) probs->Resize(logits.shape());
  std::vector<float> row(c);
  for (size_t i = 0; i < n; i++) {
    SoftmaxRow(logits.data() + i * c, c, row.data());
    std::copy(row.begin(), row.end(), probs->data() + i * c);
  }
}

float SoftmaxCrossEntropy(const Tensor& logits, const Label* labels, const float* weights,
                          float sign, Tensor* dlogits) {
  const size_t n = logits.shape()[0], c = logits.shape()[1];
  if (dlogits) dlogits->Resize(logits.shape());
  std::vector<float> p(c);
  double total = 0;
  for (size_t i = 0; i < n; i++) {
    const float* z = logits.data() + i * c;
    const double lse = SoftmaxRow(z, c, p.data());
    const double w = weights ? weights[i] : 1.0;
    total += w * (lse - double(z[labels[i]]));
    if (dlogits) {
      const float g = float(sign * w / double(n));
      for (size_t j = 0; j < c; j++) {
        (*dlogits)[i * c + j] = g * (p[j] - (j == labels[i] ? 1.0f : 0.0f));
      }
    }
  }
  return float(sign * total / double(n));
}

float SoftmaxEntropy(const Tensor& logits, Tensor* dlogits) {
  const size_t n = logits.shape()[0], c = logits.shape()[1];
  if (dlogits) dlogits->Resize(logits.shape());
  std::vector<float> p(c);
  double total = 0;
  for (size_t i = 0; i < n; i++) {
    const float* z = logits.data() + i * c;
    const double lse = SoftmaxRow(z, c, p.data());
    double h = 0;
    std::vector<double> logp(c);
    for (size_t j = 0; j < c; j++) {
      logp[j] = double(z[j]) - lse;
      h -= double(p[j]) * logp[j];
    }
    total += h;
    if (dlogits) {
      // dH/dz_j = -p_j (log p_j + H)
      for (size_t j = 0; j < c; j++) {
        (*dlogits)[i * c + j] = float(-double(p[j]) * (logp[j] + h) / double(n));
      }
    }
  }
  return float(total / double(n));
}

float L1Penalty(const std::vector<nn::Param*>& params, float alpha) {
  double total = 0;
  for (nn::Param* param : params) {
    if (param->kind != nn::Param::Kind::kWeight) continue;
    for (size_t i = 0; i < param->value.size(); i++) {
      const float w = param->value[i];
      total += std::fabs(w);
      param->grad[i] += alpha * float((w > 0) - (w < 0));
    }
  }
  return float(alpha * total);
}

}  // namespace qf::train
