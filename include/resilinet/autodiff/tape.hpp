#pragma once
/// \file
/// Tape<T>, Var<T>, Node<T>, Parameter<T>: reverse-mode automatic differentiation.
///
/// Ops are appended to the tape in execution order, so backward() is one reverse loop. Each
/// op's backward *accumulates* into its inputs' gradients (the first writer of a pass assigns,
/// later ones add), so a value feeding several consumers (a node output feeding both its main
/// link and a skip hyperconnection) is correct by construction and nothing is zero-filled. Clearing the tape keeps its nodes: when the next step records the same
/// sequence of ops, every node and buffer is reused and training allocates nothing.

#include <cstddef>
#include <memory>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/core/tensor.hpp"
#include "resilinet/core/tensor_view.hpp"
#include "resilinet/core/threads.hpp"

namespace resilinet {

template <class T>
class Tape;

/// One value in a computation: its tensor, its gradient and how to propagate that gradient.
///
/// Op implementers write gradients through detail::add_grad() and friends: the first writer of
/// a backward pass assigns, later writers add, so no gradient is ever zero-filled first.
template <class T>
class Node {
 public:
  virtual ~Node() = default;

  /// The forward value.
  Tensor<T> value;
  /// d(loss)/d(value), same size as value once a backward pass has reached this node.
  Tensor<T> grad;
  /// Whether gradients flow into this node (false for data and constants).
  bool requires_grad = false;
  /// Whether `grad` holds a value in the current backward pass (parameters: unless zeroed
  /// by zero_grad() and not written since).
  bool grad_written = false;

  /// The gradient, holding zeros if nothing has written it (a parameter after zero_grad()).
  Tensor<T>& written_grad() {
    if (!grad_written) {
      grad.fill(T(0));
      grad_written = true;
    }
    return grad;
  }

  /// Adds this node's gradient contribution into its inputs' gradients.
  virtual void backward() {}

 private:
  friend class Tape<T>;
  std::size_t tape_index_ = static_cast<std::size_t>(-1);
};

/// A trainable (or frozen) tensor owned by a module; it outlives every tape.
///
/// Its value can change but never its shape: set_value() checks the shape and the element
/// views cannot resize, so a wrongly shaped assignment is an error, not a memory corruption.
template <class T>
class Parameter : public Node<T> {
 public:
  /// Creates a parameter with a name (e.g. `edge_output_layer/kernel`) and an initial value.
  Parameter(std::string name, Tensor<T> initial, bool trainable = true) : name_(std::move(name)) {
    Node<T>::value = std::move(initial);
    Node<T>::grad = Tensor<T>(Node<T>::value.shape());
    this->requires_grad = trainable;
    this->grad_written = true;  // a zero gradient, which backward passes add to
  }

  /// The parameter's name, unique within its module.
  const std::string& name() const { return name_; }

  /// Whether optimizers update this parameter.
  bool trainable() const { return this->requires_grad; }

  /// The current value.
  const Tensor<T>& value() const { return Node<T>::value; }

  /// The value's elements, writable in place but not resizable.
  TensorView<T> mutable_value() { return Node<T>::value.view(); }

  /// Replaces the value; throws ShapeError naming the parameter unless the shapes match.
  void set_value(TensorView<const T> v) {
    require<ShapeError>(v.shape() == Node<T>::value.shape(), "parameter '", name_,
                        "': cannot assign a value of shape ", v.shape(), " to shape ",
                        Node<T>::value.shape());
    std::copy(v.begin(), v.end(), Node<T>::value.begin());
  }

  /// The accumulated gradient (zeros after zero_grad() until a backward pass writes it).
  const Tensor<T>& grad() { return this->written_grad(); }

  /// The gradient's elements, writable in place but not resizable.
  TensorView<T> mutable_grad() { return this->written_grad().view(); }

  /// Sets the gradient to zero. Lazily: the next backward pass's first writer assigns it
  /// (a GEMM with beta 0, not one adding to zeros written in a serial pass: 2.4 of ResNet-18's
  /// 43.4 ms per step on 2 threads), and reading it before then fills it with zeros.
  void zero_grad() { this->grad_written = false; }

 private:
  std::string name_;
};

/// A handle to a value on a tape (or to a parameter), seen under its own shape; cheap to copy.
///
/// reshape() returns a Var onto the same node under another shape, so reshaping never copies
/// and records nothing. A Var is valid until its tape is cleared.
template <class T>
class Var {
 public:
  /// Creates an empty handle.
  Var() = default;

  /// Creates a handle to `node` (whose value is already computed), recorded on `tape`.
  Var(Node<T>* node, Tape<T>* tape) : node_(node), tape_(tape), shape_(node->value.shape()) {}

  /// Creates a handle to `node` seen under `shape` (same element count).
  Var(Node<T>* node, Tape<T>* tape, const Shape& shape) : node_(node), tape_(tape), shape_(shape) {}

  /// Creates a handle to a parameter, usable as an op input.
  Var(Parameter<T>& p) : Var(&p, nullptr) {}  // NOLINT: implicit on purpose

  /// The forward value.
  TensorView<const T> value() const { return {node_->value.data(), shape_}; }

  /// The gradient (after Tape::backward).
  TensorView<const T> grad() const { return {node_->written_grad().data(), shape_}; }

  /// The shape of the value.
  const Shape& shape() const { return shape_; }

  /// Whether gradients flow into this value.
  bool requires_grad() const { return node_->requires_grad; }

  /// The underlying node.
  Node<T>* node() const { return node_; }

  /// The tape this value was recorded on (null for parameters).
  Tape<T>* tape() const { return tape_; }

  /// True when the handle refers to a value.
  explicit operator bool() const { return node_ != nullptr; }

