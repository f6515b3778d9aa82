#pragma once
/// \file
/// Tensor<T>: an owning, contiguous, row-major array with a runtime shape.

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "resilinet/core/error.hpp"
#include "resilinet/core/large_page_allocator.hpp"
#include "resilinet/core/shape.hpp"
#include "resilinet/core/tensor_view.hpp"

namespace resilinet {

/// An owning, contiguous, row-major tensor of any rank whose shape is known at runtime.
///
/// Images are NHWC and MLP activations are (batch, features), as in Keras. Storage keeps its
/// capacity when the tensor shrinks, so re-running a computation with the same or a smaller
/// batch reuses memory instead of allocating.
template <class T>
class Tensor {
  static_assert(std::is_floating_point_v<T>, "Tensor<T> requires a floating-point T");

 public:
  /// The element type.
  using value_type = T;

  /// Creates an empty rank-1 tensor with zero elements.
  Tensor() : shape_{0} {}

  /// Creates a tensor of the given shape filled with `fill`.
  explicit Tensor(const Shape& shape, T fill = T(0)) : shape_(shape), data_(shape.numel(), fill) {}

  /// Creates a tensor of the given shape from row-major values (requires matching size).
  Tensor(const Shape& shape, const std::vector<T>& values)
      : shape_(shape), data_(values.begin(), values.end()) {
    require<ShapeError>(data_.size() == shape_.numel(), "Tensor: ", data_.size(),
                        " values do not fill shape ", shape_);
  }

  /// Creates a tensor holding a copy of the elements of `view`.
  Tensor(TensorView<const T> view) { assign(view); }  // NOLINT: implicit on purpose

  /// Creates a tensor by evaluating an xtensor expression (copies; never keeps the expression).
  template <class E, class = std::enable_if_t<xt::is_xexpression<E>::value>>
  static Tensor from_xt(const E& expression) {
    xt::xarray<T, xt::layout_type::row_major> evaluated = expression;
    std::vector<std::size_t> dims(evaluated.shape().begin(), evaluated.shape().end());
    return Tensor(Shape(dims), std::vector<T>(evaluated.begin(), evaluated.end()));
  }

  /// The shape.
  const Shape& shape() const { return shape_; }

  /// Number of dimensions.
  std::size_t rank() const { return shape_.rank(); }

  /// Number of elements.
  std::size_t size() const { return data_.size(); }

  /// Size of dimension `i`.
  std::size_t dim(std::size_t i) const {
    require<ShapeError>(i < shape_.rank(), "Tensor::dim: axis ", i, " out of range for shape ",
                        shape_);
    return shape_[i];
  }

  /// Pointer to the first element.
  T* data() { return data_.data(); }

  /// Pointer to the first element.
  const T* data() const { return data_.data(); }

  /// Element at flat row-major index `i` (unchecked).
  T& operator[](std::size_t i) { return data_[i]; }

  /// Element at flat row-major index `i` (unchecked).
  const T& operator[](std::size_t i) const { return data_[i]; }

  /// Element (r, c) of a rank-2 tensor (unchecked).
  T& operator()(std::size_t r, std::size_t c) { return data_[r * shape_[1] + c]; }

  /// Element (r, c) of a rank-2 tensor (unchecked).
  const T& operator()(std::size_t r, std::size_t c) const { return data_[r * shape_[1] + c]; }

  /// Iterator to the first element.
  T* begin() { return data_.data(); }
  /// Iterator past the last element.
  T* end() { return data_.data() + data_.size(); }
  /// Iterator to the first element.
  const T* begin() const { return data_.data(); }
  /// Iterator past the last element.
  const T* end() const { return data_.data() + data_.size(); }

  /// Changes the shape; reuses storage when it is large enough. New elements are zero.
  void resize(const Shape& shape) {
    shape_ = shape;
    data_.resize(shape.numel());
  }

  /// Reinterprets the same elements under a new shape with the same element count.
  void reshape(const Shape& shape) {
    require<ShapeError>(shape.numel() == data_.size(), "Tensor::reshape: cannot view ",
                        shape_, " as ", shape);
    shape_ = shape;
  }

  /// Becomes a copy of `view` (reusing storage when it is large enough).
  void assign(TensorView<const T> view) {
    resize(view.shape());
    std::copy(view.begin(), view.end(), data_.begin());
  }

  /// A writable view of every element, valid until the tensor is resized or destroyed.
  TensorView<T> view() { return TensorView<T>(data_.data(), shape_); }

  /// A read-only view of every element, valid until the tensor is resized or destroyed.
  TensorView<const T> view() const { return TensorView<const T>(data_.data(), shape_); }

  /// A read-only view of every element (so a Tensor can be passed where a view is expected).
  operator TensorView<const T>() const { return view(); }  // NOLINT: implicit on purpose

  /// Sets every element to `value`.
  void fill(T value) { std::fill(data_.begin(), data_.end(), value); }

  /// Copies `rows` consecutive entries of the leading axis, starting at `first`, into `out`.
  void copy_rows(std::size_t first, std::size_t rows, Tensor& out) const {
    out.assign(view().rows(first, rows));
  }

  /// Copies the entries `indices` of the leading axis into `out`, in that order.
  void gather_rows(const std::size_t* indices, std::size_t count, Tensor& out) const {
    out.resize(shape_.with_leading(count));
    const std::size_t w = shape_.row_size();
    for (std::size_t i = 0; i < count; ++i) {
      require<ShapeError>(indices[i] < shape_[0], "Tensor::gather_rows: index ", indices[i],
                          " outside shape ", shape_);
      std::copy(data_.begin() + indices[i] * w, data_.begin() + (indices[i] + 1) * w,
                out.data_.begin() + i * w);
    }
  }

  /// A non-owning xtensor view of the elements, valid until the tensor is resized or destroyed.
  auto xt() {
    return xt::adapt(data_.data(), data_.size(), xt::no_ownership(), shape_.to_vector());
  }

  /// A non-owning read-only xtensor view, valid until the tensor is resized or destroyed.
  auto xt() const {
    return xt::adapt(data_.data(), data_.size(), xt::no_ownership(), shape_.to_vector());
  }

 private:
  Shape shape_;
  LargePageVector<T> data_;
};

}  // namespace resilinet
