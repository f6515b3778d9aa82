#pragma once
/// \file
/// TensorView<T>: a non-owning, contiguous, row-major window onto elements someone else owns.

#include <cstddef>
#include <type_traits>

#include "resilinet/core/error.hpp"
#include "resilinet/core/shape.hpp"

namespace resilinet {

/// A pointer plus a shape: kernels, reshapes and batch slices read and write through views
/// instead of copying. `T` may be const (`TensorView<const float>` is a read-only view).
///
/// A view never allocates and cannot be resized; it is valid as long as the storage it points
/// into is neither resized nor destroyed.
template <class T>
class TensorView {
  static_assert(std::is_floating_point_v<std::remove_const_t<T>>,
                "TensorView<T> requires a (possibly const) floating-point T");

 public:
  /// The element type without const.
  using value_type = std::remove_const_t<T>;

  /// Creates an empty view (no elements).
  TensorView() : shape_{0} {}

  /// Views `shape.numel()` elements starting at `data`.
  TensorView(T* data, const Shape& shape) : data_(data), shape_(shape) {}

  /// A read-only view converts from a writable one.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T>>>
  TensorView(const TensorView<U>& other)  // NOLINT: implicit on purpose
      : data_(other.data()), shape_(other.shape()) {}

  /// The shape.
  const Shape& shape() const { return shape_; }

  /// Number of dimensions.
  std::size_t rank() const { return shape_.rank(); }

  /// Number of elements.
  std::size_t size() const { return shape_.numel(); }

  /// Size of dimension `i`.
  std::size_t dim(std::size_t i) const {
    require<ShapeError>(i < shape_.rank(), "TensorView::dim: axis ", i,
                        " out of range for shape ", shape_);
    return shape_[i];
  }

  /// Pointer to the first element.
  T* data() const { return data_; }

  /// Element at flat row-major index `i` (unchecked).
  T& operator[](std::size_t i) const { return data_[i]; }

  /// Iterator to the first element.
  T* begin() const { return data_; }

  /// Iterator past the last element.
  T* end() const { return data_ + size(); }

  /// The same elements under another shape with the same element count.
  TensorView reshaped(const Shape& shape) const {
    require<ShapeError>(shape.numel() == size(), "TensorView::reshaped: cannot view ", shape_,
                        " as ", shape);
    return TensorView(data_, shape);
  }

  /// Entries [first, first + rows) of the leading axis, without copying.
  TensorView rows(std::size_t first, std::size_t count) const {
    require<ShapeError>(rank() >= 1 && first + count <= shape_[0], "TensorView::rows: rows [",
                        first, ", ", first + count, ") outside shape ", shape_);
    return TensorView(data_ + first * shape_.row_size(), shape_.with_leading(count));
  }

 private:
  T* data_ = nullptr;
  Shape shape_;
};

}  // namespace resilinet
