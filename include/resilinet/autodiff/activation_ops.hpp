#pragma once
/// \file
/// Activation functions as tape ops: relu, relu6, identity (linear).

#include <algorithm>
#include <string>

#include "resilinet/autodiff/tape.hpp"
#include "resilinet/core/threads.hpp"

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

/// Calls `f` with the activation as a function of one value, so loops inline one rule each.
template <class T, class F>
void with_activation(Activation act, F&& f) {
  if (act == Activation::relu)
    f([](T v) { return std::max(v, T(0)); });
  else if (act == Activation::relu6)
    f([](T v) { return std::min(std::max(v, T(0)), T(6)); });
  else
    f([](T v) { return v; });
}

/// Applies `act` in place to n values, on the calling thread (e.g. a product's rows as they
/// are finished).
template <class T>
void activate(Activation act, T* y, std::size_t n) {
  if (act == Activation::linear) return;
  with_activation<T>(act, [&](auto a) {
    for (std::size_t i = 0; i < n; ++i) y[i] = a(y[i]);
  });
}

/// y = act(x) over n values, split over threads.
template <class T>
void activate(Activation act, const T* x, T* y, std::size_t n) {
  with_activation<T>(act, [&](auto a) {
    parallel_for_each(n, [&](std::size_t i) { y[i] = a(x[i]); });
  });
}

/// Calls `f` with the activation's derivative rule d(y, dy) = dy·act'(z), written in terms of
/// the activation's *output* y (valid for these three), so loops inline one rule each.
template <class T, class F>
void with_activation_grad(Activation act, F&& f) {
  if (act == Activation::relu)
    f([](T y, T dy) { return y > T(0) ? dy : T(0); });
  else if (act == Activation::relu6)
    f([](T y, T dy) { return (y > T(0) && y < T(6)) ? dy : T(0); });
  else
    f([](T, T dy) { return dy; });
}

/// Calls `f` with the derivative rule d(v, dy) = dy·act'(v) in terms of the activation's
/// *input* v, taken as the output rule at act(v), so it masks exactly where act clamped v.
template <class T, class F>
void with_activation_grad_at_input(Activation act, F&& f) {
  with_activation<T>(act, [&](auto a) {
    with_activation_grad<T>(act, [&](auto d) { f([a, d](T v, T dy) { return d(a(v), dy); }); });
  });
}

/// y = act(x) element-wise; backward multiplies by act'.
template <class T>
struct ActivationOp : Node<T> {
  Node<T>* x = nullptr;
  Activation act = Activation::linear;
  void backward() override {
    const T* y = this->value.data();
    const T* g = this->grad.data();
    with_activation_grad<T>(act, [&](auto d) {
      add_grad_with(*x, this->value.size(), [&](std::size_t i) { return d(y[i], g[i]); });
    });
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
  op.value.resize(x.shape());
  detail::activate(act, x.value().data(), op.value.data(), op.value.size());
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
