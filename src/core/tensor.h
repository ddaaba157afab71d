// Shapes and float tensors: the values layers pass between each other and the
// parameters they train. Row-major; images are NHWC. Integer codes never live here:
// quantized layers keep their own uint8/int8 buffers.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

namespace qf {

// Dimensions of a tensor, outermost first. Rank 0 has one element.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<size_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<size_t> dims) : dims_(std::move(dims)) {}

  size_t rank() const { return dims_.size(); }
  size_t operator[](size_t i) const { return dims_[i]; }
  size_t& operator[](size_t i) { return dims_[i]; }
  const std::vector<size_t>& dims() const { return dims_; }

  // Number of elements: the product of the dimensions.
  size_t size() const;
  // The shape of one sample: all dimensions but the first (the batch).
  Shape Sample() const;
  // This shape with a batch dimension `n` in front.
  Shape WithBatch(size_t n) const;

  bool operator==(const Shape& other) const { return dims_ == other.dims_; }
  bool operator!=(const Shape& other) const { return dims_ != other.dims_; }
  std::string ToString() const;  // e.g. "[32, 28, 28, 1]"

 private:
  std::vector<size_t> dims_;
};

// A dense float tensor that owns its values.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, float fill = 0.0f) : shape_(std::move(shape)), data_(shape_.size(), fill) {}

  const Shape& shape() const { return shape_; }
  size_t size() const { return data_.size(); }
  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float& operator[](size_t i) { return data_[i]; }
  float operator[](size_t i) const { return data_[i]; }
  std::vector<float>& values() { return data_; }
  const std::vector<float>& values() const { return data_; }

  // Changes the shape; keeps the allocation when it is large enough. Values are
  // unspecified afterwards unless the size is unchanged.
  void Resize(const Shape& shape);
  // Same values, new shape of the same size (QF_CHECKed).
  void Reshape(const Shape& shape);
  void Fill(float value);

 private:
  Shape shape_;
  std::vector<float> data_;
};

}  // namespace qf
