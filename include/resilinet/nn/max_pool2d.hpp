#pragma once
/// \file
/// MaxPool2D<T>: the maximum of each window (Keras `MaxPooling2D`).

#include <string>

#include "resilinet/autodiff/pool_ops.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Max pooling over K×K windows with a stride; "same" padding ignores the padded cells.
template <class T>
class MaxPool2D : public Module<T> {
 public:
  /// Creates a pool of `pool`×`pool` windows moved by `stride`.
  MaxPool2D(std::size_t pool, std::size_t stride, Padding padding,
            std::string name = "max_pooling2d")
      : Module<T>(std::move(name)), pool_(pool), stride_(stride), padding_(padding) {
    require(pool > 0 && stride > 0, "MaxPool2D '", this->name(), "': pool ", pool,
            " and stride ", stride, " must be positive");
  }

  /// Records the pooling of x (N, H, W, C).
  Var<T> forward(Var<T> x, Context<T>&) override {
    return max_pool2d(x, pool_, pool_, stride_, stride_, padding_);
  }

  /// The pooling of x (N, H, W, C) without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    const WindowGeometry g =
        detail::max_pool_geometry(x.shape(), pool_, pool_, stride_, stride_, padding_);
    TensorView<T> y = inf.buffer(Shape{g.n, g.oh, g.ow, g.c});
    detail::max_pool2d_forward(g, x.data(), y.data(), static_cast<std::uint32_t*>(nullptr));
    return y;
  }

 private:
  std::size_t pool_, stride_;
  Padding padding_;
};

}  // namespace resilinet
