#pragma once
/// \file
/// DepthwiseConv2D<T>: KH×KW filters per channel (Keras `DepthwiseConv2D`).

#include <optional>
#include <string>

#include "resilinet/autodiff/conv_ops.hpp"
#include "resilinet/autodiff/linear_ops.hpp"
#include "resilinet/autodiff/shape_ops.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/nn/init.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Settings of a DepthwiseConv2D layer (Keras defaults).
struct DepthwiseConv2DOptions {
  /// Kernel height.
  std::size_t kernel_height = 3;
  /// Kernel width.
  std::size_t kernel_width = 3;
  /// Stride down the rows.
  std::size_t stride_height = 1;
  /// Stride along a row.
  std::size_t stride_width = 1;
  /// Border handling ("same" puts the odd padding pixel at the bottom/right).
  Padding padding = Padding::valid;
  /// Output channels per input channel (output channel c·M + m filters input channel c).
  std::size_t depth_multiplier = 1;
  /// Whether the layer adds a bias per output channel.
  bool use_bias = true;
  /// Kernel initialiser.
  Initializer init = Initializer::glorot_uniform;

  /// Sets a square kernel size.
  DepthwiseConv2DOptions& with_kernel(std::size_t k) { return with_kernel(k, k); }
  /// Sets the kernel's height and width.
  DepthwiseConv2DOptions& with_kernel(std::size_t h, std::size_t w) { kernel_height = h; kernel_width = w; return *this; }
  /// Sets the same stride in both directions.
  DepthwiseConv2DOptions& with_stride(std::size_t s) { return with_stride(s, s); }
  /// Sets the strides down the rows and along a row.
  DepthwiseConv2DOptions& with_stride(std::size_t h, std::size_t w) { stride_height = h; stride_width = w; return *this; }
  /// Sets the padding.
  DepthwiseConv2DOptions& with_padding(Padding p) { padding = p; return *this; }
  /// Sets the depth multiplier.
  DepthwiseConv2DOptions& with_depth_multiplier(std::size_t m) { depth_multiplier = m; return *this; }
  /// Sets whether there is a bias.
  DepthwiseConv2DOptions& with_bias(bool b) { use_bias = b; return *this; }
  /// Sets the kernel initialiser.
  DepthwiseConv2DOptions& with_init(Initializer i) { init = i; return *this; }
};

/// y[..., c·M + m] = conv(x[..., c], kernel[..., c, m]) + bias[c·M + m] for x (N, H, W, C)
/// and a (KH, KW, C, M) kernel. A multiplier M > 1 runs as the depthwise convolution of x with
/// every channel repeated M times, whose (KH, KW, C·M, 1) kernel is this kernel's memory.
template <class T>
class DepthwiseConv2D : public Module<T> {
 public:
  /// Creates a layer over `channels` input channels, its kernel drawn from `rng`.
  DepthwiseConv2D(std::size_t channels, const DepthwiseConv2DOptions& options, Rng& rng,
                  std::string name = "depthwise_conv2d")
      : DepthwiseConv2D(
            initial_kernel<T>(options.init, kernel_shape(options, channels, name), rng),
            options.use_bias ? std::optional<Tensor<T>>(
                                   Tensor<T>(Shape{channels * options.depth_multiplier}))
                             : std::nullopt,
            options, name) {}

  /// Creates a K×K layer with multiplier 1 and no bias, as MobileNet uses it.
  DepthwiseConv2D(std::size_t channels, std::size_t kernel, std::size_t stride, Padding padding,
                  Rng& rng, std::string name = "depthwise_conv2d",
                  Initializer init = Initializer::glorot_uniform)
      : DepthwiseConv2D(channels,
                        DepthwiseConv2DOptions().with_kernel(kernel).with_stride(stride)
                            .with_padding(padding).with_bias(false).with_init(init),
                        rng, std::move(name)) {}

  /// Creates a layer with the given (KH, KW, C, M) kernel and (C·M) bias (none: no bias); the
  /// kernel's shape sets the kernel size and multiplier and the bias use_bias, `options` the
  /// strides and padding.
  DepthwiseConv2D(Tensor<T> kernel, std::optional<Tensor<T>> bias,
                  DepthwiseConv2DOptions options = {}, std::string name = "depthwise_conv2d")
      : Module<T>(std::move(name)),
        options_(checked(options, kernel.shape(), bias)),
        kernel_(this->register_parameter("depthwise_kernel", std::move(kernel))),
        bias_(bias ? &this->register_parameter("bias", std::move(*bias)) : nullptr) {}

