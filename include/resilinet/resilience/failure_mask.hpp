#pragma once
/// \file
/// FailureMask and the enumeration of failure combinations in the paper's order.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "resilinet/core/error.hpp"

namespace resilinet {

/// Alive bit per failable node (1 = works, 0 = failed), in the network's failure order
/// (top-down: cloud side first, then left to right).
using FailureMask = std::vector<std::uint8_t>;

/// The failure combination with index `i` for `n` failable nodes: node k is alive iff bit
/// (n−1−k) of i is set (most significant bit first), so 0 is "all failed", 2^n−1 "all alive".
inline FailureMask failure_combination(std::size_t i, std::size_t n) {
  require(n < 63 && i < (std::size_t(1) << n), "failure_combination: index ", i,
          " out of range for ", n, " failable nodes");
  FailureMask mask(n);
  for (std::size_t k = 0; k < n; ++k) mask[k] = std::uint8_t((i >> (n - 1 - k)) & 1u);
  return mask;
}

/// All 2^n failure combinations in index order.
inline std::vector<FailureMask> failure_combinations(std::size_t n) {
  require(n <= 20, "failure_combinations: ", n, " failable nodes give too many combinations");
  std::vector<FailureMask> out;
  for (std::size_t i = 0; i < (std::size_t(1) << n); ++i) out.push_back(failure_combination(i, n));
  return out;
}

/// Python-style list text of a mask, e.g. `[1, 0, 1]`.
inline std::string to_string(const FailureMask& mask) {
  std::string s = "[";
  for (std::size_t k = 0; k < mask.size(); ++k) s += (k ? ", " : "") + std::to_string(int(mask[k]));
  return s + "]";
}

/// Probability of `mask` when node k is alive independently with probability reliability[k].
inline double combination_probability(const FailureMask& mask,
                                       const std::vector<double>& reliability) {
  require<ShapeError>(mask.size() == reliability.size(), "combination_probability: ",
                      reliability.size(), " reliabilities for ", mask.size(), " nodes");
  double p = 1.0;
  for (std::size_t k = 0; k < mask.size(); ++k) {
    require(reliability[k] >= 0 && reliability[k] <= 1, "reliability must be in [0, 1], got ",
            reliability[k]);
    p *= mask[k] ? reliability[k] : 1.0 - reliability[k];
  }
  return p;
}

}  // namespace resilinet
