#pragma once
/// \file
/// batch_norm(): batch normalisation over the last axis, with an optional fused activation.
///
/// Shape letters: R rows (every axis but the last, e.g. N·H·W), C channels. In training the
/// batch statistics normalise and the moving statistics are updated; in inference the moving
/// statistics normalise. Statistics and their gradients are summed in blocks of 128 rows,
/// accumulated in double per thread, and combined in thread order. Forward is one pass for
/// the statistics (none when x's op added them up while writing x: OutputSums) and one for
/// the output; backward one for the sums and one for dx, each reading x and dy only (the
/// activation's derivative recomputed from x).

#include <algorithm>
#include <cmath>
#include <vector>

#include "resilinet/autodiff/activation_ops.hpp"
#include "resilinet/autodiff/channel_sums.hpp"
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
  /// Zero-debiased moving averages, as Keras 2.2 on TensorFlow 1 (the paper's models): after t
  /// updates each moving statistic is the plain average started from 0, divided by 1 − m^t.
  bool zero_debias = false;

  /// Sets the momentum.
  BatchNormOptions& with_momentum(double m) { momentum = m; return *this; }
  /// Sets epsilon.
  BatchNormOptions& with_epsilon(double e) { epsilon = e; return *this; }
  /// Sets the fused activation.
  BatchNormOptions& with_activation(Activation a) { activation = a; return *this; }
  /// Chooses zero-debiased (Keras 2.2) or plain moving averages.
  BatchNormOptions& with_zero_debias(bool z) { zero_debias = z; return *this; }

  /// Throws ValueError naming the first setting out of range.
  void validate() const {
    require(momentum >= 0 && momentum <= 1, "batch_norm: momentum must be in [0, 1], got ",
            momentum);
    require(epsilon > 0, "batch_norm: epsilon must be positive, got ", epsilon);
  }
};

namespace detail {

/// Rows per part of a pass over rows of c channels: at least 64 rows and element_grain values
/// (ResNet's 1x1 maps, 128 rows of 512, split in two).
inline std::size_t row_grain(std::size_t c) {
  return std::max<std::size_t>(64, items_per_grain(c));
}

/// mean = the moving mean and inv_std = 1/sqrt(moving variance + ε), per channel.
template <class T>
void moving_statistics(std::size_t c, const T* moving_mean, const T* moving_variance,
                       double epsilon, T* mean, T* inv_std) {
  for (std::size_t k = 0; k < c; ++k) {
    mean[k] = moving_mean[k];
    inv_std[k] = T(1.0 / std::sqrt(double(moving_variance[k]) + epsilon));
  }
}

/// y = act(x·scale + shift) over `rows` rows of c channels, with scale = γ·inv_std and
/// shift = β − mean·scale stored in `coef` (2c values): the normalisation of batch_norm(),
/// shared by the tape and tape-free inference.
template <class T>
void batch_norm_forward(std::size_t rows, std::size_t c, const T* x, const T* gamma,
                        const T* beta, const T* mean, const T* inv_std, Activation act, T* coef,
                        T* y) {
  T* scale = coef;
  T* shift = coef + c;
  for (std::size_t k = 0; k < c; ++k) {
    scale[k] = gamma[k] * inv_std[k];
    shift[k] = beta[k] - mean[k] * scale[k];
  }
  // One pass: activating in a second loop over the row re-read values just stored, and with
  // short rows (24 channels) those loads straddled the stores and stalled.
  with_activation<T>(act, [&](auto a) {
    parallel_for(
        rows,
        [&](std::size_t first, std::size_t end, std::size_t) {
          for (std::size_t r = first; r < end; ++r) {
            const T* xr = x + r * c;
            T* out = y + r * c;
            for (std::size_t k = 0; k < c; ++k) out[k] = a(xr[k] * scale[k] + shift[k]);
          }
        },
        row_grain(c));
  });
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
  std::vector<T> coef;
  ChannelSums<T> stats;
  std::vector<double> sums;

  void backward() override {
    const T* xv = x->value.data();
    const T* dy = this->grad.data();
    // dz = dy·act'(v) with v = x·scale + shift recomputed from the forward pass's coefficients
    // (coef[0..2C)) in the forward's own expression, so act'(v) is exactly act'(y) and y is not
    // read; nor is dz stored: the dx pass recomputes it. Two reads here, two reads and one
    // write for dx, against four and three when dz was written back.
    coef.resize(5 * c);
    const T* scale = coef.data();
    const T* shift = scale + c;
    with_activation_grad_at_input<T>(act, [&](auto d) {
      // sums[k] = Σ dz, sums[C + k] = Σ dz·x.
      sums = channel_sums(stats, rows, c, row_grain(c), [&](std::size_t r, T* acc) {
        const T* xr = xv + r * c;
        const T* dr = dy + r * c;
        for (std::size_t k = 0; k < c; ++k) {
          const T dz = d(xr[k] * scale[k] + shift[k], dr[k]);
          acc[k] += dz;
          acc[c + k] += dz * xr[k];
        }
      });
    });
    // Σ dz·x̂ = s·(Σ dz·x − μ·Σ dz).
    for (std::size_t k = 0; k < c; ++k)
      sums[c + k] = double(inv_std[k]) * (sums[c + k] - double(mean[k]) * sums[k]);
    if (beta->requires_grad)
      add_grad_with(*beta, c, [&](std::size_t k) { return T(sums[k]); });
    if (gamma->requires_grad)
      add_grad_with(*gamma, c, [&](std::size_t k) { return T(sums[c + k]); });
    if (!x->requires_grad) return;
    // dx = A·dz + B·x + C per channel: A = γs; in training B = −γs²·Σdz·x̂/R and
    // C = −γs·Σdz/R − B·μ (the batch statistics depend on x); in inference B = C = 0.
    T* A = coef.data() + 2 * c;
    T* B = A + c;
    T* C = B + c;
    const double m = double(rows);
    for (std::size_t k = 0; k < c; ++k) {
      const double ak = double(gamma->value[k]) * double(inv_std[k]);
      const double bk = training ? -ak * double(inv_std[k]) * sums[c + k] / m : 0.0;
      A[k] = T(ak);
      B[k] = T(bk);
      C[k] = T(training ? -ak * sums[k] / m - bk * double(mean[k]) : 0.0);
    }
    const bool added = x->grad_written;
    T* dx = x->grad.data();
    with_activation_grad_at_input<T>(act, [&](auto d) {
      parallel_for(
          rows,
          [&](std::size_t first, std::size_t end, std::size_t) {
            for (std::size_t r = first; r < end; ++r) {
              const T* xr = xv + r * c;
              const T* dr = dy + r * c;
              T* out = dx + r * c;
              auto g = [&](std::size_t k) {
                const T dz = d(xr[k] * scale[k] + shift[k], dr[k]);
                return A[k] * dz + B[k] * xr[k] + C[k];
              };
              if (added)
                for (std::size_t k = 0; k < c; ++k) out[k] += g(k);
              else
                for (std::size_t k = 0; k < c; ++k) out[k] = g(k);
            }
          },
          row_grain(c));
    });
    x->grad_written = true;
  }
};

}  // namespace detail

