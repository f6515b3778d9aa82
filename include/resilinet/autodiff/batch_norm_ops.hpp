#pragma once
/// \file
/// batch_norm(): batch normalisation over the last axis, with an optional fused activation.
///
/// Shape letters: R rows (every axis but the last, e.g. N·H·W), C channels. In training the
/// batch statistics normalise and the moving statistics are updated; in inference the moving
/// statistics normalise. Statistics and their gradients are reduced per thread in double
/// precision and summed in thread order.

#include <cmath>
#include <vector>

#include "resilinet/autodiff/activation_ops.hpp"
#include "resilinet/autodiff/tape.hpp"
#include "resilinet/core/threads.hpp"

namespace resilinet {

/// Settings of batch_norm() (Keras defaults).
struct BatchNormOptions {
  /// Weight of the old value in each moving-average update.
  double momentum = 0.99;
  /// Added to the variance before the square root.
  double epsilon = 1e-3;
  /// Activation fused into the same pass (e.g. ReLU6 in MobileNet).
  Activation activation = Activation::linear;

  /// Throws ValueError naming the first setting out of range.
  void validate() const {
    require(momentum >= 0 && momentum <= 1, "batch_norm: momentum must be in [0, 1], got ",
            momentum);
    require(epsilon > 0, "batch_norm: epsilon must be positive, got ", epsilon);
  }
};

namespace detail {

/// Per-channel sums over rows, reduced per thread (double) then in thread order:
/// f(row_pointer, acc) adds one row's contribution into acc (2C doubles).
template <class F>
void channel_sums(std::size_t rows, std::size_t c, std::vector<double>& partial,
                  std::vector<double>& out, F&& f) {
  const std::size_t threads = std::size_t(max_threads());
  partial.assign(threads * 2 * c, 0.0);
  parallel_for(
      rows,
      [&](std::size_t first, std::size_t end, std::size_t t) {
        double* acc = partial.data() + t * 2 * c;
        for (std::size_t r = first; r < end; ++r) f(r, acc);
      },
      64);
  out.assign(2 * c, 0.0);
  for (std::size_t t = 0; t < threads; ++t)
    for (std::size_t k = 0; k < 2 * c; ++k) out[k] += partial[t * 2 * c + k];
}

/// y = act(γ·(x − μ)·s + β) with s = 1/sqrt(σ² + ε) per channel.
template <class T>
struct BatchNormOp : Node<T> {
  Node<T>* x = nullptr;
  Node<T>* gamma = nullptr;
  Node<T>* beta = nullptr;
  Activation act = Activation::linear;
  std::size_t rows = 0, c = 0;
  bool training = false;
  std::vector<T> mean, inv_std;  // the statistics used by the forward pass
  std::vector<double> partial, sums;

