#pragma once
/// \file
/// ChannelSums<T>: two sums per channel over rows of a (rows, C) array, added up part by part
/// (one part per thread) and combined in part order; and OutputSums<T>, the per-channel Σv and
/// Σv² an op adds up over its own output while each block is still in cache, so that a
/// batch_norm() reading that output in training skips its own pass over it.

#include <algorithm>
#include <vector>

#include "resilinet/core/threads.hpp"

namespace resilinet {
namespace detail {

/// The f(row, acc) of ChannelSums::add for Σv and Σv² of channels [j0, j1) of v (c values per
/// row).
template <class T>
auto value_sums(const T* v, std::size_t c, std::size_t j0, std::size_t j1) {
  return [=](std::size_t r, T* acc) {
    const T* row = v + r * c;
    for (std::size_t k = j0; k < j1; ++k) {
      acc[k] += row[k];
      acc[c + k] += row[k] * row[k];
    }
  };
}

/// Per-channel pairs of sums (2C values) over rows. Each part adds blocks of at most 128 rows
/// in T (so the loop vectorises fully), then adds each block into its own double accumulators,
/// on cache lines of their own (with 24 channels two threads' sums once shared a line, written
/// on every row, and the second thread made the pass slower); the parts are combined in part
/// order, so the sums depend on the thread count only, never on timing.
template <class T>
class ChannelSums {
 public:
  /// Zeroes every part's sums over c channels.
  void start(std::size_t c) {
    c_ = c;
    parts_ = std::size_t(max_threads());
    partial_.assign(parts_ * part_stride<double>(2 * c), 0.0);
    block_.assign(parts_ * part_stride<T>(2 * c), T(0));
    sums_.clear();
  }

  /// Adds rows [first, end) to the calling part's sums: f(row, acc) adds the row's two
  /// contributions per channel k into acc[k] and acc[C + k].
  template <class F>
  void add(std::size_t first, std::size_t end, F&& f) {
    const std::size_t t = std::min(thread_index(), parts_ - 1);
    double* acc = partial_.data() + t * part_stride<double>(2 * c_);
    T* blk = block_.data() + t * part_stride<T>(2 * c_);
    for (std::size_t r0 = first; r0 < end; r0 += 128) {
      std::fill_n(blk, 2 * c_, T(0));
      for (std::size_t r = r0; r < std::min(end, r0 + 128); ++r) f(r, blk);
      for (std::size_t k = 0; k < 2 * c_; ++k) acc[k] += double(blk[k]);
    }
  }

  /// Adds Σv and Σv² of rows [first, end) × channels [j0, j1) of v (C values per row).
  void add_values(const T* v, std::size_t first, std::size_t end, std::size_t j0, std::size_t j1) {
    add(first, end, value_sums(v, c_, j0, j1));
  }

  /// Combines the parts' sums in part order: the first C values, then the second C.
  const std::vector<double>& combine() {
    const std::size_t stride = part_stride<double>(2 * c_);
    sums_.assign(2 * c_, 0.0);
    for (std::size_t t = 0; t < parts_; ++t)
      for (std::size_t k = 0; k < 2 * c_; ++k) sums_[k] += partial_[t * stride + k];
    return sums_;
  }

  /// The combined sums (empty before combine()).
  const std::vector<double>& sums() const { return sums_; }

  /// Forgets the combined sums.
  void clear() { sums_.clear(); }

 private:
  std::size_t c_ = 0, parts_ = 1;
  std::vector<T> block_;
  std::vector<double> partial_, sums_;
};

/// Per-channel sums over `rows` rows of c channels, split over the threads: f(row, acc) as in
/// ChannelSums::add. Returns the combined sums.
template <class T, class F>
const std::vector<double>& channel_sums(ChannelSums<T>& sums, std::size_t rows, std::size_t c,
                                        std::size_t grain, F&& f) {
  sums.start(c);
  parallel_for(
      rows, [&](std::size_t first, std::size_t end, std::size_t) { sums.add(first, end, f); },
      grain);
  return sums.combine();
}

/// A base of ops whose output (rows, C) may carry its per-channel Σv and Σv², added up while
/// the op wrote it (in training only).
template <class T>
struct OutputSums {
  /// Σv then Σv² per channel of the op's output; sums() is empty when the op did not add them.
  ChannelSums<T> output_sums;
};

}  // namespace detail
}  // namespace resilinet
