#pragma once
/// \file
/// Rng: a small, portable, seeded random generator (xoshiro256** seeded by splitmix64).

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "resilinet/core/error.hpp"

namespace resilinet {

/// A portable pseudo-random generator: the same seed gives the same stream on every platform.
///
/// Standard-library distributions differ between implementations, so every distribution
/// resilinet needs is defined here from raw 64-bit draws.
class Rng {
 public:
  /// Creates a generator from a 64-bit seed.
  explicit Rng(std::uint64_t seed = 0) {
    std::uint64_t x = seed;
    for (auto& s : state_) s = splitmix64(x);
  }

  /// Next raw 64-bit value (xoshiro256**).
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  /// Uniform double in [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform(); }

  /// Uniform integer in [0, n) without modulo bias (requires n > 0).
  std::uint64_t below(std::uint64_t n) {
    require(n > 0, "Rng::below: n must be positive, got ", n);
    const std::uint64_t limit = ~std::uint64_t(0) - (~std::uint64_t(0) % n);
    std::uint64_t x;
    do x = next_u64();
    while (x >= limit);
    return x % n;
  }

  /// Standard normal draw (Box-Muller).
  double normal() {
    double u1;
    do u1 = uniform();
    while (u1 <= 0.0);
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  /// Standard normal draw redrawn until it lies within ±2 (TensorFlow's truncated normal).
  double truncated_normal() {
    double v;
    do v = normal();
    while (std::abs(v) > 2.0);
    return v;
  }

  /// Shuffles `v` in place (Fisher-Yates).
  template <class V>
  void shuffle(V& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

  /// A new generator whose stream is independent of this one (advances this one).
  Rng fork() { return Rng(next_u64()); }

  /// The whole generator state (checkpoints save it to continue the stream exactly).
  std::array<std::uint64_t, 4> state() const { return {state_[0], state_[1], state_[2], state_[3]}; }

  /// Continues the stream from a state returned by state().
  void set_state(const std::array<std::uint64_t, 4>& s) {
    require(s[0] | s[1] | s[2] | s[3], "Rng::set_state: the all-zero state is invalid");
    for (int i = 0; i < 4; ++i) state_[i] = s[std::size_t(i)];
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  std::uint64_t state_[4];
};

}  // namespace resilinet