/// Batch normalisation of x (..., C) with scale γ and offset β (C each), followed by
/// `options.activation`.
///
/// Training normalises with the batch mean and biased variance and updates the moving
/// statistics in place: mean ← m·mean + (1−m)·μ, variance ← m·variance + (1−m)·σ²·R/(R−1−ε),
/// Keras 2.2's "unbiased" correction (R rows per channel). With `options.zero_debias`,
/// `*updates` counts the updates so far (t, incremented here) and each statistic s becomes
/// (m·s·(1 − m^t) + (1−m)·batch value) / (1 − m^(t+1)): TensorFlow's zero-debiased average,
/// whose hidden biased average is s·(1 − m^t), so the first update sets s to the batch's value.
/// Inference normalises with the moving statistics.
template <class T>
Var<T> batch_norm(Var<T> x, Var<T> gamma, Var<T> beta, TensorView<T> moving_mean,
                  TensorView<T> moving_variance, bool training,
                  const BatchNormOptions& options = {}, T* updates = nullptr) {
  const Shape& s = x.shape();
  const std::size_t c = s.back();
  require<ShapeError>(s.rank() >= 2 && c > 0, "batch_norm: needs (..., C) input, got ", s);
  for (const Shape& p : {gamma.shape(), beta.shape(), moving_mean.shape(), moving_variance.shape()})
    require<ShapeError>(p.rank() == 1 && p[0] == c, "batch_norm: parameter of shape ", p,
                        " does not match the ", c, " channels of input ", s);
  options.validate();
  require(!options.zero_debias || updates, "batch_norm: zero_debias needs the count of updates");
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
    // Σx and Σx² per channel: those x's op added up while writing x, else a pass of its own.
    const auto* producer = dynamic_cast<const detail::OutputSums<T>*>(x.node());
    if (producer && producer->output_sums.sums().size() == 2 * c)
      op.sums = producer->output_sums.sums();
    else
      op.sums = detail::channel_sums(op.stats, rows, c, detail::row_grain(c),
                                     detail::value_sums(xv, c, 0, c));
    const double m = options.momentum;
    const double correction = double(rows) / (double(rows) - 1.0 - options.epsilon);
    // Weights of the old value and of the new one's divisor: plain m and 1; zero-debiased
    // m·(1 − m^t) / (1 − m^(t+1)) and 1 − m^(t+1) (m = 1 never moves: both stay as they are).
    double keep = m, scale = 1;
    if (options.zero_debias && m < 1) {
      const double t = double(*updates);
      scale = 1 - std::pow(m, t + 1);
      keep = m * (1 - std::pow(m, t)) / scale;
      *updates = T(t + 1);
    }
    for (std::size_t k = 0; k < c; ++k) {
      const double mu = op.sums[k] / double(rows);
      const double var = std::max(op.sums[c + k] / double(rows) - mu * mu, 0.0);
      op.mean[k] = T(mu);
      op.inv_std[k] = T(1.0 / std::sqrt(var + options.epsilon));
      moving_mean[k] = T(keep * double(moving_mean[k]) + (1 - m) / scale * mu);
      moving_variance[k] =
          T(keep * double(moving_variance[k]) + (1 - m) / scale * std::max(var * correction, 0.0));
    }
  } else {
    detail::moving_statistics(c, moving_mean.data(), moving_variance.data(), options.epsilon,
                              op.mean.data(), op.inv_std.data());
  }
  op.value.resize(s);
  op.coef.resize(2 * c);
  detail::batch_norm_forward(rows, c, xv, gamma.value().data(), beta.value().data(),
                             op.mean.data(), op.inv_std.data(), op.act, op.coef.data(),
                             op.value.data());
  return Var<T>(&op, &tape);
}

}  // namespace resilinet