  /// Records the depthwise convolution of x (N, H, W, channels).
  Var<T> forward(Var<T> x, Context<T>& ctx) override {
    check_input(x.shape());
    const std::size_t m = options_.depth_multiplier;
    Var<T> y = depthwise_conv2d(m == 1 ? x : repeat_last(x, m), reshape(Var<T>(kernel_), flat_kernel()),
                                options_.stride_height, options_.stride_width, options_.padding, ctx);
    return bias_ ? bias_add(y, Var<T>(*bias_)) : y;
  }

  /// The depthwise convolution of x (N, H, W, channels) without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    check_input(x.shape());
    const std::size_t m = options_.depth_multiplier;
    if (m > 1) {
      TensorView<T> repeated = inf.buffer(detail::repeat_last_shape(x.shape(), m));
      detail::repeat_last_forward(x.size(), m, x.data(), repeated.data());
      x = repeated;
    }
    const WindowGeometry g =
        detail::conv_geometry("DepthwiseConv2D", x.shape(), flat_kernel(), true, options_.stride_height,
                              options_.stride_width, options_.padding);
    TensorView<T> y = inf.buffer(Shape{g.n, g.oh, g.ow, g.c});
    detail::depthwise_conv2d_forward(g, x.data(), kernel_.value().data(), y.data());
    if (bias_) detail::add_bias_rows(y.data(), bias_->value().data(), y.size() / g.c, g.c);
    return y;
  }

  /// The (KH, KW, channels, depth_multiplier) kernel.
  Parameter<T>& kernel() { return kernel_; }

  /// Whether the layer adds a bias.
  bool has_bias() const { return bias_ != nullptr; }

  /// The (channels · depth_multiplier) bias; ValueError when the layer has none (see has_bias()).
  Parameter<T>& bias() {
    require(bias_ != nullptr, "DepthwiseConv2D '", this->name(), "' has no bias");
    return *bias_;
  }

  /// Number of input channels.
  std::size_t channels() const { return kernel_.value().shape()[2]; }

  /// The layer's settings.
  const DepthwiseConv2DOptions& options() const { return options_; }

  /// The layer's line for model files: channels, kernel, multiplier, strides, padding, bias.
  std::string spec() const override {
    const Shape& k = kernel_.value().shape();
    return LayerSpec("depthwise_conv2d", this->name())
        .set("channels", k[2]).set("kernel", Shape{k[0], k[1]}).set("multiplier", k[3])
        .set("stride", Shape{options_.stride_height, options_.stride_width})
        .set("padding", options_.padding).set("bias", has_bias()).text();
  }

 private:
  static Shape kernel_shape(const DepthwiseConv2DOptions& o, std::size_t channels,
                            const std::string& name) {
    require(channels > 0 && o.kernel_height > 0 && o.kernel_width > 0 && o.depth_multiplier > 0,
            "DepthwiseConv2D '", name, "': channels ", channels, ", kernel ", o.kernel_height, "x",
            o.kernel_width, " and depth multiplier ", o.depth_multiplier, " must be positive");
    return Shape{o.kernel_height, o.kernel_width, channels, o.depth_multiplier};
  }

  DepthwiseConv2DOptions checked(DepthwiseConv2DOptions o, const Shape& kernel,
                                 const std::optional<Tensor<T>>& bias) const {
    require<ShapeError>(kernel.rank() == 4 && kernel.numel() > 0, "DepthwiseConv2D '",
                        this->name(),
                        "': the kernel must be (KH, KW, C, M) with every size positive, got ",
                        kernel);
    require<ShapeError>(!bias || bias->shape() == Shape{kernel[2] * kernel[3]},
                        "DepthwiseConv2D '", this->name(), "': bias ",
                        bias ? bias->shape() : Shape{}, " does not match ", kernel[2] * kernel[3],
                        " output channels");
    require(o.stride_height > 0 && o.stride_width > 0, "DepthwiseConv2D '", this->name(),
            "': strides ", o.stride_height, "x", o.stride_width, " must be positive");
    o.kernel_height = kernel[0];
    o.kernel_width = kernel[1];
    o.depth_multiplier = kernel[3];
    o.use_bias = bias.has_value();
    return o;
  }

  /// The kernel as the (KH, KW, C·M, 1) kernel of the repeated input.
  Shape flat_kernel() const {
    const Shape& k = kernel_.value().shape();
    return Shape{k[0], k[1], k[2] * k[3], 1};
  }

  void check_input(const Shape& x) const {
    require<ShapeError>(x.rank() == 4 && x[3] == channels(), "DepthwiseConv2D '", this->name(),
                        "': input must be (N, H, W, ", channels(), "), got ", x);
  }

  DepthwiseConv2DOptions options_;
  Parameter<T>& kernel_;
  Parameter<T>* bias_;
};

}  // namespace resilinet
