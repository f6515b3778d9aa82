#pragma once
/// \file
/// BatchSource<T>: where training and evaluation get their mini-batches from.
///
/// fit(), evaluate() and the per-combination evaluation read batches through this interface,
/// so a dataset held in memory, one augmented afresh every epoch, and a folder streamed from
/// disk (ImageNet does not fit in memory) are interchangeable.

#include <algorithm>
#include <numeric>
#include <vector>

#include "resilinet/core/rng.hpp"
#include "resilinet/core/tensor.hpp"
#include "resilinet/data/dataset.hpp"

namespace resilinet {

/// A sequence of labelled examples delivered in mini-batches, one epoch at a time.
template <class T>
class BatchSource {
 public:
  virtual ~BatchSource() = default;

  /// Number of examples one epoch delivers.
  virtual std::size_t size() const = 0;

  /// Starts an epoch; a shuffling source draws its order (and any augmentation) from `rng`.
  virtual void start_epoch(Rng& rng) = 0;

  /// Writes the next batch of up to `batch_size` examples into `x` and `y`; returns false
  /// (leaving them untouched) when the epoch is over.
  virtual bool next(std::size_t batch_size, Tensor<T>& x, std::vector<int>& y) = 0;

  /// Batches in one epoch: ceil(size() / batch_size).
  std::size_t steps_per_epoch(std::size_t batch_size) const {
    require(batch_size > 0, "steps_per_epoch: batch_size must be positive, got ", batch_size);
    return (size() + batch_size - 1) / batch_size;
  }
};

/// Batches of a Dataset held in memory, in a fresh random order each epoch or in order.
///
/// Keeps a reference: the dataset must outlive the source.
template <class T>
class DatasetSource : public BatchSource<T> {
 public:
  /// Serves `data`, shuffled at every start_epoch() when `shuffle` is true.
  explicit DatasetSource(const Dataset<T>& data, bool shuffle = false)
      : data_(data), shuffle_(shuffle), order_(data.size()) {
    data.validate();
    std::iota(order_.begin(), order_.end(), std::size_t(0));
  }

  /// Number of examples.
  std::size_t size() const override { return data_.size(); }

  /// Rewinds; draws a fresh order from `rng` when the source shuffles (the order depends only
  /// on `rng`, not on earlier epochs).
  void start_epoch(Rng& rng) override {
    std::iota(order_.begin(), order_.end(), std::size_t(0));
    if (shuffle_) rng.shuffle(order_);
    next_ = 0;
  }

  /// The next examples in the epoch's order.
  bool next(std::size_t batch_size, Tensor<T>& x, std::vector<int>& y) override {
    require(batch_size > 0, "DatasetSource::next: batch_size must be positive, got ", batch_size);
    if (next_ >= order_.size()) return false;
    const std::size_t rows = std::min(batch_size, order_.size() - next_);
    data_.x.gather_rows(order_.data() + next_, rows, x);
    y.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) y[i] = data_.y[order_[next_ + i]];
    next_ += rows;
    return true;
  }

 private:
  const Dataset<T>& data_;
  bool shuffle_;
  std::vector<std::size_t> order_;
  std::size_t next_ = 0;
};

}  // namespace resilinet
