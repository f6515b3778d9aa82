#pragma once
/// \file
/// Shape: the runtime dimensions of a tensor, stored inline (no heap allocation).

#include <array>
#include <cstddef>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "resilinet/core/error.hpp"

namespace resilinet {

/// Dimensions of a row-major tensor, rank 0 to `Shape::max_rank`, stored without allocation.
class Shape {
 public:
  /// Largest supported rank (NHWC images need 4; 6 leaves headroom).
  static constexpr std::size_t max_rank = 6;

  /// Creates the shape of a scalar (rank 0, one element).
  Shape() = default;

  /// Creates a shape from its dimensions, e.g. `Shape{batch, features}`.
  Shape(std::initializer_list<std::size_t> dims) { assign(dims.begin(), dims.end()); }

  /// Creates a shape from a vector of dimensions.
  explicit Shape(const std::vector<std::size_t>& dims) { assign(dims.begin(), dims.end()); }

  /// Number of dimensions.
  std::size_t rank() const { return rank_; }

  /// Size of dimension `i` (requires `i < rank()`).
  std::size_t operator[](std::size_t i) const { return dims_[i]; }

  /// Mutable size of dimension `i` (requires `i < rank()`).
  std::size_t& operator[](std::size_t i) { return dims_[i]; }

  /// Size of the last dimension (1 for a scalar).
  std::size_t back() const { return rank_ == 0 ? 1 : dims_[rank_ - 1]; }

  /// Total number of elements (the product of all dimensions).
  std::size_t numel() const {
    std::size_t n = 1;
    for (std::size_t i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }

  /// Number of elements in one entry of the leading (batch) axis.
  std::size_t row_size() const { return rank_ == 0 ? 1 : numel() / (dims_[0] == 0 ? 1 : dims_[0]); }

  /// The dimensions as a vector.
  std::vector<std::size_t> to_vector() const { return {dims_.begin(), dims_.begin() + rank_}; }

  /// The shape with its leading dimension replaced by `n` (e.g. a smaller final batch).
  Shape with_leading(std::size_t n) const {
    Shape s = *this;
    if (s.rank_ > 0) s.dims_[0] = n;
    return s;
  }

  /// The shape with `n` put in front as a new leading (batch) axis.
  Shape prepend(std::size_t n) const {
    require<ShapeError>(rank_ < max_rank, "Shape::prepend: ", *this, " is already of rank ",
                        max_rank);
    Shape s;
    s.rank_ = rank_ + 1;
    s.dims_[0] = n;
    for (std::size_t i = 0; i < rank_; ++i) s.dims_[i + 1] = dims_[i];
    return s;
  }

  /// Human-readable form such as `(1024, 250)`.
  std::string str() const {
    std::string s = "(";
    for (std::size_t i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
    return s + (rank_ == 1 ? ",)" : ")");
  }

  /// True when both shapes have the same rank and dimensions.
  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (std::size_t i = 0; i < a.rank_; ++i)
      if (a.dims_[i] != b.dims_[i]) return false;
    return true;
  }

  /// True when the shapes differ.
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

  /// Writes the form of str() without building a string (so error messages cost nothing
  /// until they are thrown).
  friend std::ostream& operator<<(std::ostream& out, const Shape& s) {
    out << '(';
    for (std::size_t i = 0; i < s.rank_; ++i) out << (i ? ", " : "") << s.dims_[i];
    return out << (s.rank_ == 1 ? ",)" : ")");
  }

 private:
  template <class It>
  void assign(It first, It last) {
    rank_ = 0;
    for (; first != last; ++first) {
      require<ShapeError>(rank_ < max_rank, "Shape: rank above the maximum of ", max_rank);
      dims_[rank_++] = *first;
    }
  }

  std::array<std::size_t, max_rank> dims_{};
  std::size_t rank_ = 0;
};

}  // namespace resilinet
