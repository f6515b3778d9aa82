#pragma once
/// \file
/// DepthwiseConv2D<T>: one K×K filter per channel (Keras `DepthwiseConv2D`, multiplier 1).

#include <string>

#include "resilinet/autodiff/conv_ops.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/nn/init.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// y[..., c] = conv(x[..., c], kernel[..., c, 0]) for x (N, H, W, C); no bias (as MobileNet).
template <class T>
class DepthwiseConv2D : public Module<T> {
 public:
  /// Creates a K×K depthwise layer over `channels` channels.
  DepthwiseConv2D(std::size_t channels, std::size_t kernel, std::size_t stride, Padding padding,
                  Rng& rng, std::string name = "depthwise_conv2d",
                  Initializer init = Initializer::glorot_uniform)
      : Module<T>(std::move(name)),
        stride_(stride),
        padding_(padding),
        kernel_(this->register_parameter(
            "depthwise_kernel",
            initial_kernel<T>(init, checked_shape(channels, kernel, stride), rng))) {}

  /// Records the depthwise convolution of x (N, H, W, channels).
  Var<T> forward(Var<T> x, Context<T>& ctx) override {
    return depthwise_conv2d(x, Var<T>(kernel_), stride_, stride_, padding_, ctx);
  }

  /// The depthwise convolution of x (N, H, W, channels) without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    const WindowGeometry g = detail::conv_geometry(
        "DepthwiseConv2D", x.shape(), kernel_.value().shape(), true, stride_, stride_, padding_);
    TensorView<T> y = inf.buffer(Shape{g.n, g.oh, g.ow, g.c});
    detail::depthwise_conv2d_forward(g, x.data(), kernel_.value().data(), y.data());
    return y;
  }

  /// The (K, K, channels, 1) kernel.
  Parameter<T>& kernel() { return kernel_; }

 private:
  Shape checked_shape(std::size_t channels, std::size_t kernel, std::size_t stride) const {
    require(channels > 0 && kernel > 0 && stride > 0, "DepthwiseConv2D '", this->name(),
            "': channels ", channels, ", kernel ", kernel, " and stride ", stride,
            " must be positive");
    return Shape{kernel, kernel, channels, 1};
  }

  std::size_t stride_;
  Padding padding_;
  Parameter<T>& kernel_;
};

}  // namespace resilinet
