#pragma once
/// \file
/// Dropout<T>: inverted dropout in training, the identity in inference (Keras `Dropout`).

#include <string>

#include "resilinet/autodiff/dropout_ops.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Zeroes each element with probability `rate` while training (survivors scaled by
/// 1/(1 − rate), mask drawn from the context's Rng); passes x through in inference.
template <class T>
class Dropout : public Module<T> {
 public:
  /// Creates the layer; `rate` is the probability of dropping an element, in [0, 1).
  explicit Dropout(double rate, std::string name = "dropout")
      : Module<T>(std::move(name)), rate_(rate) {
    require(rate >= 0 && rate < 1, "Dropout '", this->name(), "': rate must be in [0, 1), got ",
            rate);
  }

  /// Records dropout of x when `ctx` trains; returns x itself otherwise.
  Var<T> forward(Var<T> x, Context<T>& ctx) override {
    return ctx.training() ? dropout(x, rate_, ctx.rng(), ctx.shard()) : x;
  }

  /// x itself: dropout is the identity at inference.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>&) const override { return x; }

  /// Probability of dropping an element.
  double rate() const { return rate_; }

  /// The layer's line for model files ("dropout name=... rate=0.001").
  std::string spec() const override { return LayerSpec("dropout", this->name()).set("rate", rate_).text(); }

 private:
  double rate_;
};

}  // namespace resilinet
