#pragma once
/// \file
/// dropout(): inverted dropout drawing its mask from an Rng.

#include <cstdint>
#include <vector>

#include "resilinet/autodiff/tape.hpp"
#include "resilinet/core/context.hpp"
#include "resilinet/core/rng.hpp"

namespace resilinet {
namespace detail {

/// y = x·keep/(1 − rate), keep ~ Bernoulli(1 − rate) per element.
template <class T>
struct DropoutOp : Node<T> {
  Node<T>* x = nullptr;
  std::vector<std::uint8_t> keep;
  T scale = T(1);
  void backward() override {
    const T* g = this->grad.data();
    add_grad_with(*x, this->value.size(), [&](std::size_t i) { return keep[i] ? g[i] * scale : T(0); });
  }
};

}  // namespace detail

/// Inverted dropout: each element is zeroed with probability `rate` (in [0, 1)) and the
/// survivors are scaled by 1/(1 − rate), so the expected value is unchanged; draws from `rng`
/// (for a `shard` of a global batch: as for the whole batch, keeping its rows).
template <class T>
Var<T> dropout(Var<T> x, double rate, Rng& rng, const Shard& shard = {}) {
  require(rate >= 0 && rate < 1, "dropout: rate must be in [0, 1), got ", rate);
  Tape<T>& tape = detail::tape_of({x});
  auto& op = tape.template record<detail::DropoutOp<T>>();
  op.x = x.node();
  op.requires_grad = x.requires_grad();
  op.scale = T(1.0 / (1.0 - rate));
  const std::size_t n = x.value().size();
  op.keep.resize(n);
  op.value.resize(x.shape());
  const T* in = x.value().data();
  const std::size_t rows = x.shape().rank() ? x.shape()[0] : 1;
  shard.draw(rng, rows, rows ? n / rows : 0, [&](std::size_t i) {
    op.keep[i] = std::uint8_t(rng.uniform() >= rate);
    op.value[i] = op.keep[i] ? in[i] * op.scale : T(0);
  });
  return Var<T>(&op, &tape);
}

}  // namespace resilinet
