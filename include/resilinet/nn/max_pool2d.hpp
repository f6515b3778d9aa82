#pragma once
/// \file
/// MaxPool2D<T>: the maximum of each window (Keras `MaxPooling2D`).

#include <string>

#include "resilinet/autodiff/pool_ops.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Max pooling over KH×KW windows with strides; "same" padding ignores the padded cells.
template <class T>
class MaxPool2D : public Module<T> {
 public:
  /// Creates a pool of `pool`×`pool` windows moved by `stride` in both directions.
  MaxPool2D(std::size_t pool, std::size_t stride, Padding padding,
            std::string name = "max_pooling2d")
      : MaxPool2D(pool, pool, stride, stride, padding, std::move(name)) {}

  /// Creates a pool of `pool_height`×`pool_width` windows moved by the two strides.
  MaxPool2D(std::size_t pool_height, std::size_t pool_width, std::size_t stride_height,
            std::size_t stride_width, Padding padding, std::string name = "max_pooling2d")
      : Module<T>(std::move(name)), ph_(pool_height), pw_(pool_width), sh_(stride_height),
        sw_(stride_width), padding_(padding) {
    require(ph_ > 0 && pw_ > 0 && sh_ > 0 && sw_ > 0, "MaxPool2D '", this->name(), "': pool ",
            ph_, "x", pw_, " and stride ", sh_, "x", sw_, " must be positive");
  }

  /// Records the pooling of x (N, H, W, C).
  Var<T> forward(Var<T> x, Context<T>&) override {
    return max_pool2d(x, ph_, pw_, sh_, sw_, padding_);
  }

  /// The pooling of x (N, H, W, C) without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    const WindowGeometry g =
        detail::max_pool_geometry(x.shape(), ph_, pw_, sh_, sw_, padding_);
    TensorView<T> y = inf.buffer(Shape{g.n, g.oh, g.ow, g.c});
    detail::max_pool2d_forward(g, x.data(), y.data(), static_cast<std::uint32_t*>(nullptr));
    return y;
  }

  /// The layer's line for model files: pool size, strides and padding.
  std::string spec() const override {
    return LayerSpec("max_pool2d", this->name()).set("pool", Shape{ph_, pw_}).set("stride", Shape{sh_, sw_})
        .set("padding", padding_).text();
  }

 private:
  std::size_t ph_, pw_, sh_, sw_;
  Padding padding_;
};

}  // namespace resilinet
