// BatchNorm: batch statistics (double-accumulated) and their exact gradient in
// training, the folded per-channel affine in eval. Plain loops, channels innermost, on
// the thread pool by pieces of rows: per-channel sums by SumRows (the same bytes at any
// thread count), element-wise passes by ParallelForRows.
#include "nn/batchnorm.h"

#include <cmath>

#include "core/thread_pool.h"

namespace qf::nn {

StatusOr<Shape> BatchNorm::Build(const Shape& input, const BuildInfo& info) {
  if (input.rank() == 0 || input.size() == 0) {
    return InvalidArgument(info.name +
                           ": batch_norm needs a per-sample input of rank >= 1 (channels "
                           "last) without zero dimensions, got " +
                           input.ToString());
  }
  if (!(momentum_ >= 0.0f && momentum_ <= 1.0f) || !(eps_ > 0.0f)) {
    return InvalidArgument(info.name + ": batch_norm needs momentum in [0, 1] and eps > 0, got " +
                           std::to_string(momentum_) + " and " + std::to_string(eps_));
  }
  QF_RETURN_IF_ERROR(TakeParams(info, 4, input[input.rank() - 1]));  // gamma, beta, stats
  name_ = info.name;
  channels_ = input[input.rank() - 1];
  const Shape c{channels_};
  gamma_ = {info.name + ".gamma", Param::Kind::kNorm, Tensor(c), Tensor(c)};
  beta_ = {info.name + ".beta", Param::Kind::kNorm, Tensor(c), Tensor(c)};
  ResetState();
  return input;
}

void BatchNorm::ResetState() {
  const Shape c{channels_};
  gamma_.value = Tensor(c, 1.0f);
  beta_.value = Tensor(c, 0.0f);
  running_mean_ = Tensor(c, 0.0f);
  running_var_ = Tensor(c, 1.0f);
}

void BatchNorm::Init(Rng&) { ResetState(); }

void BatchNorm::CollectState(StateVisitor* visitor) {
  visitor->Float(gamma_.name, &gamma_.value, FloatRule::kAny);
  visitor->Float(beta_.name, &beta_.value, FloatRule::kAny);
  visitor->Float(name_ + ".running_mean", &running_mean_, FloatRule::kAny);
  visitor->Float(name_ + ".running_var", &running_var_, FloatRule::kNonNegative);
}

void BatchNorm::FoldedAffine(std::vector<float>* scale, std::vector<float>* shift) const {
  scale->resize(channels_);
  shift->resize(channels_);
  for (size_t c = 0; c < channels_; c++) {
    const double s = double(gamma_.value[c]) / std::sqrt(double(running_var_[c]) + double(eps_));
    (*scale)[c] = float(s);
    (*shift)[c] = float(double(beta_.value[c]) - double(running_mean_[c]) * s);
  }
}

size_t BatchNorm::BeginCalibration() {
  calibrated_batches_ = 0;
  return 1;
}

void BatchNorm::Forward(const Tensor& x, Tensor* y, Mode mode) {
  const size_t c = channels_, rows = x.size() / c;  // rows = M values per channel
  y->Resize(x.shape());
  if (mode == Mode::kEval || mode == Mode::kEvalGradient) {
    FoldedAffine(&scale_, &shift_);
    ParallelForRows(rows, c, [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; r++) {
        for (size_t ch = 0; ch < c; ch++) {
          (*y)[r * c + ch] = x[r * c + ch] * scale_[ch] + shift_[ch];
        }
      }
    });
    if (mode == Mode::kEvalGradient) {  // Backward's x_hat and inv_std: the running ones
      batch_statistics_ = false;
      inv_std_.resize(c);
      for (size_t ch = 0; ch < c; ch++) {
        inv_std_[ch] = 1.0 / std::sqrt(double(running_var_[ch]) + double(eps_));
      }
      x_hat_.Resize(x.shape());
      ParallelForRows(rows, c, [&](size_t r0, size_t r1) {
        for (size_t r = r0; r < r1; r++) {
          for (size_t ch = 0; ch < c; ch++) {
            const size_t i = r * c + ch;
            x_hat_[i] = float((double(x[i]) - running_mean_[ch]) * inv_std_[ch]);
          }
        }
      });
    }
    return;
  }

