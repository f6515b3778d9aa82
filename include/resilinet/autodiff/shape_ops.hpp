#pragma once
/// \file
/// Ops that move elements without arithmetic: reshape (a view), concat, take and repeat_last.

#include <algorithm>
#include <vector>

#include "resilinet/autodiff/tape.hpp"

namespace resilinet {
namespace detail {

/// y = concatenation of the inputs along one axis.
///
/// Viewed as (outer, width_i) with outer = the product of the axes before the joined one,
/// input i occupies columns [offset_i, offset_i + width_i) of the output's (outer, Σwidth).
template <class T>
struct ConcatOp : Node<T> {
  std::vector<Node<T>*> xs;
  std::size_t outer = 0;
  void backward() override {
    const std::size_t total = this->value.size() / (outer ? outer : 1);
    std::size_t offset = 0;
    for (Node<T>* x : xs) {
      const std::size_t w = x->value.size() / (outer ? outer : 1);
      const T* g = this->grad.data() + offset;
      if (x->requires_grad)
        add_grad_with(*x, x->value.size(),
                      [&](std::size_t j) { return g[(j / w) * total + j % w]; });
      offset += w;
    }
  }
};

/// y = x[..., index, ...] along one axis (the axis removed).
///
/// Viewed as (outer, count, inner), y is the (outer, inner) slab at `index`.
template <class T>
struct TakeOp : Node<T> {
  Node<T>* x = nullptr;
  std::size_t count = 0, index = 0, inner = 0;
  void backward() override {
    if (!x->requires_grad) return;
    const T* g = this->grad.data();
    add_grad_with(*x, x->value.size(), [&](std::size_t j) {
      const std::size_t i = (j / inner) % count;
      return i == index ? g[(j / (inner * count)) * inner + j % inner] : T(0);
    });
  }
};

/// The shape of take(x, axis, index): x's shape without `axis` (checks the index).
inline Shape take_shape(const Shape& s, std::size_t axis, std::size_t index) {
  require<ShapeError>(axis < s.rank() && index < s[axis], "take: index ", index, " of axis ",
                      axis, " outside shape ", s);
  std::vector<std::size_t> dims;
  for (std::size_t d = 0; d < s.rank(); ++d)
    if (d != axis) dims.push_back(s[d]);
  return Shape(dims);
}

/// y = the slab of x (shape s) at `index` of `axis`: the forward pass of take(), shared by the
/// tape and tape-free inference. Returns the slab's inner size (elements after `axis`).
template <class T>
std::size_t take_forward(const Shape& s, std::size_t axis, std::size_t index, const T* x, T* y) {
  std::size_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < s.rank(); ++d) {
    if (d < axis) outer *= s[d];
    if (d > axis) inner *= s[d];
  }
  for (std::size_t o = 0; o < outer; ++o)
    std::copy(x + (o * s[axis] + index) * inner, x + (o * s[axis] + index + 1) * inner,
              y + o * inner);
  return inner;
}

/// y[..., j·count + k] = x[..., j]: every element repeated `count` times in place.
template <class T>
struct RepeatLastOp : Node<T> {
  Node<T>* x = nullptr;
  std::size_t count = 1;
  void backward() override {
    if (!x->requires_grad) return;
    const T* g = this->grad.data();
    add_grad_with(*x, x->value.size(), [&](std::size_t j) {
      T sum = T(0);
      for (std::size_t k = 0; k < count; ++k) sum += g[j * count + k];
      return sum;
    });
  }
};

/// The shape of repeat_last(x, count): the last axis `count` times longer.
inline Shape repeat_last_shape(const Shape& s, std::size_t count) {
  require<ShapeError>(s.rank() >= 1 && count > 0, "repeat_last: needs rank >= 1 and count > 0, got ",
                      s, " and ", count);
  Shape out = s;
  out[s.rank() - 1] *= count;
  return out;
}

/// y = each of the n values of x repeated `count` times: the forward pass of repeat_last(),
/// shared by the tape and tape-free inference.
template <class T>
void repeat_last_forward(std::size_t n, std::size_t count, const T* x, T* y) {
  for (std::size_t j = 0; j < n; ++j) std::fill_n(y + j * count, count, x[j]);
}

}  // namespace detail

