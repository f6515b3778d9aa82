#pragma once
/// \file
/// softmax() over the last axis, and softmax_cross_entropy(): softmax fused with sparse
/// categorical cross-entropy.

#include <algorithm>
#include <cmath>
#include <vector>

#include "resilinet/autodiff/tape.hpp"

namespace resilinet {
namespace detail {

/// Row-wise softmax of (B, C) logits into `probs` (max-shifted, so it never overflows);
/// writes each row's log-sum-exp into `lse` unless it is null.
template <class T>
void softmax_rows(const T* logits, T* probs, std::size_t rows, std::size_t classes,
                  T* lse = nullptr) {
  for (std::size_t i = 0; i < rows; ++i) {
    const T* z = logits + i * classes;
    T* p = probs + i * classes;
    const T zmax = *std::max_element(z, z + classes);
    T total = T(0);
    for (std::size_t c = 0; c < classes; ++c) total += (p[c] = std::exp(z[c] - zmax));
    for (std::size_t c = 0; c < classes; ++c) p[c] /= total;
    if (lse) lse[i] = zmax + std::log(total);
  }
}

/// y = softmax(x) on the last axis; dx = y ⊙ (dy − Σ_c dy_c·y_c) per row.
template <class T>
struct SoftmaxOp : Node<T> {
  Node<T>* x = nullptr;
  std::size_t classes = 0;
  void backward() override {
    const T* y = this->value.data();
    T* g = this->grad.data();  // rewritten in place into dx: nothing reads it afterwards
    for (std::size_t i = 0, rows = this->value.size() / classes; i < rows; ++i) {
      T dot = T(0);
      for (std::size_t c = 0; c < classes; ++c) dot += g[i * classes + c] * y[i * classes + c];
      for (std::size_t c = 0; c < classes; ++c)
        g[i * classes + c] = y[i * classes + c] * (g[i * classes + c] - dot);
    }
    add_grad(*x, g, this->value.size());
  }
};

/// loss = (1/B)·Σ_i w_{y_i}·(logsumexp(z_i) − z_{i,y_i}); dz = w_{y_i}·(softmax(z_i) − onehot)/B.
template <class T>
struct SoftmaxCrossEntropyOp : Node<T> {
  Node<T>* logits = nullptr;
  std::vector<int> labels;
  std::vector<T> class_weights;
  Tensor<T> probs;
  Tensor<T> lse;
  T weight(int label) const { return class_weights.empty() ? T(1) : class_weights[label]; }
  void backward() override {
    const std::size_t b = labels.size(), c = probs.shape().back();
    const T g = this->grad[0] / T(b);
    add_grad_with(*logits, b * c, [&](std::size_t j) {
      const std::size_t i = j / c;
      return g * weight(labels[i]) * (probs[j] - (int(j % c) == labels[i] ? T(1) : T(0)));
    });
  }
};

}  // namespace detail

/// Mean sparse categorical cross-entropy of softmax(logits) against integer labels.
///
/// `logits` is (B, C); `labels` holds B values in [0, C). Optional `class_weights` (C values)
/// multiply each example's loss, as Keras `class_weight` does (the sum is still divided by B).
template <class T>
Var<T> softmax_cross_entropy(Var<T> logits, const std::vector<int>& labels,
                             const std::vector<T>& class_weights = {}) {
  const Shape& s = logits.shape();
  require<ShapeError>(s.rank() == 2 && s[0] == labels.size() && s[0] > 0,
                      "softmax_cross_entropy: logits ", s, " do not match ", labels.size(),
                      " labels");
  const std::size_t b = s[0], c = s[1];
  require<ShapeError>(class_weights.empty() || class_weights.size() == c,
                      "softmax_cross_entropy: ", class_weights.size(),
                      " class weights for ", c, " classes");
  for (int y : labels)
    require(y >= 0 && std::size_t(y) < c, "softmax_cross_entropy: label ", y,
            " outside [0, ", c, ")");
  Tape<T>& tape = detail::tape_of({logits});
  auto& op = tape.template record<detail::SoftmaxCrossEntropyOp<T>>();
  op.logits = logits.node();
  op.labels = labels;
  op.class_weights = class_weights;
  op.requires_grad = logits.requires_grad();
  op.probs.resize(s);
  op.lse.resize(Shape{b});
  const T* z = logits.value().data();
  detail::softmax_rows(z, op.probs.data(), b, c, op.lse.data());
  T loss = T(0);
  for (std::size_t i = 0; i < b; ++i)
    loss += op.weight(labels[i]) * (op.lse[i] - z[i * c + labels[i]]);
  op.value.resize(Shape{});
  op.value[0] = loss / T(b);
  return Var<T>(&op, &tape);
}

/// softmax(x) over the last axis (rows sum to 1).
template <class T>
Var<T> softmax(Var<T> x) {
  require<ShapeError>(x.shape().rank() >= 1 && x.shape().back() > 0,
                      "softmax: needs a non-empty last axis, got ", x.shape());
  Tape<T>& tape = detail::tape_of({x});
  auto& op = tape.template record<detail::SoftmaxOp<T>>();
  op.x = x.node();
  op.classes = x.shape().back();
  op.requires_grad = x.requires_grad();
  op.value.resize(x.shape());
  detail::softmax_rows(x.value().data(), op.value.data(), x.value().size() / op.classes,
                       op.classes);
  return Var<T>(&op, &tape);
}

}  // namespace resilinet
