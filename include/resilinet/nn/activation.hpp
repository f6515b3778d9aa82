#pragma once
/// \file
/// ActivationLayer<T>: an activation function as a module (ReLU, ReLU6, linear).

#include <string>

#include "resilinet/autodiff/activation_ops.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// A parameter-free module applying one activation element-wise.
template <class T>
class ActivationLayer : public Module<T> {
 public:
  /// Creates the layer; its default name is the activation's Keras name.
  explicit ActivationLayer(Activation act, std::string name = "")
      : Module<T>(name.empty() ? to_string(act) : std::move(name)), act_(act) {}

  /// Records act(x).
  Var<T> forward(Var<T> x, Context<T>&) override { return activate(x, act_); }

  /// act(x) without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    TensorView<T> y = inf.buffer(x.shape());
    detail::activate(act_, x.data(), y.data(), y.size());
    return y;
  }

  /// The layer's line for model files ("activation name=... act=relu").
  std::string spec() const override { return LayerSpec("activation", this->name()).set("act", act_).text(); }

 private:
  Activation act_;
};

}  // namespace resilinet