/// x under a new shape holding the same number of elements (row-major order is kept).
///
/// A view: nothing is copied or recorded, and gradients flow straight into x.
template <class T>
Var<T> reshape(Var<T> x, const Shape& shape) {
  require<ShapeError>(shape.numel() == x.value().size(), "reshape: cannot view ", x.shape(),
                      " as ", shape);
  return Var<T>(x.node(), x.tape(), shape);
}

/// The inputs joined along `axis`; every other dimension must agree.
template <class T>
Var<T> concat(const std::vector<Var<T>>& xs, std::size_t axis) {
  require(!xs.empty(), "concat: needs at least one input");
  const Shape& first = xs[0].shape();
  require<ShapeError>(axis < first.rank(), "concat: axis ", axis, " out of range for shape ",
                      first);
  Shape out = first;
  out[axis] = 0;
  for (const Var<T>& x : xs) {
    bool match = x.shape().rank() == first.rank();
    for (std::size_t d = 0; match && d < first.rank(); ++d)
      match = d == axis || x.shape()[d] == first[d];
    require<ShapeError>(match, "concat: shape ", x.shape(), " does not match ",
                        first, " outside axis ", axis);
    out[axis] += x.shape()[axis];
  }
  Tape<T>& tape = detail::tape_of(xs);
  auto& op = tape.template record<detail::ConcatOp<T>>();
  op.xs.clear();
  op.outer = 1;
  for (std::size_t d = 0; d < axis; ++d) op.outer *= first[d];
  op.requires_grad = false;
  op.value.resize(out);
  const std::size_t total = out.numel() / (op.outer ? op.outer : 1);
  std::size_t offset = 0;
  for (const Var<T>& x : xs) {
    op.xs.push_back(x.node());
    op.requires_grad = op.requires_grad || x.requires_grad();
    const std::size_t w = x.value().size() / (op.outer ? op.outer : 1);
    for (std::size_t o = 0; o < op.outer; ++o)
      std::copy(x.value().data() + o * w, x.value().data() + (o + 1) * w,
                op.value.data() + o * total + offset);
    offset += w;
  }
  return Var<T>(&op, &tape);
}

/// The slab of x at position `index` of `axis`, without that axis (e.g. camera k of a packed
/// (N, 6, H, W, C) batch is take(x, 1, k), shape (N, H, W, C)). Copies; gradients scatter back.
template <class T>
Var<T> take(Var<T> x, std::size_t axis, std::size_t index) {
  const Shape& s = x.shape();
  const Shape out = detail::take_shape(s, axis, index);
  Tape<T>& tape = detail::tape_of({x});
  auto& op = tape.template record<detail::TakeOp<T>>();
  op.x = x.node();
  op.count = s[axis];
  op.index = index;
  op.requires_grad = x.requires_grad();
  op.value.resize(out);
  op.inner = detail::take_forward(s, axis, index, x.value().data(), op.value.data());
  return Var<T>(&op, &tape);
}

/// x with every element of its last axis repeated `count` times in place: (..., C) →
/// (..., C·count), y[..., c·count + k] = x[..., c] (a depthwise multiplier's channel order).
template <class T>
Var<T> repeat_last(Var<T> x, std::size_t count) {
  const Shape out = detail::repeat_last_shape(x.shape(), count);
  Tape<T>& tape = detail::tape_of({x});
  auto& op = tape.template record<detail::RepeatLastOp<T>>();
  op.x = x.node();
  op.count = count;
  op.requires_grad = x.requires_grad();
  op.value.resize(out);
  detail::repeat_last_forward(x.value().size(), count, x.value().data(), op.value.data());
  return Var<T>(&op, &tape);
}

}  // namespace resilinet
