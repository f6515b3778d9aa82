#pragma once
/// \file
/// Activation functions as tape ops: relu, relu6, identity (linear).

#include <algorithm>
#include <string>

#include "resilinet/autodiff/tape.hpp"

namespace resilinet {

/// Element-wise activation applied after a layer's affine map.
enum class Activation { linear, relu, relu6 };

/// The Keras name of an activation ("linear", "relu", "relu6").
inline std::string to_string(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::relu6: return "relu6";
    default: return "linear";
  }
}

namespace detail {

/// Applies `act` in place to n values.
template <class T>
void activate(Activation act, T* y, std::size_t n) {
  if (act == Activation::relu)
    for (std::size_t i = 0; i < n; ++i) y[i] = std::max(y[i], T(0));
  else if (act == Activation::relu6)
    for (std::size_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], T(0)), T(6));
}

/// Writes dz = dy·act'(z) computed from the activation's *output* y (valid for these three).
template <class T>
void activation_backward(Activation act, const T* y, const T* dy, T* dz, std::size_t n) {
  if (act == Activation::relu)
    for (std::size_t i = 0; i < n; ++i) dz[i] = y[i] > T(0) ? dy[i] : T(0);
  else if (act == Activation::relu6)
    for (std::size_t i = 0; i < n; ++i) dz[i] = (y[i] > T(0) && y[i] < T(6)) ? dy[i] : T(0);
  else
    std::copy(dy, dy + n, dz);
}

/// y = act(x) element-wise; backward multiplies by act'.
template <class T>
struct ActivationOp : Node<T> {
  Node<T>* x = nullptr;
  Activation act = Activation::linear;
  Tensor<T> scratch;
  void backward() override {
    const std::size_t n = this->value.size();
    scratch.resize(this->value.shape());
    activation_backward(act, this->value.data(), this->grad.data(), scratch.data(), n);
    accumulate(x->grad.data(), scratch.data(), n);
  }
};

}  // namespace detail

/// Element-wise activation `act(x)` recorded on the tape.
template <class T>
Var<T> activate(Var<T> x, Activation act) {
  Tape<T>& tape = detail::tape_of({x});
  auto& op = tape.template record<detail::ActivationOp<T>>();
  op.x = x.node();
  op.act = act;
  op.requires_grad = x.requires_grad();
  op.value = x.value();
  detail::activate(act, op.value.data(), op.value.size());
  return Var<T>(&op, &tape);
}

/// max(x, 0) element-wise.
template <class T>
Var<T> relu(Var<T> x) { return activate(x, Activation::relu); }

/// min(max(x, 0), 6) element-wise.
template <class T>
Var<T> relu6(Var<T> x) { return activate(x, Activation::relu6); }

/// The identity (Keras "linear" activation), recorded as its own op.
template <class T>
Var<T> identity(Var<T> x) { return activate(x, Activation::linear); }

}  // namespace resilinet
