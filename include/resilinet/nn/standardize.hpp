#pragma once
/// \file
/// Standardize<T>: each feature shifted and scaled by fixed statistics, y = (x − mean) / stddev.

#include <cmath>
#include <string>

#include "resilinet/autodiff/tape.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {
namespace detail {

/// y = (x − mean) / stddev per feature of the last axis; mean and stddev are constants.
template <class T>
struct StandardizeOp : Node<T> {
  Node<T>* x = nullptr;
  const T* stddev = nullptr;
  std::size_t features = 1;
  void backward() override {
    const T* g = this->grad.data();
    add_grad_with(*x, this->value.size(), [&](std::size_t i) { return g[i] / stddev[i % features]; });
  }
};

/// Writes (x − mean) / stddev for `n` values of rows of `features`.
template <class T>
void standardize_values(const T* x, const T* mean, const T* stddev, std::size_t n, std::size_t features, T* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = (x[i] - mean[i % features]) / stddev[i % features];
}

}  // namespace detail

/// Standardizes each feature with the mean and standard deviation of a training set, kept as
/// non-trainable parameters (`mean`, `stddev`): model files carry them, optimizers skip them,
/// and a deployed network standardizes its raw input itself.
template <class T>
class Standardize : public Module<T> {
 public:
  /// Creates the layer for `features` features (mean 0, stddev 1: the identity until fit()).
  explicit Standardize(std::size_t features, std::string name = "standardize")
      : Module<T>(std::move(name)),
        mean_(this->register_parameter("mean", Tensor<T>(Shape{features}), false)),
        stddev_(this->register_parameter("stddev", Tensor<T>(Shape{features}, T(1)), false)) {}

  /// Sets mean and stddev to each feature's over the rows of `x` (N, features) (the population
  /// standard deviation; a constant feature keeps stddev 1).
  void fit(TensorView<const T> x) {
    const std::size_t f = features();
    require<ShapeError>(x.rank() == 2 && x.shape()[1] == f && x.shape()[0] > 0, "Standardize: fit takes (N, ", f,
                        ") with N > 0, got ", x.shape());
    const std::size_t n = x.shape()[0];
    for (std::size_t j = 0; j < f; ++j) {
      double sum = 0, squares = 0;
      for (std::size_t i = 0; i < n; ++i) sum += double(x.data()[i * f + j]);
      const double mean = sum / double(n);
      for (std::size_t i = 0; i < n; ++i) squares += std::pow(double(x.data()[i * f + j]) - mean, 2);
      const double sd = std::sqrt(squares / double(n));
      mean_.mutable_value().data()[j] = T(mean);
      stddev_.mutable_value().data()[j] = sd > 0 ? T(sd) : T(1);
    }
  }

  /// Records (x − mean) / stddev for x (..., features).
  Var<T> forward(Var<T> x, Context<T>&) override {
    check(x.shape());
    Tape<T>& tape = detail::tape_of({x});
    auto& op = tape.template record<detail::StandardizeOp<T>>();
    op.x = x.node();
    op.requires_grad = x.requires_grad();
    op.stddev = stddev_.value().data();
    op.features = features();
    op.value.resize(x.shape());
    detail::standardize_values(x.value().data(), mean_.value().data(), op.stddev, op.value.size(), op.features,
                               op.value.data());
    return Var<T>(&op, &tape);
  }

  /// (x − mean) / stddev without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    check(x.shape());
    TensorView<T> y = inf.buffer(x.shape());
    detail::standardize_values(x.data(), mean_.value().data(), stddev_.value().data(), x.size(), features(), y.data());
    return y;
  }

  /// Number of features.
  std::size_t features() const { return mean_.value().size(); }
  /// The per-feature means.
  Parameter<T>& mean() { return mean_; }
  /// The per-feature standard deviations.
  Parameter<T>& stddev() { return stddev_; }

  /// The layer's line for model files ("standardize name=... features=N").
  std::string spec() const override { return LayerSpec("standardize", this->name()).set("features", features()).text(); }

 private:
  void check(const Shape& s) const {
    require<ShapeError>(s.rank() >= 1 && s.back() == features(), "Standardize '", this->name(), "': input ", s,
                        " does not end in ", features(), " features");
  }

  Parameter<T>& mean_;
  Parameter<T>& stddev_;
};

}  // namespace resilinet