 private:
  Node<T>* node_ = nullptr;
  Tape<T>* tape_ = nullptr;
  Shape shape_;
};

/// Records ops in execution order and runs backpropagation over them.
template <class T>
class Tape {
  static_assert(std::is_floating_point_v<T>, "Tape<T> requires a floating-point T");

 public:
  /// Creates an empty tape.
  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// Forgets every recorded op but keeps the nodes, so the next step reuses their buffers.
  void clear() { size_ = 0; }

  /// Number of ops recorded since the last clear().
  std::size_t size() const { return size_; }

  /// Forgets the ops recorded after the first `n` (their nodes stay for reuse); values
  /// recorded before stay valid. Lets a search record, undo and record another branch.
  void truncate(std::size_t n) {
    require(n <= size_, "Tape::truncate: ", n, " is beyond the ", size_, " recorded ops");
    size_ = n;
  }

  /// Records a copy of `x` as data; with `requires_grad` backward also computes d(loss)/dx.
  Var<T> input(TensorView<const T> x, bool requires_grad = false) {
    Node<T>& n = record<Node<T>>();
    n.value.assign(x);
    n.requires_grad = requires_grad;
    return Var<T>(&n, this);
  }

  /// A handle to `p` tied to this tape, for ops whose only inputs are parameters.
  Var<T> param(Parameter<T>& p) { return Var<T>(&p, this); }

  /// Returns the node at the next position, reusing the one left there if it is also an `Op`.
  template <class Op>
  Op& record() {
    if (size_ == nodes_.size()) {
      nodes_.push_back(std::make_unique<Op>());
    } else {
      Node<T>& old = *nodes_[size_];
      if (typeid(old) != typeid(Op)) nodes_[size_] = std::make_unique<Op>();
    }
    Node<T>& n = *nodes_[size_];
    n.tape_index_ = size_++;
    return static_cast<Op&>(n);
  }

  /// Backpropagates from the scalar `loss` (d(loss)/d(loss) = 1). Parameter gradients
  /// accumulate across calls (see Optimizer::zero_grad).
  void backward(Var<T> loss) {
    require<ShapeError>(loss.value().size() == 1, "Tape::backward: loss must hold one value, got ",
                        loss.shape());
    const T one(1);
    backward(loss, TensorView<const T>(&one, loss.shape()));
  }

  /// Backpropagates an arbitrary upstream gradient `dy` (same shape as `y`) through the ops
  /// recorded up to `y`.
  void backward(Var<T> y, TensorView<const T> dy) {
    require<ShapeError>(dy.shape() == y.shape(), "Tape::backward: upstream gradient of shape ",
                        dy.shape(), " for a value of shape ", y.shape());
    require(y.tape() == this && y.node()->tape_index_ < size_ &&
                nodes_[y.node()->tape_index_].get() == y.node(),
            "Tape::backward: the value was not recorded on this tape since its last clear()");
    const std::size_t last = y.node()->tape_index_;
    for (std::size_t i = 0; i <= last; ++i) {
      Node<T>& n = *nodes_[i];
      n.grad_written = false;
      if (n.requires_grad) n.grad.resize(n.value.shape());  // sized, never zero-filled
    }
    if (!y.requires_grad()) return;
    std::copy(dy.begin(), dy.end(), y.node()->grad.begin());
    y.node()->grad_written = true;
    for (std::size_t i = last + 1; i-- > 0;) {
      Node<T>& n = *nodes_[i];
      if (n.requires_grad && n.grad_written) n.backward();
    }
    // A value no gradient reached has d(loss)/d(value) = 0; say so for readers of grad().
    for (std::size_t i = 0; i <= last; ++i)
      if (nodes_[i]->requires_grad) nodes_[i]->written_grad();
  }

 private:
  std::vector<std::unique_ptr<Node<T>>> nodes_;
  std::size_t size_ = 0;
};

namespace detail {

/// The tape shared by op inputs (a parameter has none); throws when no input is on a tape.
template <class T, class It>
Tape<T>& tape_of(It first, It last) {
  for (; first != last; ++first) {
    require(static_cast<bool>(*first), "autodiff: an op input is an empty Var");
    if (first->tape()) return *first->tape();
  }
  throw ValueError("autodiff: no op input was recorded on a tape (record data with Tape::input)");
}

/// The tape shared by a fixed list of op inputs.
template <class T>
Tape<T>& tape_of(std::initializer_list<Var<T>> inputs) {
  return tape_of<T>(inputs.begin(), inputs.end());
}

/// The tape shared by a runtime list of op inputs.
template <class T>
Tape<T>& tape_of(const std::vector<Var<T>>& inputs) {
  return tape_of<T>(inputs.begin(), inputs.end());
}

/// Sets dst.grad[i] = f(i) for the first writer of this backward pass, else adds f(i), split
/// over threads.
template <class T, class F>
void add_grad_with(Node<T>& dst, std::size_t n, F&& f) {
  T* d = dst.grad.data();
  if (dst.grad_written) {
    parallel_for_each(n, [&](std::size_t i) { d[i] += f(i); });
  } else {
    parallel_for_each(n, [&](std::size_t i) { d[i] = f(i); });
    dst.grad_written = true;
  }
}

/// Adds `n` values of `src` into dst's gradient (assigns for the first writer).
template <class T>
void add_grad(Node<T>& dst, const T* src, std::size_t n) {
  add_grad_with(dst, n, [src](std::size_t i) { return src[i]; });
}

/// The GEMM beta for writing into dst's gradient: 0 for the first writer, else 1. Marks the
/// gradient written, so call it right before the product that writes it.
template <class T>
T grad_beta(Node<T>& dst) {
  const T beta = dst.grad_written ? T(1) : T(0);
  dst.grad_written = true;
  return beta;
}

}  // namespace detail

}  // namespace resilinet
