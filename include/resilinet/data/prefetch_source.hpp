#pragma once
/// \file
/// PrefetchSource<T>: prepares the next batch of another source on a background thread.

#include <future>
#include <vector>

#include "resilinet/core/threads.hpp"
#include "resilinet/data/batch_source.hpp"

namespace resilinet {

/// Wraps a source so that decoding and augmentation of batch k+1 overlap training on batch k.
///
/// The wrapped source is called in exactly the same order as without prefetching, so the
/// batches (and every random draw) are identical; the background thread runs its kernels
/// serially (SerialScope), leaving the thread pool to training. The wrapped source must
/// outlive this one.
template <class T>
class PrefetchSource : public BatchSource<T> {
 public:
  /// Prefetches batches of `batch_size` from `inner`.
  PrefetchSource(BatchSource<T>& inner, std::size_t batch_size)
      : inner_(inner), batch_size_(batch_size) {
    require(batch_size > 0, "PrefetchSource: batch_size must be positive, got ", batch_size);
  }

  ~PrefetchSource() override { wait(); }

  /// Examples per epoch of the wrapped source.
  std::size_t size() const override { return inner_.size(); }

  /// Starts the wrapped source's epoch and begins preparing its first batch.
  void start_epoch(Rng& rng) override {
    wait();
    inner_.start_epoch(rng);
    launch();
  }

  /// The prepared batch (requires the batch size given at construction); starts the next.
  bool next(std::size_t batch_size, Tensor<T>& x, std::vector<int>& y) override {
    require(batch_size == batch_size_, "PrefetchSource: built for batches of ", batch_size_,
            ", asked for ", batch_size);
    if (!pending_.valid()) return false;
    const bool more = pending_.get();  // rethrows the background thread's error
    if (!more) return false;
    std::swap(x, x_);
    std::swap(y, y_);
    launch();
    return true;
  }

 private:
  void launch() {
    pending_ = std::async(std::launch::async, [this] {
      SerialScope serial;
      return inner_.next(batch_size_, x_, y_);
    });
  }

  void wait() {
    if (pending_.valid()) pending_.wait();
    pending_ = {};
  }

  BatchSource<T>& inner_;
  std::size_t batch_size_;
  Tensor<T> x_;
  std::vector<int> y_;
  std::future<bool> pending_;
};

}  // namespace resilinet
