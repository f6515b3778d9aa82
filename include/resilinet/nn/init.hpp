#pragma once
/// \file
/// Weight initialisers (Keras semantics) and the fans they scale by.

#include <cmath>
#include <utility>

#include "resilinet/core/rng.hpp"
#include "resilinet/core/tensor.hpp"

namespace resilinet {

/// How a layer initialises its kernel.
enum class Initializer {
  /// U(−l, l), l = sqrt(6 / (fan_in + fan_out)): Keras's default.
  glorot_uniform,
  /// Truncated normal (±2σ), σ = sqrt(2 / fan_in) / 0.8796: Keras 2.2's `he_normal`.
  he_normal,
};

/// Keras's (fan_in, fan_out) of a kernel: (in, out) for a rank-2 kernel, and
/// (KH·KW·in, KH·KW·out) for a rank-4 (KH, KW, in, out) convolution kernel.
inline std::pair<std::size_t, std::size_t> kernel_fans(const Shape& kernel) {
  require<ShapeError>(kernel.rank() == 2 || kernel.rank() == 4,
                      "kernel_fans: kernels are rank 2 or 4, got ", kernel);
  if (kernel.rank() == 2) return {kernel[0], kernel[1]};
  const std::size_t field = kernel[0] * kernel[1];
  return {field * kernel[2], field * kernel[3]};
}

/// Glorot (Xavier) uniform: U(−l, l) with l = sqrt(6 / (fan_in + fan_out)), Keras's default.
template <class T>
Tensor<T> glorot_uniform(const Shape& shape, std::size_t fan_in, std::size_t fan_out, Rng& rng) {
  require(fan_in + fan_out > 0, "glorot_uniform: fan_in + fan_out must be positive for shape ",
          shape);
  const double limit = std::sqrt(6.0 / double(fan_in + fan_out));
  Tensor<T> t(shape);
  for (T& v : t) v = static_cast<T>(rng.uniform(-limit, limit));
  return t;
}

/// He normal as Keras 2.2 draws it: a normal truncated at ±2σ with
/// σ = sqrt(2 / fan_in) / 0.87962566103423978 (the std of a unit normal truncated at ±2), so
/// the values' variance is 2 / fan_in.
template <class T>
Tensor<T> he_normal(const Shape& shape, std::size_t fan_in, Rng& rng) {
  require(fan_in > 0, "he_normal: fan_in must be positive for shape ", shape);
  const double sigma = std::sqrt(2.0 / double(fan_in)) / 0.87962566103423978;
  Tensor<T> t(shape);
  for (T& v : t) v = static_cast<T>(sigma * rng.truncated_normal());
  return t;
}

/// A kernel of `shape` drawn with `init`, its fans computed as Keras does.
template <class T>
Tensor<T> initial_kernel(Initializer init, const Shape& shape, Rng& rng) {
  const auto [fan_in, fan_out] = kernel_fans(shape);
  return init == Initializer::he_normal ? he_normal<T>(shape, fan_in, rng)
                                        : glorot_uniform<T>(shape, fan_in, fan_out, rng);
}

}  // namespace resilinet
