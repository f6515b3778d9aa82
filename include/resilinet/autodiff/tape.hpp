#pragma once
/// \file
/// Tape<T>, Var<T>, Node<T>, Parameter<T>: reverse-mode automatic differentiation.
///
/// Ops are appended to the tape in execution order, so backward() is one reverse loop. Each
/// op's backward *accumulates* (`+=`) into its inputs' gradients, so a value feeding several
/// consumers (a node output feeding both its main link and a skip hyperconnection) is correct
/// by construction. Clearing the tape keeps its nodes: when the next step records the same
/// sequence of ops, every node and buffer is reused and training allocates nothing.

#include <cstddef>
#include <memory>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/core/tensor.hpp"

namespace resilinet {

template <class T>
class Tape;

/// One value in a computation: its tensor, its gradient and how to propagate that gradient.
template <class T>
class Node {
 public:
  virtual ~Node() = default;

  /// The forward value.
  Tensor<T> value;
  /// d(loss)/d(value), same shape as value once backward has run.
  Tensor<T> grad;
  /// Whether gradients flow into this node (false for data and constants).
  bool requires_grad = false;

  /// Adds this node's gradient contribution into its inputs' gradients.
  virtual void backward() {}

 private:
  friend class Tape<T>;
  std::size_t tape_index_ = static_cast<std::size_t>(-1);
};

/// A trainable (or frozen) tensor owned by a module; it outlives every tape.
template <class T>
class Parameter : public Node<T> {
 public:
  /// Creates a parameter with a name (e.g. `edge_output_layer/kernel`) and an initial value.
  Parameter(std::string name, Tensor<T> initial, bool trainable = true) : name_(std::move(name)) {
    this->value = std::move(initial);
    this->grad = Tensor<T>(this->value.shape());
    this->requires_grad = trainable;
  }

  /// The parameter's name, unique within its module.
  const std::string& name() const { return name_; }

  /// Whether optimizers update this parameter.
  bool trainable() const { return this->requires_grad; }

  /// Sets the gradient to zero.
  void zero_grad() { this->grad.fill(T(0)); }

 private:
  std::string name_;
};

/// A handle to a value on a tape (or to a parameter); cheap to copy.
///
/// A Var is valid until its tape is cleared.
template <class T>
class Var {
 public:
  /// Creates an empty handle.
  Var() = default;

  /// Creates a handle to `node`, recorded on `tape` (null for parameters).
  Var(Node<T>* node, Tape<T>* tape) : node_(node), tape_(tape) {}

  /// Creates a handle to a parameter, usable as an op input.
  Var(Parameter<T>& p) : node_(&p), tape_(nullptr) {}  // NOLINT: implicit on purpose

  /// The forward value.
  const Tensor<T>& value() const { return node_->value; }

  /// The gradient (after Tape::backward).
  const Tensor<T>& grad() const { return node_->grad; }

  /// The shape of the value.
  const Shape& shape() const { return node_->value.shape(); }

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

  /// Records a data value (no gradient) holding a copy of `x`.
  Var<T> input(const Tensor<T>& x) {
    Node<T>& n = record<Node<T>>();
    n.value = x;
    n.requires_grad = false;
    return Var<T>(&n, this);
  }

  /// Records a data value holding rows [first, first+rows) of `x` (a mini-batch, no gradient).
  Var<T> input_rows(const Tensor<T>& x, std::size_t first, std::size_t rows) {
    Node<T>& n = record<Node<T>>();
    x.copy_rows(first, rows, n.value);
    n.requires_grad = false;
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

  /// Backpropagates from the scalar `loss`: zeroes the tape's gradients, sets d(loss)=1 and
  /// runs every op's backward in reverse order. Parameter gradients accumulate (see zero_grad).
  void backward(Var<T> loss) {
    require<ShapeError>(loss.value().size() == 1, "Tape::backward: loss must hold one value, got ",
                        loss.shape().str());
    require(loss.tape() == this && loss.node()->tape_index_ < size_,
            "Tape::backward: the loss was not recorded on this tape since its last clear()");
    const std::size_t last = loss.node()->tape_index_;
    for (std::size_t i = 0; i <= last; ++i) {
      Node<T>& n = *nodes_[i];
      if (!n.requires_grad) continue;
      n.grad.resize(n.value.shape());
      n.grad.fill(T(0));
    }
    if (!loss.requires_grad()) return;
    loss.node()->grad[0] = T(1);
    for (std::size_t i = last + 1; i-- > 0;)
      if (nodes_[i]->requires_grad) nodes_[i]->backward();
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

/// Adds `n` values of `src` element-wise into `dst`.
template <class T>
void accumulate(T* dst, const T* src, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] += src[i];
}

}  // namespace detail

}  // namespace resilinet
