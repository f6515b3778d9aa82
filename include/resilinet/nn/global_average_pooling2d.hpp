#pragma once
/// \file
/// GlobalAveragePooling2D<T>: the mean over height and width (Keras `GlobalAveragePooling2D`).

#include <string>

#include "resilinet/autodiff/pool_ops.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// (N, H, W, C) → (N, C), each channel averaged over all positions.
template <class T>
class GlobalAveragePooling2D : public Module<T> {
 public:
  /// Creates the layer.
  explicit GlobalAveragePooling2D(std::string name = "global_average_pooling2d")
      : Module<T>(std::move(name)) {}

  /// Records the pooling of x (N, H, W, C).
  Var<T> forward(Var<T> x, Context<T>&) override { return global_average_pool2d(x); }

  /// The pooling of x (N, H, W, C) without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    detail::require_pool_input(x.shape());
    TensorView<T> y = inf.buffer(Shape{x.shape()[0], x.shape()[3]});
    detail::global_average_pool2d_forward(x.shape(), x.data(), y.data());
    return y;
  }

  /// The layer's line for model files ("global_average_pooling2d name=...").
  std::string spec() const override { return LayerSpec("global_average_pooling2d", this->name()).text(); }
};

}  // namespace resilinet
