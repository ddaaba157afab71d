// MaxPool2D, AvgPool2D and GlobalAvgPool: plain loops over NHWC, channels innermost,
// on the thread pool by output rows (each output its own) and by images (max-pool's
// backward). Not a kernel family: pooling is a small share of the work next to the
// convolutions.
#include "nn/pooling.h"

#include <algorithm>

#include "core/thread_pool.h"

namespace qf::nn {
namespace {

std::string Dims2(size_t a, size_t b) { return std::to_string(a) + "x" + std::to_string(b); }

}  // namespace

StatusOr<Shape> Pool2D::Build(const Shape& input, const BuildInfo& info) {
  const std::string what = info.name + ": " + type();
  if (input.rank() != 3 || input.size() == 0) {
    return InvalidArgument(what + " needs a per-sample input [H, W, C] with H, W, C >= 1, got " +
                           input.ToString());
  }
  const Pool2DOptions& o = options_;
  if (o.kh == 0 || o.kw == 0 || o.stride_h == 0 || o.stride_w == 0) {
    return InvalidArgument(what + " needs a window and stride >= 1, got window " +
                           Dims2(o.kh, o.kw) + " and stride " + Dims2(o.stride_h, o.stride_w));
  }
  in_h_ = input[0];
  in_w_ = input[1];
  channels_ = input[2];
  const Padding& p = o.padding;
  if (p.mode == Padding::Mode::kExplicit &&
      (p.top >= o.kh || p.bottom >= o.kh || p.left >= o.kw || p.right >= o.kw)) {
    return InvalidArgument(what + " explicit pads must be smaller than the window " +
                           Dims2(o.kh, o.kw) + ", got top/left/bottom/right " +
                           std::to_string(p.top) + "/" + std::to_string(p.left) + "/" +
                           std::to_string(p.bottom) + "/" + std::to_string(p.right));
  }
  const Pads pads = ResolvePadding(p, in_h_, in_w_, o.kh, o.kw, o.stride_h, o.stride_w);
  pad_top_ = pads.top;
  pad_left_ = pads.left;
  pad_bottom_ = pads.bottom;
  pad_right_ = pads.right;
  const size_t padded_h = in_h_ + pad_top_ + pad_bottom_;
  const size_t padded_w = in_w_ + pad_left_ + pad_right_;
  if (o.kh > padded_h || o.kw > padded_w) {
    return InvalidArgument(what + " window " + Dims2(o.kh, o.kw) +
                           " is larger than the padded input " + Dims2(padded_h, padded_w) +
                           " (input " + input.ToString() + ")");
  }
  out_h_ = (padded_h - o.kh) / o.stride_h + 1;
  out_w_ = (padded_w - o.kw) / o.stride_w + 1;
  QF_RETURN_IF_ERROR(TakeOps(info, uint64_t(out_h_) * out_w_, channels_, uint64_t(o.kh) * o.kw));
  return Shape{out_h_, out_w_, channels_};
}

// Pads are smaller than the window and the window fits the padded input, so every
// range below is non-empty.
Pool2D::Range Pool2D::Rows(size_t o) const {
  const size_t start = o * options_.stride_h;  // in padded coordinates
  const size_t lo = std::max(start, pad_top_) - pad_top_;
  const size_t hi = std::min(start + options_.kh, pad_top_ + in_h_) - pad_top_;
  return {lo, hi};
}

Pool2D::Range Pool2D::Cols(size_t o) const {
  const size_t start = o * options_.stride_w;
  const size_t lo = std::max(start, pad_left_) - pad_left_;
  const size_t hi = std::min(start + options_.kw, pad_left_ + in_w_) - pad_left_;
  return {lo, hi};
}

void MaxPool2D::Forward(const Tensor& x, Tensor* y, Mode mode) {
  const size_t n = x.shape()[0], c = channels_;
  y->Resize(Shape{n, out_h_, out_w_, c});
  const bool train = KeepsCaches(mode);
  if (train) {
    argmax_.resize(y->size());
    batch_ = n;
  }
  ParallelForRows(n * out_h_, out_w_ * c * options_.kh * options_.kw, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {  // output row (b, oy)
      const size_t b = r / out_h_, oy = r % out_h_;
      const size_t image = b * in_h_ * in_w_ * c;
      const Range rows = Rows(oy);
      for (size_t ox = 0; ox < out_w_; ox++) {
        const Range cols = Cols(ox);
        const size_t out = (r * out_w_ + ox) * c;
        float* best = y->data() + out;
        size_t* where = train ? argmax_.data() + out : nullptr;
        // The first in-image cell seeds the maximum; later cells replace it only when
        // strictly larger, so ties keep the first in scan order.
        const size_t first = image + (rows.lo * in_w_ + cols.lo) * c;
        for (size_t ch = 0; ch < c; ch++) {
          best[ch] = x[first + ch];
          if (where) where[ch] = first + ch;
        }
        for (size_t iy = rows.lo; iy < rows.hi; iy++) {
          for (size_t ix = cols.lo; ix < cols.hi; ix++) {
            const size_t cell = image + (iy * in_w_ + ix) * c;
            for (size_t ch = 0; ch < c; ch++) {
              if (x[cell + ch] > best[ch]) {
                best[ch] = x[cell + ch];
                if (where) where[ch] = cell + ch;
              }
            }
          }
        }
      }
    }
  });
}

