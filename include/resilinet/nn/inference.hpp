#pragma once
/// \file
/// Inference<T>: the state of tape-free inference (activation buffers, context, fallback tape).

#include <deque>
#include <utility>
#include <vector>

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
/// serves one thread; outputs stay valid until its next run(). Modules keep no state of a
/// pass (infer() is const), so threads may share one network, each with its own Inference.
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
  TensorView<const T> run(const M& module, TensorView<const T> x, Extra&&... extra) {
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

  /// The next list of `n` empty views (e.g. a network's outputs per node), from lists kept
  /// between runs; valid until the next run().
  std::vector<TensorView<const T>>& view_list(std::size_t n) {
    if (next_list_ == lists_.size()) lists_.emplace_back();
    std::vector<TensorView<const T>>& list = lists_[next_list_++];
    list.assign(n, TensorView<const T>());
    return list;
  }

  /// Where the next buffer, view list (and fallback-tape op) will come from.
  struct Mark {
    /// Buffers handed out before the mark.
    std::size_t buffers = 0;
    /// View lists handed out before the mark.
    std::size_t lists = 0;
    /// Ops on the fallback tape before the mark.
    std::size_t ops = 0;
  };

  /// The current position, to hand everything after it back with release().
  Mark mark() const { return {next_, next_list_, tape_.size()}; }

  /// Hands back every buffer and view list given out (and fallback op recorded) since `m` was
  /// taken; outputs before it stay valid, later ones are overwritten by the next calls.
  void release(const Mark& m) {
    require(m.buffers <= next_ && m.lists <= next_list_, "Inference::release: mark at buffer ",
            m.buffers, " and list ", m.lists, " is beyond the ", next_, " and ", next_list_, " in use");
    next_ = m.buffers;
    next_list_ = m.lists;
    tape_.truncate(m.ops);
  }

  /// Output shapes a network inferred through this Inference and what they were inferred
  /// for (PartitionedNetwork::node_output_shapes keeps them here, not on the network).
  struct ShapeMemo {
    /// The network they belong to.
    const void* network = nullptr;
    /// The example shape (leading 1) they were inferred for.
    Shape example;
    /// The network's size (links and layers) then: a grown network infers them again.
    std::size_t structure = 0;
    /// Every node's output shape for one example.
    std::vector<Shape> shapes;
  };

  /// The memo of node output shapes.
  ShapeMemo& shape_memo() { return memo_; }

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
  std::deque<std::vector<TensorView<const T>>> lists_;
  std::size_t next_list_ = 0;
  ShapeMemo memo_;
  Context<T> ctx_{Mode::infer};
  Tape<T> tape_;
};

}  // namespace resilinet
