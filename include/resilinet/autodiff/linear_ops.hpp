#pragma once
/// \file
/// Matrix ops on the last axis: matmul, bias_add, and dense (matmul + bias + activation, fused).
///
/// Shape letters: R rows (every axis but the last, flattened), K input features, N outputs.
/// All products go through gemm() into buffers owned by the op node, so they are reused.

#include "resilinet/autodiff/activation_ops.hpp"
#include "resilinet/autodiff/tape.hpp"
#include "resilinet/core/gemm.hpp"

namespace resilinet {
namespace detail {

/// Checks x (..., K) against a kernel (K, N) and returns the output shape (..., N).
inline Shape last_axis_product_shape(const char* op, const Shape& x, const Shape& w) {
  require<ShapeError>(x.rank() >= 1 && w.rank() == 2 && x.back() == w[0], op,
                      ": cannot multiply input ", x, " by kernel ", w);
  Shape out = x;
  out[out.rank() - 1] = w[1];
  return out;
}

/// dx += dy·wᵀ and dw += xᵀ·dy for y = x·w with x (R, K), w (K, N).
template <class T>
void matmul_backward(Node<T>& x, Node<T>& w, const T* dy, std::size_t r, std::size_t k,
                     std::size_t n) {
  if (x.requires_grad)
    gemm(Trans::no, Trans::yes, r, k, n, T(1), dy, n, w.value.data(), n, grad_beta(x),
         x.grad.data(), k);
  if (w.requires_grad)
    gemm(Trans::yes, Trans::no, k, n, r, T(1), x.value.data(), k, dy, n, grad_beta(w),
         w.grad.data(), n);
}

/// y (R, N) ← the bias repeated on every row, so a following GEMM with β = 1 adds onto it;
/// split over the threads.
template <class T>
void seed_rows_with_bias(T* y, const T* bias, std::size_t r, std::size_t n) {
  parallel_for(
      r,
      [&](std::size_t first, std::size_t end, std::size_t) {
        for (std::size_t i = first; i < end; ++i) std::copy(bias, bias + n, y + i * n);
      },
      items_per_grain(n));
}

/// y (R, N) += the bias on every row, split over the threads: the forward pass of bias_add(),
/// shared by the tape and tape-free inference.
template <class T>
void add_bias_rows(T* y, const T* bias, std::size_t r, std::size_t n) {
  parallel_for(
      r,
      [&](std::size_t first, std::size_t end, std::size_t) {
        for (std::size_t i = first; i < end; ++i)
          for (std::size_t j = 0; j < n; ++j) y[i * n + j] += bias[j];
      },
      items_per_grain(n));
}

/// y (R, N) = act(x (R, K) · w (K, N) + b), with `b` null for no bias: the forward pass of
/// dense(), shared by the tape and tape-free inference.
template <class T>
void dense_forward(const T* x, const T* w, const T* b, Activation act, std::size_t r,
                   std::size_t k, std::size_t n, T* y) {
  gemm_then(Trans::no, Trans::no, r, n, k, T(1), x, k, w, n, T(0), y, n,
            [&](std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) {
              for (std::size_t i = i0; i < i1; ++i) {
                T* row = y + i * n;
                if (b)
                  for (std::size_t j = j0; j < j1; ++j) row[j] += b[j];
                activate(act, row + j0, j1 - j0);
              }
            });
}

/// dz (R, N) = dy·act'(z) from the output y (dz may alias dy; null: dz = dy, not written) and,
/// with `db`, db += column sums of dz, in one pass split over rows: each part sums its rows
/// into its own row of `partials` (one per thread, a cache line apart), and the rows are
/// added to db in part order, so the result depends on the thread count only, never on timing.
template <class T>
void activation_and_bias_backward(Activation act, const T* y, const T* dy, T* dz, T* db,
                                  std::size_t r, std::size_t n, Tensor<T>& partials) {
  if (act == Activation::linear && dz == dy) dz = nullptr;
  if (!dz && !db) return;
  const std::size_t stride = part_stride<T>(n);
  if (db) {
    partials.resize(Shape{std::size_t(max_threads()), stride});
    partials.fill(T(0));
  }
  parallel_for(
      r,
      [&](std::size_t first, std::size_t end, std::size_t part) {
        T* sum = db ? partials.data() + part * stride : nullptr;
        with_activation_grad<T>(act, [&](auto d) {
          for (std::size_t i = first; i < end; ++i) {
            const std::size_t o = i * n;
            if (dz)
              for (std::size_t j = 0; j < n; ++j) dz[o + j] = d(y[o + j], dy[o + j]);
            const T* g = dz ? dz + o : dy + o;
            if (sum)
              for (std::size_t j = 0; j < n; ++j) sum[j] += g[j];
          }
        });
      },
      r * n < (std::size_t(1) << 15) ? r : 8);  // below 32k values one thread does it all
  if (db)
    for (std::size_t p = 0; p < partials.shape()[0]; ++p)
      for (std::size_t j = 0; j < n; ++j) db[j] += partials.data()[p * stride + j];
}

/// db += column sums of dy (R, N), split over rows as in activation_and_bias_backward().
template <class T>
void bias_backward(Node<T>& b, const T* dy, std::size_t r, std::size_t n, Tensor<T>& partials) {
  activation_and_bias_backward<T>(Activation::linear, nullptr, dy, nullptr,
                                  b.written_grad().data(), r, n, partials);
}

/// y = x·w on the last axis.
template <class T>
struct MatMulOp : Node<T> {
  Node<T>* x = nullptr;
  Node<T>* w = nullptr;
  std::size_t r = 0, k = 0, n = 0;
  void backward() override { matmul_backward(*x, *w, this->grad.data(), r, k, n); }
};

/// y = x + b, b broadcast over every axis but the last.
template <class T>
struct BiasAddOp : Node<T> {
  Node<T>* x = nullptr;
  Node<T>* b = nullptr;
  Tensor<T> bias_partials;  // per-part column sums of dy, reused across steps
  void backward() override {
    const std::size_t n = this->value.shape().back();
    if (x->requires_grad) add_grad(*x, this->grad.data(), this->value.size());
    if (b->requires_grad)
      bias_backward(*b, this->grad.data(), this->value.size() / n, n, bias_partials);
  }
};

/// y = act(x·w + b), fused so the pre-activation never leaves the node.
template <class T>
struct DenseOp : Node<T> {
  Node<T>* x = nullptr;
  Node<T>* w = nullptr;
  Node<T>* b = nullptr;
  Activation act = Activation::linear;
  std::size_t r = 0, k = 0, n = 0;
  Tensor<T> bias_partials;  // per-part column sums of dz, reused across steps
  void backward() override {
    // dz overwrites this node's own gradient: nothing reads it after this op's backward.
    T* dz = this->grad.data();
    T* db = b && b->requires_grad ? b->written_grad().data() : nullptr;
    activation_and_bias_backward(act, this->value.data(), dz, dz, db, r, n, bias_partials);
    matmul_backward(*x, *w, dz, r, k, n);
  }
};

}  // namespace detail

/// x·w over the last axis of x: (..., K) × (K, N) → (..., N).
template <class T>
Var<T> matmul(Var<T> x, Var<T> w) {
  const Shape out = detail::last_axis_product_shape("matmul", x.shape(), w.shape());
  Tape<T>& tape = detail::tape_of({x, w});
  auto& op = tape.template record<detail::MatMulOp<T>>();
  op.x = x.node();
  op.w = w.node();
  op.requires_grad = x.requires_grad() || w.requires_grad();
  op.value.resize(out);
  const std::size_t k = w.shape()[0], n = w.shape()[1], r = k == 0 ? 0 : x.value().size() / k;
  op.r = r;
  op.k = k;
  op.n = n;
  gemm(Trans::no, Trans::no, r, n, k, T(1), x.value().data(), k, w.value().data(), n, T(0),
       op.value.data(), n);
  return Var<T>(&op, &tape);
}

/// x + b with b (N) broadcast over every axis of x (..., N) but the last.
template <class T>
Var<T> bias_add(Var<T> x, Var<T> b) {
  require<ShapeError>(b.shape().rank() == 1 && x.shape().rank() >= 1 &&
                          b.shape()[0] == x.shape().back(),
                      "bias_add: bias ", b.shape(), " does not match the last axis of ",
                      x.shape());
  Tape<T>& tape = detail::tape_of({x, b});
  auto& op = tape.template record<detail::BiasAddOp<T>>();
  op.x = x.node();
  op.b = b.node();
  op.requires_grad = x.requires_grad() || b.requires_grad();
  op.value.assign(x.value());
  const std::size_t n = b.shape()[0];
  detail::add_bias_rows(op.value.data(), b.value().data(), op.value.size() / (n ? n : 1), n);
  return Var<T>(&op, &tape);
}

/// act(x·w + b) over the last axis, fused into one op; pass an empty `b` for no bias.
template <class T>
Var<T> dense(Var<T> x, Var<T> w, Var<T> b, Activation act) {
  const Shape out = detail::last_axis_product_shape("dense", x.shape(), w.shape());
  const std::size_t k = w.shape()[0], n = w.shape()[1], r = k == 0 ? 0 : x.value().size() / k;
  if (b)
    require<ShapeError>(b.shape().rank() == 1 && b.shape()[0] == n, "dense: bias ",
                        b.shape(), " does not match ", n, " units");
  Tape<T>& tape = detail::tape_of({x, w});
  auto& op = tape.template record<detail::DenseOp<T>>();
  op.x = x.node();
  op.w = w.node();
  op.b = b ? b.node() : nullptr;
  op.act = act;
  op.r = r;
  op.k = k;
  op.n = n;
  op.requires_grad = x.requires_grad() || w.requires_grad() || (b && b.requires_grad());
  op.value.resize(out);
  detail::dense_forward(x.value().data(), w.value().data(), b ? b.value().data() : nullptr, act,
                        r, k, n, op.value.data());
  return Var<T>(&op, &tape);
}

}  // namespace resilinet
