#pragma once
/// \file
/// Sgd<T>: stochastic gradient descent with momentum, Nesterov momentum and weight decay.

#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/optim/optimizer.hpp"

namespace resilinet {

/// Hyperparameters of Sgd; setters chain, and Sgd validates them on construction.
struct SgdOptions {
  /// Learning rate (> 0).
  double lr = 0.01;
  /// Momentum factor μ in [0, 1).
  double momentum = 0.0;
  /// Use Nesterov momentum (requires momentum > 0).
  bool nesterov = false;
  /// L2 weight decay λ ≥ 0 added to the gradient as λ·p.
  double weight_decay = 0.0;

  /// Sets the learning rate.
  SgdOptions& with_lr(double v) { lr = v; return *this; }
  /// Sets the momentum factor.
  SgdOptions& with_momentum(double v) { momentum = v; return *this; }
  /// Enables or disables Nesterov momentum.
  SgdOptions& with_nesterov(bool v) { nesterov = v; return *this; }
  /// Sets the weight decay.
  SgdOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
};

/// SGD: g ← ∇ + λp; v ← μv + g; p ← p − lr·(g + μv if Nesterov else v).
///
/// With a constant learning rate this equals Keras's SGD (v ← μv − lr·g) and PyTorch's.
template <class T>
class Sgd : public Optimizer<T> {
 public:
  /// Creates the optimizer; throws ValueError naming any hyperparameter out of range.
  explicit Sgd(const std::vector<Parameter<T>*>& params, SgdOptions options = {})
      : Optimizer<T>(params), options_(options) {
    require(options_.lr > 0, "Sgd: lr must be > 0, got ", options_.lr);
    require(options_.momentum >= 0 && options_.momentum < 1, "Sgd: momentum must be in [0, 1), got ",
            options_.momentum);
    require(!options_.nesterov || options_.momentum > 0, "Sgd: nesterov needs momentum > 0, got ",
            options_.momentum);
    require(options_.weight_decay >= 0, "Sgd: weight_decay must be >= 0, got ", options_.weight_decay);
    for (Parameter<T>* p : this->parameters()) velocity_.emplace_back(p->value().shape());
  }

  /// The hyperparameters.
  const SgdOptions& options() const { return options_; }

  /// The velocity of every parameter.
  std::vector<Tensor<T>*> state() override {
    std::vector<Tensor<T>*> s;
    for (auto& t : velocity_) s.push_back(&t);
    return s;
  }

 protected:
  void update(std::size_t index, Parameter<T>& p) override {
    const T lr = T(options_.lr), mu = T(options_.momentum), wd = T(options_.weight_decay);
    T* w = p.mutable_value().data();
    const T* grad = p.grad().data();
    T* v = velocity_[index].data();
    for (std::size_t i = 0, n = p.value().size(); i < n; ++i) {
      const T g = grad[i] + wd * w[i];
      v[i] = mu * v[i] + g;
      w[i] -= lr * (options_.nesterov ? g + mu * v[i] : v[i]);
    }
  }

 private:
  SgdOptions options_;
  std::vector<Tensor<T>> velocity_;
};

}  // namespace resilinet
