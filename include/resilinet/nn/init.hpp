#pragma once
/// \file
/// Weight initialisers (Keras semantics).

#include <cmath>

#include "resilinet/core/rng.hpp"
#include "resilinet/core/tensor.hpp"

namespace resilinet {

/// Glorot (Xavier) uniform: U(−l, l) with l = sqrt(6 / (fan_in + fan_out)), Keras's default.
template <class T>
Tensor<T> glorot_uniform(const Shape& shape, std::size_t fan_in, std::size_t fan_out, Rng& rng) {
  require(fan_in + fan_out > 0, "glorot_uniform: fan_in + fan_out must be positive for shape ",
          shape.str());
  const double limit = std::sqrt(6.0 / double(fan_in + fan_out));
  Tensor<T> t(shape);
  for (T& v : t) v = static_cast<T>(rng.uniform(-limit, limit));
  return t;
}

}  // namespace resilinet