  // Two passes: the mean, then the centred sum of squares (no cancellation).
  sum_.assign(c, 0.0);
  sum2_.assign(c, 0.0);
  const double m = double(rows);
  SumRows(rows, c, sum_.data(), [&](size_t r, double* acc) {
    for (size_t ch = 0; ch < c; ch++) acc[ch] += x[r * c + ch];
  });
  for (size_t ch = 0; ch < c; ch++) sum_[ch] /= m;  // now the mean
  SumRows(rows, c, sum2_.data(), [&](size_t r, double* acc) {
    for (size_t ch = 0; ch < c; ch++) {
      const double d = double(x[r * c + ch]) - sum_[ch];
      acc[ch] += d * d;
    }
  });
  inv_std_.resize(c);
  const bool train = mode == Mode::kTrain;
  const double mom = train ? double(momentum_) : 1.0 / double(++calibrated_batches_);
  for (size_t ch = 0; ch < c; ch++) {
    const double var = sum2_[ch] / m;
    inv_std_[ch] = 1.0 / std::sqrt(var + double(eps_));
    running_mean_[ch] = float((1.0 - mom) * running_mean_[ch] + mom * sum_[ch]);
    if (rows > 1) {
      running_var_[ch] = float((1.0 - mom) * running_var_[ch] + mom * (sum2_[ch] / (m - 1.0)));
    }
  }
  if (train) {
    batch_statistics_ = true;
    x_hat_.Resize(x.shape());
  }
  ParallelForRows(rows, c, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      for (size_t ch = 0; ch < c; ch++) {
        const size_t i = r * c + ch;
        const double x_hat = (double(x[i]) - sum_[ch]) * inv_std_[ch];
        if (train) x_hat_[i] = float(x_hat);
        (*y)[i] = float(double(gamma_.value[ch]) * x_hat + double(beta_.value[ch]));
      }
    }
  });
}

// With g = dy and h = x_hat, per channel over its M values:
//   dbeta = sum(g), dgamma = sum(g * h),
//   dx = gamma * inv_std * (g - dbeta / M - h * dgamma / M)  after kTrain (the batch
//        statistics depend on x),
//   dx = gamma * inv_std * g                                   after kEvalGradient.
void BatchNorm::Backward(const Tensor& dy, Tensor* dx) {
  const size_t c = channels_, rows = dy.size() / c;
  std::vector<double> sums(2 * c, 0.0);  // sum(g), then sum(g * h)
  SumRows(rows, 2 * c, sums.data(), [&](size_t r, double* acc) {
    for (size_t ch = 0; ch < c; ch++) {
      const size_t i = r * c + ch;
      acc[ch] += dy[i];
      acc[c + ch] += double(dy[i]) * x_hat_[i];
    }
  });
  sum_.assign(sums.begin(), sums.begin() + c);
  sum2_.assign(sums.begin() + c, sums.end());
  for (size_t ch = 0; ch < c; ch++) {
    beta_.grad[ch] += float(sum_[ch]);
    gamma_.grad[ch] += float(sum2_[ch]);
  }
  if (!dx) return;
  dx->Resize(dy.shape());
  const double m = double(rows);
  ParallelForRows(rows, c, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      for (size_t ch = 0; ch < c; ch++) {
        const size_t i = r * c + ch;
        const double g = batch_statistics_
                             ? double(dy[i]) - sum_[ch] / m - double(x_hat_[i]) * sum2_[ch] / m
                             : double(dy[i]);
        (*dx)[i] = float(double(gamma_.value[ch]) * inv_std_[ch] * g);
      }
    }
  });
}

void BatchNorm::CollectParams(std::vector<Param*>* out) {
  out->push_back(&gamma_);
  out->push_back(&beta_);
}

}  // namespace qf::nn