void MaxPool2D::Backward(const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  dx->Resize(Shape{batch_, in_h_, in_w_, channels_});
  dx->Fill(0.0f);
  // By images: an image's gradients go to its own cells, added in order as on one thread.
  const size_t per_image = dy.size() / std::max<size_t>(batch_, 1);
  ParallelForRows(batch_, per_image, [&](size_t b0, size_t b1) {
    for (size_t i = b0 * per_image; i < b1 * per_image; i++) (*dx)[argmax_[i]] += dy[i];
  });
}

void AvgPool2D::Forward(const Tensor& x, Tensor* y, Mode mode) {
  const size_t n = x.shape()[0], c = channels_;
  y->Resize(Shape{n, out_h_, out_w_, c});
  if (KeepsCaches(mode)) batch_ = n;
  ParallelForRows(n * out_h_, out_w_ * c * options_.kh * options_.kw, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {  // output row (b, oy)
      const size_t b = r / out_h_, oy = r % out_h_;
      const size_t image = b * in_h_ * in_w_ * c;
      const Range rows = Rows(oy);
      for (size_t ox = 0; ox < out_w_; ox++) {
        const Range cols = Cols(ox);
        float* sum = y->data() + (r * out_w_ + ox) * c;
        std::fill(sum, sum + c, 0.0f);
        for (size_t iy = rows.lo; iy < rows.hi; iy++) {
          for (size_t ix = cols.lo; ix < cols.hi; ix++) {
            const float* cell = x.data() + image + (iy * in_w_ + ix) * c;
            for (size_t ch = 0; ch < c; ch++) sum[ch] += cell[ch];
          }
        }
        const float count = float((rows.hi - rows.lo) * (cols.hi - cols.lo));
        for (size_t ch = 0; ch < c; ch++) sum[ch] /= count;
      }
    }
  });
}

void AvgPool2D::Backward(const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  const size_t c = channels_;
  dx->Resize(Shape{batch_, in_h_, in_w_, c});
  dx->Fill(0.0f);
  for (size_t b = 0; b < batch_; b++) {
    float* image = dx->data() + b * in_h_ * in_w_ * c;
    for (size_t oy = 0; oy < out_h_; oy++) {
      const Range rows = Rows(oy);
      for (size_t ox = 0; ox < out_w_; ox++) {
        const Range cols = Cols(ox);
        const float* g = dy.data() + ((b * out_h_ + oy) * out_w_ + ox) * c;
        const float count = float((rows.hi - rows.lo) * (cols.hi - cols.lo));
        for (size_t iy = rows.lo; iy < rows.hi; iy++) {
          for (size_t ix = cols.lo; ix < cols.hi; ix++) {
            float* cell = image + (iy * in_w_ + ix) * c;
            for (size_t ch = 0; ch < c; ch++) cell[ch] += g[ch] / count;
          }
        }
      }
    }
  }
}

StatusOr<Shape> GlobalAvgPool::Build(const Shape& input, const BuildInfo& info) {
  if (input.rank() != 3 || input.size() == 0) {
    return InvalidArgument(info.name +
                           ": global_avg_pool needs a per-sample input [H, W, C] with H, W, "
                           "C >= 1, got " +
                           input.ToString());
  }
  input_ = input;
  positions_ = input[0] * input[1];
  channels_ = input[2];
  return Shape{channels_};
}

void GlobalAvgPool::Forward(const Tensor& x, Tensor* y, Mode) {
  const size_t n = x.shape()[0], c = channels_;
  y->Resize(Shape{n, c});
  const float count = float(positions_);
  for (size_t b = 0; b < n; b++) {
    float* sum = y->data() + b * c;
    std::fill(sum, sum + c, 0.0f);
    const float* image = x.data() + b * positions_ * c;
    for (size_t p = 0; p < positions_; p++) {
      for (size_t ch = 0; ch < c; ch++) sum[ch] += image[p * c + ch];
    }
    for (size_t ch = 0; ch < c; ch++) sum[ch] /= count;
  }
}

void GlobalAvgPool::Backward(const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  const size_t n = dy.shape()[0], c = channels_;
  dx->Resize(input_.WithBatch(n));
  const float count = float(positions_);
  for (size_t b = 0; b < n; b++) {
    float* image = dx->data() + b * positions_ * c;
    for (size_t p = 0; p < positions_; p++) {
      for (size_t ch = 0; ch < c; ch++) image[p * c + ch] = dy[b * c + ch] / count;
    }
  }
}

}  // namespace qf::nn
