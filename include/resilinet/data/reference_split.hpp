#pragma once
/// \file
/// The reference code's data split, index for index: scikit-learn's
/// `train_test_split(test_size=0.2, random_state=42)` and then `(test_size=0.5,
/// random_state=42)` on the rest, driven by NumPy's legacy `RandomState` (MT19937).

#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "resilinet/core/error.hpp"

namespace resilinet {

/// NumPy's legacy `RandomState(seed)` generator: MT19937 seeded by `init_genrand(seed)`.
class NumpyLegacyRng {
 public:
  /// Seeds the generator as `numpy.random.RandomState(seed)` does for an integer seed.
  explicit NumpyLegacyRng(std::uint32_t seed) {
    mt_[0] = seed;
    for (std::uint32_t i = 1; i < 624; ++i)
      mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + i;
  }

  /// The next 32-bit output of MT19937.
  std::uint32_t next_u32() {
    if (index_ >= 624) {
      for (std::size_t k = 0; k < 624; ++k) {
        const std::uint32_t y = (mt_[k] & 0x80000000u) | (mt_[(k + 1) % 624] & 0x7fffffffu);
        mt_[k] = mt_[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
      }
      index_ = 0;
    }
    std::uint32_t y = mt_[index_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
  }

  /// A uniform integer in [0, max] by masked rejection, as NumPy's legacy `random_interval`
  /// (requires max < 2^32).
  std::uint32_t interval(std::uint32_t max) {
    if (max == 0) return 0;
    std::uint32_t mask = max;
    for (int s : {1, 2, 4, 8, 16}) mask |= mask >> s;
    std::uint32_t v;
    do v = next_u32() & mask;
    while (v > max);
    return v;
  }

  /// `RandomState.permutation(n)`: 0..n−1 shuffled by Fisher–Yates from the last element down.
  std::vector<std::size_t> permutation(std::size_t n) {
    require(n < (std::size_t(1) << 32), "NumpyLegacyRng::permutation: n = ", n,
            " is too large for the 32-bit path");
    std::vector<std::size_t> a(n);
    std::iota(a.begin(), a.end(), std::size_t(0));
    for (std::size_t i = n; i-- > 1;) std::swap(a[i], a[interval(std::uint32_t(i))]);
    return a;
  }

 private:
  std::array<std::uint32_t, 624> mt_{};
  std::size_t index_ = 624;
};

/// The (train, test) indices of scikit-learn's `train_test_split(n samples,
/// test_size=test_fraction, random_state=seed)`: n_test = ceil(test_fraction·n), the test part
/// is the permutation's first n_test entries and the train part the rest, in that order.
inline std::pair<std::vector<std::size_t>, std::vector<std::size_t>> sklearn_train_test_split(
    std::size_t n, double test_fraction, std::uint32_t seed) {
  require(test_fraction > 0 && test_fraction < 1,
          "sklearn_train_test_split: test_fraction must be in (0, 1), got ", test_fraction);
  const auto n_test = std::size_t(std::ceil(test_fraction * double(n)));
  require(n_test < n, "sklearn_train_test_split: ", n, " samples leave no training part");
  const std::vector<std::size_t> p = NumpyLegacyRng(seed).permutation(n);
  return {std::vector<std::size_t>(p.begin() + std::ptrdiff_t(n_test), p.end()),
          std::vector<std::size_t>(p.begin(), p.begin() + std::ptrdiff_t(n_test))};
}

/// The reference's 80/10/10 split of n examples, as indices into the data: train from
/// `train_test_split(test_size=0.2, random_state=42)`; then the 20 % is split again with
/// `(test_size=0.5, random_state=42)`, whose first returned part (its "train") is the
/// validation set and its second the test set. Returns {train, validation, test}.
inline std::array<std::vector<std::size_t>, 3> reference_split_indices(std::size_t n) {
  auto [train, rest] = sklearn_train_test_split(n, 0.2, 42);
  auto [val_pos, test_pos] = sklearn_train_test_split(rest.size(), 0.5, 42);
  std::vector<std::size_t> val, test;
  for (std::size_t i : val_pos) val.push_back(rest[i]);
  for (std::size_t i : test_pos) test.push_back(rest[i]);
  return {std::move(train), std::move(val), std::move(test)};
}

}  // namespace resilinet
