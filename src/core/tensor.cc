// Shape arithmetic and tensor storage.
#include "core/tensor.h"

#include <algorithm>

#include "core/check.h"

namespace qf {

size_t Shape::size() const {
  size_t n = 1;
  for (size_t d : dims_) n *= d;
  return n;
}

Shape Shape::Sample() const {
  QF_CHECK(!dims_.empty());
  return Shape(std::vector<size_t>(dims_.begin() + 1, dims_.end()));
}

Shape Shape::WithBatch(size_t n) const {
  std::vector<size_t> dims{n};
  dims.insert(dims.end(), dims_.begin(), dims_.end());
  return Shape(std::move(dims));
}

std::string Shape::ToString() const {
  std::string s = "[";
  for (size_t i = 0; i < dims_.size(); i++) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

void Tensor::Resize(const Shape& shape) {
  shape_ = shape;
  data_.resize(shape.size());
}

void Tensor::Reshape(const Shape& shape) {
  QF_CHECK(shape.size() == data_.size());
  shape_ = shape;
}

void Tensor::Fill(float value) { std::fill(data_.begin(), data_.end(), value); }

}  // namespace qf