  void backward() override {
    const T* xv = x->value.data();
    const T* yv = this->value.data();
    T* dy = this->grad.data();  // becomes dz = dy·act'(y) in place: nothing reads it after
    activation_backward(act, yv, dy, dy, this->value.size());
    // sums[c] = Σ dz, sums[C + c] = Σ dz·x̂.
    channel_sums(rows, c, partial, sums, [&](std::size_t r, double* acc) {
      const T* xr = xv + r * c;
      const T* d = dy + r * c;
      for (std::size_t k = 0; k < c; ++k) {
        acc[k] += double(d[k]);
        acc[c + k] += double(d[k]) * double((xr[k] - mean[k]) * inv_std[k]);
      }
    });
    if (beta->requires_grad)
      add_grad_with(*beta, c, [&](std::size_t k) { return T(sums[k]); });
    if (gamma->requires_grad)
      add_grad_with(*gamma, c, [&](std::size_t k) { return T(sums[c + k]); });
    if (!x->requires_grad) return;
    const T* g = gamma->value.data();
    const bool added = x->grad_written;
    T* dx = x->grad.data();
    const double m = double(rows);
    parallel_for(
        rows,
        [&](std::size_t first, std::size_t end, std::size_t) {
          for (std::size_t r = first; r < end; ++r) {
            const T* xr = xv + r * c;
            const T* d = dy + r * c;
            T* out = dx + r * c;
            for (std::size_t k = 0; k < c; ++k) {
              T v = g[k] * inv_std[k] * d[k];
              if (training)
                v -= g[k] * inv_std[k] *
                     T((sums[k] + double((xr[k] - mean[k]) * inv_std[k]) * sums[c + k]) / m);
              out[k] = added ? out[k] + v : v;
            }
          }
        },
        64);
    x->grad_written = true;
  }
};

}  // namespace detail

/// Batch normalisation of x (..., C) with scale γ and offset β (C each), followed by
/// `options.activation`.
///
/// Training normalises with the batch mean and biased variance and updates the moving
/// statistics in place: mean ← m·mean + (1−m)·μ, variance ← m·variance + (1−m)·σ²·R/(R−1−ε),
/// Keras 2.2's "unbiased" correction (R rows per channel). Inference normalises with the
/// moving statistics.
template <class T>
Var<T> batch_norm(Var<T> x, Var<T> gamma, Var<T> beta, TensorView<T> moving_mean,
                  TensorView<T> moving_variance, bool training,
                  const BatchNormOptions& options = {}) {
  const Shape& s = x.shape();
  const std::size_t c = s.back();
  require<ShapeError>(s.rank() >= 2 && c > 0, "batch_norm: needs (..., C) input, got ", s);
  for (const Shape& p : {gamma.shape(), beta.shape(), moving_mean.shape(), moving_variance.shape()})
    require<ShapeError>(p.rank() == 1 && p[0] == c, "batch_norm: parameter of shape ", p,
                        " does not match the ", c, " channels of input ", s);
  options.validate();
  const std::size_t rows = x.value().size() / c;
  Tape<T>& tape = detail::tape_of({x, gamma, beta});
  auto& op = tape.template record<detail::BatchNormOp<T>>();
  op.x = x.node();
  op.gamma = gamma.node();
  op.beta = beta.node();
  op.act = options.activation;
  op.rows = rows;
  op.c = c;
  op.training = training;
  op.requires_grad = x.requires_grad() || gamma.requires_grad() || beta.requires_grad();
  op.mean.resize(c);
  op.inv_std.resize(c);
  const T* xv = x.value().data();
  if (training) {
    detail::channel_sums(rows, c, op.partial, op.sums, [&](std::size_t r, double* acc) {
      const T* xr = xv + r * c;
      for (std::size_t k = 0; k < c; ++k) {
        acc[k] += double(xr[k]);
        acc[c + k] += double(xr[k]) * double(xr[k]);
      }
    });
    const double m = options.momentum;
    const double correction = double(rows) / (double(rows) - 1.0 - options.epsilon);
    for (std::size_t k = 0; k < c; ++k) {
      const double mu = op.sums[k] / double(rows);
      const double var = std::max(op.sums[c + k] / double(rows) - mu * mu, 0.0);
      op.mean[k] = T(mu);
      op.inv_std[k] = T(1.0 / std::sqrt(var + options.epsilon));
      moving_mean[k] = T(m * double(moving_mean[k]) + (1 - m) * mu);
      moving_variance[k] =
          T(m * double(moving_variance[k]) + (1 - m) * std::max(var * correction, 0.0));
    }
  } else {
    for (std::size_t k = 0; k < c; ++k) {
      op.mean[k] = moving_mean[k];
      op.inv_std[k] = T(1.0 / std::sqrt(double(moving_variance[k]) + options.epsilon));
    }
  }
  op.value.resize(s);
  T* y = op.value.data();
  const T* g = gamma.value().data();
  const T* b = beta.value().data();
  parallel_for(
      rows,
      [&](std::size_t first, std::size_t end, std::size_t) {
        for (std::size_t r = first; r < end; ++r) {
          const T* xr = xv + r * c;
          T* out = y + r * c;
          for (std::size_t k = 0; k < c; ++k)
            out[k] = g[k] * (xr[k] - op.mean[k]) * op.inv_std[k] + b[k];
          detail::activate(op.act, out, c);
        }
      },
      64);
  return Var<T>(&op, &tape);
}

}  // namespace resilinet
