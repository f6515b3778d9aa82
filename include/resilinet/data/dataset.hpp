#pragma once
/// \file
/// Dataset<T>: features with integer labels, and a seeded split helper.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/core/tensor.hpp"

namespace resilinet {

/// Examples along the leading axis of `x`, with one integer class label each in `y`.
template <class T>
struct Dataset {
  /// Features, shape (N, ...).
  Tensor<T> x;
  /// Labels, N values ≥ 0.
  std::vector<int> y;

  /// Number of examples.
  std::size_t size() const { return y.size(); }

  /// One more than the largest label (0 when empty).
  int num_classes() const { return y.empty() ? 0 : *std::max_element(y.begin(), y.end()) + 1; }

  /// Throws ShapeError unless x has one row per label.
  void validate() const {
    require<ShapeError>(x.rank() >= 1 && x.dim(0) == y.size(), "Dataset: ", y.size(),
                        " labels for features of shape ", x.shape());
  }

  /// The examples at `indices`, in that order.
  Dataset subset(const std::vector<std::size_t>& indices) const {
    Dataset out;
    x.gather_rows(indices.data(), indices.size(), out.x);
    out.y.reserve(indices.size());
    for (std::size_t i : indices) out.y.push_back(y[i]);
    return out;
  }
};

/// Shuffles the indices 0..n−1 with `rng` and cuts them into consecutive parts of the given
/// fractions.
///
/// Fractions must be positive and sum to 1 (±1e-9); part sizes are rounded down, and the last
/// part takes the remainder, so every index lands in exactly one part.
inline std::vector<std::vector<std::size_t>> split_indices(std::size_t n,
                                                           const std::vector<double>& fractions,
                                                           Rng& rng) {
  require(!fractions.empty(), "split: needs at least one fraction");
  double total = 0;
  for (double f : fractions) {
    require(f > 0 && f <= 1, "split: fraction must be in (0, 1], got ", f);
    total += f;
  }
  require(std::abs(total - 1.0) < 1e-9, "split: fractions must sum to 1, got ", total);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  rng.shuffle(order);
  std::vector<std::vector<std::size_t>> parts;
  std::size_t start = 0;
  for (std::size_t k = 0; k < fractions.size(); ++k) {
    const std::size_t count = k + 1 == fractions.size()
                                  ? n - start
                                  : static_cast<std::size_t>(fractions[k] * double(n));
    parts.emplace_back(order.begin() + start, order.begin() + start + count);
    start += count;
  }
  return parts;
}

/// Shuffles `data` with `rng` and cuts it into consecutive parts of the given fractions
/// (see split_indices()).
template <class T>
std::vector<Dataset<T>> split(const Dataset<T>& data, const std::vector<double>& fractions,
                              Rng& rng) {
  data.validate();
  std::vector<Dataset<T>> parts;
  for (const auto& indices : split_indices(data.size(), fractions, rng))
    parts.push_back(data.subset(indices));
  return parts;
}

}  // namespace resilinet
