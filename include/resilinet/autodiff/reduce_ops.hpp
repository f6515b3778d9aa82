#pragma once
/// \file
/// Reductions to a scalar: sum and mean.

#include "resilinet/autodiff/tape.hpp"

namespace resilinet {
namespace detail {

/// y = scale·Σx (scale 1 for sum, 1/n for mean).
template <class T>
struct SumOp : Node<T> {
  Node<T>* x = nullptr;
  T scale = T(1);
  std::size_t n = 0;
  void backward() override {
    const T g = this->grad[0] * scale;
    add_grad_with(*x, n, [g](std::size_t) { return g; });
  }
};

template <class T>
Var<T> scaled_sum(Var<T> x, bool mean) {
  Tape<T>& tape = tape_of({x});
  auto& op = tape.template record<SumOp<T>>();
  op.x = x.node();
  const std::size_t n = x.value().size();
  op.n = n;
  op.scale = mean ? T(1) / T(n ? n : 1) : T(1);
  op.requires_grad = x.requires_grad();
  op.value.resize(Shape{});
  T acc = T(0);
  for (T v : x.value()) acc += v;
  op.value[0] = acc * op.scale;
  return Var<T>(&op, &tape);
}

}  // namespace detail

/// The sum of every element, as a scalar (rank 0).
template <class T>
Var<T> sum(Var<T> x) { return detail::scaled_sum(x, false); }

/// The mean of every element, as a scalar (rank 0).
template <class T>
Var<T> mean(Var<T> x) { return detail::scaled_sum(x, true); }

}  // namespace resilinet
