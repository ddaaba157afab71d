// Losses over logits [N, C]: softmax cross-entropy with per-sample weights (Q-MUL's
// reweighting; negated for gradient ascent), prediction entropy (OEU), and the L1
// penalty. Each returns the loss and, when asked, writes dL/dlogits.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "nn/layer.h"

namespace qf::train {

// L = (sign / N) * sum_i w_i * CE_i, CE_i = logsumexp(z_i) - z_i[y_i]; w = nullptr means
// every w_i = 1; sign = -1 gives negative cross-entropy (gradient ascent). Labels must
// be < C (callers validate). dlogits may be null.
float SoftmaxCrossEntropy(const Tensor& logits, const Label* labels, const float* weights,
                          float sign, Tensor* dlogits);

// L = (1/N) * sum_i H(softmax(z_i)), H(p) = -sum_j p_j log p_j. dlogits may be null.
float SoftmaxEntropy(const Tensor& logits, Tensor* dlogits);

// L = alpha * sum |w| over kWeight parameters; adds alpha * sign(w) to their grads.
float L1Penalty(const std::vector<nn::Param*>& params, float alpha);

// Row-wise softmax of logits [N, C] into probs (may alias logits).
void Softmax(const Tensor& logits, Tensor* probs);

}  // namespace qf::train
