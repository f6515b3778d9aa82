#pragma once
/// \file
/// Element-wise arithmetic ops: add, subtract, multiply (tensor and scalar).

#include "resilinet/autodiff/tape.hpp"
#include "resilinet/core/threads.hpp"

namespace resilinet {
namespace detail {

/// Throws unless two op inputs have the same shape.
template <class T>
void require_same_shape(const char* op, Var<T> a, Var<T> b) {
  require<ShapeError>(a.shape() == b.shape(), op, ": shapes ", a.shape(), " and ",
                      b.shape(), " differ");
}

/// y = a + sign·b (sign = +1 for add, −1 for subtract).
template <class T>
struct AddOp : Node<T> {
  Node<T>* a = nullptr;
  Node<T>* b = nullptr;
  T sign = T(1);
  void backward() override {
    const std::size_t n = this->value.size();
    const T* g = this->grad.data();
    if (a->requires_grad) add_grad(*a, g, n);
    if (b->requires_grad) add_grad_with(*b, n, [&](std::size_t i) { return sign * g[i]; });
  }
};

/// y = a ⊙ b.
template <class T>
struct MulOp : Node<T> {
  Node<T>* a = nullptr;
  Node<T>* b = nullptr;
  void backward() override {
    const std::size_t n = this->value.size();
    const T* g = this->grad.data();
    const T* va = a->value.data();
    const T* vb = b->value.data();
    if (a->requires_grad) add_grad_with(*a, n, [&](std::size_t i) { return g[i] * vb[i]; });
    if (b->requires_grad) add_grad_with(*b, n, [&](std::size_t i) { return g[i] * va[i]; });
  }
};

/// y = s·x for a fixed scalar s.
template <class T>
struct ScaleOp : Node<T> {
  Node<T>* x = nullptr;
  T s = T(1);
  void backward() override {
    const T* g = this->grad.data();
    add_grad_with(*x, this->value.size(), [&](std::size_t i) { return s * g[i]; });
  }
};

/// out = a + sign·b over n values: the forward pass of add() and subtract().
template <class T>
void add_forward(const T* a, const T* b, T sign, std::size_t n, T* out) {
  parallel_for_each(n, [&](std::size_t i) { out[i] = a[i] + sign * b[i]; });
}

/// out = s·x over n values: the forward pass of multiply(x, s).
template <class T>
void scale_forward(const T* x, T s, std::size_t n, T* out) {
  parallel_for_each(n, [&](std::size_t i) { out[i] = s * x[i]; });
}

template <class T>
Var<T> add_signed(const char* name, Var<T> a, Var<T> b, T sign) {
  require_same_shape(name, a, b);
  Tape<T>& tape = tape_of({a, b});
  auto& op = tape.template record<AddOp<T>>();
  op.a = a.node();
  op.b = b.node();
  op.sign = sign;
  op.requires_grad = a.requires_grad() || b.requires_grad();
  op.value.resize(a.shape());
  add_forward(a.value().data(), b.value().data(), sign, op.value.size(), op.value.data());
  return Var<T>(&op, &tape);
}

}  // namespace detail

/// a + b element-wise (same shapes).
template <class T>
Var<T> add(Var<T> a, Var<T> b) { return detail::add_signed("add", a, b, T(1)); }

/// a − b element-wise (same shapes).
template <class T>
Var<T> subtract(Var<T> a, Var<T> b) { return detail::add_signed("subtract", a, b, T(-1)); }

/// a ⊙ b element-wise (same shapes).
template <class T>
Var<T> multiply(Var<T> a, Var<T> b) {
  detail::require_same_shape("multiply", a, b);
  Tape<T>& tape = detail::tape_of({a, b});
  auto& op = tape.template record<detail::MulOp<T>>();
  op.a = a.node();
  op.b = b.node();
  op.requires_grad = a.requires_grad() || b.requires_grad();
  op.value.resize(a.shape());
  const T* x = a.value().data();
  const T* y = b.value().data();
  T* out = op.value.data();
  parallel_for_each(op.value.size(), [&](std::size_t i) { out[i] = x[i] * y[i]; });
  return Var<T>(&op, &tape);
}

/// s·x for a fixed (non-trainable) scalar s, e.g. a hyperconnection weight.
template <class T>
Var<T> multiply(Var<T> x, T s) {
  Tape<T>& tape = detail::tape_of({x});
  auto& op = tape.template record<detail::ScaleOp<T>>();
  op.x = x.node();
  op.s = s;
  op.requires_grad = x.requires_grad();
  op.value.resize(x.shape());
  detail::scale_forward(x.value().data(), s, op.value.size(), op.value.data());
  return Var<T>(&op, &tape);
}

}  // namespace resilinet
