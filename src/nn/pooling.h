// Pooling layers over NHWC images: MaxPool2D, AvgPool2D (window, stride, padding) and
// GlobalAvgPool ([N, H, W, C] -> [N, C]). Float only, no parameters; these layers do not
// quantize anything themselves (the next quantized layer quantizes their output).
#pragma once

#include <cstddef>
#include <vector>

#include "nn/layer.h"
#include "nn/padding.h"

namespace qf::nn {

// How a pooling window is padded. Padded cells are never read: MaxPool ignores them
// (as if they were -inf) and AvgPool leaves them out of the count.
struct Pool2DOptions {
  size_t kh = 2, kw = 2;  // window, in cells
  size_t stride_h = 2, stride_w = 2;
  Padding padding;  // explicit pads must each be smaller than the window
};

// What MaxPool2D and AvgPool2D share: option checks and the resolved window geometry.
// Input per sample: [H, W, C]; output [OH, OW, C] with OH = (H + pads - kh) / stride + 1.
class Pool2D : public Layer {
 public:
  // Build returns InvalidArgument (naming info.name) for an input that is not [H, W, C]
  // with H, W, C >= 1, a zero window or stride, an explicit pad >= its window (a window
  // could then hold padding only), or a window larger than the padded input.
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  bool OutputNonNegative(bool input_non_negative) const override { return input_non_negative; }

  const Pool2DOptions& options() const { return options_; }
  // The pads in effect after Build (for kSame computed from the input size).
  size_t pad_top() const { return pad_top_; }
  size_t pad_left() const { return pad_left_; }
  size_t pad_bottom() const { return pad_bottom_; }
  size_t pad_right() const { return pad_right_; }

 protected:
  explicit Pool2D(const Pool2DOptions& options) : options_(options) {}

  // The in-image rows [lo, hi) of output row `o` (same for columns with the _w values).
  struct Range {
    size_t lo, hi;
  };
  Range Rows(size_t o) const;
  Range Cols(size_t o) const;

  Pool2DOptions options_;
  size_t pad_top_ = 0, pad_left_ = 0, pad_bottom_ = 0, pad_right_ = 0;
  size_t in_h_ = 0, in_w_ = 0, channels_ = 0, out_h_ = 0, out_w_ = 0;
};

// y = the largest input value in the window, per channel. Gradient: each output's dL/dy
// goes to the single input cell it took its value from; on ties that is the first
// maximum in scan order (window rows top to bottom, each row left to right).
class MaxPool2D : public Pool2D {
 public:
  explicit MaxPool2D(const Pool2DOptions& options) : Pool2D(options) {}
  const char* type() const override { return "max_pool2d"; }
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  void Backward(const Tensor& dy, Tensor* dx) override;
  bool OutputsInputValues() const override { return true; }

 private:
  std::vector<size_t> argmax_;  // per output value of the last kTrain Forward: input index
  size_t batch_ = 0;
};

// y = the mean of the window's in-image cells, per channel: padded cells are not
// counted (PyTorch's count_include_pad=False), so border windows average fewer cells.
class AvgPool2D : public Pool2D {
 public:
  explicit AvgPool2D(const Pool2DOptions& options) : Pool2D(options) {}
  const char* type() const override { return "avg_pool2d"; }
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  void Backward(const Tensor& dy, Tensor* dx) override;

 private:
  size_t batch_ = 0;
};

// [N, H, W, C] -> [N, C]: the mean over all H x W positions of each channel.
class GlobalAvgPool : public Layer {
 public:
  const char* type() const override { return "global_avg_pool"; }
  // InvalidArgument unless the per-sample input is [H, W, C] with H, W, C >= 1.
  StatusOr<Shape> Build(const Shape& input, const BuildInfo& info) override;
  void Forward(const Tensor& x, Tensor* y, Mode mode) override;
  void Backward(const Tensor& dy, Tensor* dx) override;
  bool OutputNonNegative(bool input_non_negative) const override { return input_non_negative; }

 private:
  Shape input_;
  size_t channels_ = 0, positions_ = 0;  // C and H * W
};

}  // namespace qf::nn
