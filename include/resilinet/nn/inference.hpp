#pragma once
/// \file
/// Inference<T>: the state of tape-free inference (activation buffers, context, fallback tape).

#include <deque>
#include <utility>

#include "resilinet/autodiff/tape.hpp"
#include "resilinet/core/context.hpp"
#include "resilinet/core/tensor.hpp"
#include "resilinet/core/tensor_view.hpp"

namespace resilinet {

/// What a module's infer() needs besides its input: activation buffers handed out in call
/// order and kept for the next call, and an inference Context (scratch memory for kernels).
///
/// Nothing is recorded and no gradient buffer exists: once a first call has sized the
/// buffers, running the same network on same-sized inputs allocates nothing. One Inference
/// serves one thread; outputs stay valid until its next run().
template <class T>
class Inference {
 public:
  /// Creates the state; buffers grow on first use.
  Inference() = default;
  Inference(const Inference&) = delete;
  Inference& operator=(const Inference&) = delete;

  /// Runs `module.infer(x, *this, extra...)` from fresh buffers and returns its output
  /// (e.g. `run(net, x)`, or `run(net, x, mask)` for a PartitionedNetwork under failures).
  template <class M, class... Extra>
  TensorView<const T> run(M& module, TensorView<const T> x, Extra&&... extra) {
    reset();
    return module.infer(x, *this, std::forward<Extra>(extra)...);
  }

  /// The next activation buffer, sized to `shape` (contents undefined); valid until the
  /// next run().
  TensorView<T> buffer(const Shape& shape) {
    if (next_ == buffers_.size()) buffers_.emplace_back();
    Tensor<T>& t = buffers_[next_++];
    t.resize(shape);
    return t.view();
  }

  /// Where the next buffer (and fallback-tape op) will come from.
  struct Mark {
    /// Buffers handed out before the mark.
    std::size_t buffers = 0;
    /// Ops on the fallback tape before the mark.
    std::size_t ops = 0;
  };

  /// The current position, to hand everything after it back with release().
  Mark mark() const { return {next_, tape_.size()}; }

  /// Hands back every buffer given out (and fallback op recorded) since `m` was taken;
  /// outputs before it stay valid, later ones are overwritten by the next calls.
  void release(const Mark& m) {
    require(m.buffers <= next_, "Inference::release: mark at buffer ", m.buffers, " is beyond the ",
            next_, " in use");
    next_ = m.buffers;
    tape_.truncate(m.ops);
  }

  /// Hands back every buffer: what run() does before running a module.
  void reset() { release(Mark{}); }

  /// The inference-mode context kernels take scratch memory from.
  Context<T>& context() { return ctx_; }

  /// A tape for modules without a tape-free path of their own (Module::infer's default);
  /// cleared by run().
  Tape<T>& fallback_tape() { return tape_; }

 private:
  std::deque<Tensor<T>> buffers_;  // a deque keeps earlier buffers in place as it grows
  std::size_t next_ = 0;
  Context<T> ctx_{Mode::infer};
  Tape<T> tape_;
};

}  // namespace resilinet
