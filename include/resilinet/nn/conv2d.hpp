#pragma once
/// \file
/// Conv2D<T>: a 2-D convolution layer on NHWC tensors (Keras `Conv2D`).

#include <string>

#include "resilinet/autodiff/conv_ops.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/nn/init.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Settings of a Conv2D layer (Keras defaults).
struct Conv2DOptions {
  /// Kernel height and width.
  std::size_t kernel = 3;
  /// Stride in both directions.
  std::size_t stride = 1;
  /// Border handling ("same" puts the odd padding pixel at the bottom/right).
  Padding padding = Padding::valid;
  /// Whether the layer adds a bias per filter.
  bool use_bias = true;
  /// Kernel initialiser.
  Initializer init = Initializer::glorot_uniform;
  /// L2 kernel penalty λ (the gradient gets 2λ·kernel, as Keras's regulariser gives).
  double l2 = 0.0;

  /// Sets the kernel size.
  Conv2DOptions& with_kernel(std::size_t k) { kernel = k; return *this; }
  /// Sets the stride.
  Conv2DOptions& with_stride(std::size_t s) { stride = s; return *this; }
  /// Sets the padding.
  Conv2DOptions& with_padding(Padding p) { padding = p; return *this; }
  /// Sets whether there is a bias.
  Conv2DOptions& with_bias(bool b) { use_bias = b; return *this; }
  /// Sets the kernel initialiser.
  Conv2DOptions& with_init(Initializer i) { init = i; return *this; }
  /// Sets the L2 kernel penalty.
  Conv2DOptions& with_l2(double lambda) { l2 = lambda; return *this; }
};

/// y = conv(x, kernel) + bias for x (N, H, W, C); the kernel is (K, K, C, filters).
template <class T>
class Conv2D : public Module<T> {
 public:
  /// Creates a layer from `in_channels` to `filters` channels.
  Conv2D(std::size_t in_channels, std::size_t filters, const Conv2DOptions& options, Rng& rng,
         std::string name = "conv2d")
      : Module<T>(std::move(name)),
        options_(checked(options, in_channels, filters)),
        kernel_(this->register_parameter(
            "kernel",
            initial_kernel<T>(options_.init, Shape{options_.kernel, options_.kernel, in_channels, filters}, rng))),
        bias_(options_.use_bias ? &this->register_parameter("bias", Tensor<T>(Shape{filters})) : nullptr) {}

  /// Records the convolution of x (N, H, W, in_channels).
  Var<T> forward(Var<T> x, Context<T>& ctx) override {
    return conv2d(x, Var<T>(kernel_), bias_ ? Var<T>(*bias_) : Var<T>(), options_.stride, options_.stride,
                  options_.padding, ctx, T(options_.l2));
  }

  /// The convolution of x (N, H, W, in_channels) without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    const Shape& ks = kernel_.value().shape();
    const WindowGeometry g =
        detail::conv_geometry("Conv2D", x.shape(), ks, false, options_.stride, options_.stride, options_.padding);
    TensorView<T> y = inf.buffer(Shape{g.n, g.oh, g.ow, ks[3]});
    detail::conv2d_forward(g, ks[3], x.data(), kernel_.value().data(),
                           bias_ ? bias_->value().data() : nullptr,
                           inf.context().workspace(), y.data());
    return y;
  }

  /// The (K, K, in_channels, filters) kernel.
  Parameter<T>& kernel() { return kernel_; }

  /// The bias, or null when the layer has none.
  Parameter<T>* bias() { return bias_; }

  /// The layer's settings.
  const Conv2DOptions& options() const { return options_; }

 private:
  Conv2DOptions checked(const Conv2DOptions& o, std::size_t in, std::size_t filters) const {
    require(in > 0 && filters > 0, "Conv2D '", this->name(), "': channels must be positive, got ",
            in, " -> ", filters);
    require(o.kernel > 0 && o.stride > 0, "Conv2D '", this->name(), "': kernel ", o.kernel,
            " and stride ", o.stride, " must be positive");
    require(o.l2 >= 0, "Conv2D '", this->name(), "': l2 must be >= 0, got ", o.l2);
    return o;
  }

  Conv2DOptions options_;
  Parameter<T>& kernel_;
  Parameter<T>* bias_;
};

}  // namespace resilinet
