#pragma once
/// \file
/// Conv2D<T>: a 2-D convolution layer on NHWC tensors (Keras `Conv2D`).

#include <optional>
#include <string>

#include "resilinet/autodiff/conv_ops.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/nn/init.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Settings of a Conv2D layer (Keras defaults).
struct Conv2DOptions {
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
  /// Whether the layer adds a bias per filter.
  bool use_bias = true;
  /// Kernel initialiser.
  Initializer init = Initializer::glorot_uniform;
  /// L2 kernel penalty λ (the gradient gets 2λ·kernel, as Keras's regulariser gives).
  double l2 = 0.0;

  /// Sets a square kernel size.
  Conv2DOptions& with_kernel(std::size_t k) { return with_kernel(k, k); }
  /// Sets the kernel's height and width.
  Conv2DOptions& with_kernel(std::size_t h, std::size_t w) { kernel_height = h; kernel_width = w; return *this; }
  /// Sets the same stride in both directions.
  Conv2DOptions& with_stride(std::size_t s) { return with_stride(s, s); }
  /// Sets the strides down the rows and along a row.
  Conv2DOptions& with_stride(std::size_t h, std::size_t w) { stride_height = h; stride_width = w; return *this; }
  /// Sets the padding.
  Conv2DOptions& with_padding(Padding p) { padding = p; return *this; }
  /// Sets whether there is a bias.
  Conv2DOptions& with_bias(bool b) { use_bias = b; return *this; }
  /// Sets the kernel initialiser.
  Conv2DOptions& with_init(Initializer i) { init = i; return *this; }
  /// Sets the L2 kernel penalty.
  Conv2DOptions& with_l2(double lambda) { l2 = lambda; return *this; }
};

/// y = conv(x, kernel) + bias for x (N, H, W, C); the kernel is (KH, KW, C, filters).
template <class T>
class Conv2D : public Module<T> {
 public:
  /// Creates a layer from `in_channels` to `filters` channels, its kernel drawn from `rng`.
  Conv2D(std::size_t in_channels, std::size_t filters, const Conv2DOptions& options, Rng& rng,
         std::string name = "conv2d")
      : Conv2D(initial_kernel<T>(options.init, kernel_shape(options, in_channels, filters, name), rng),
               options.use_bias ? std::optional<Tensor<T>>(Tensor<T>(Shape{filters})) : std::nullopt,
               options, name) {}

  /// Creates a layer with the given (KH, KW, C, F) kernel and (F) bias (none: no bias); the
  /// kernel's shape sets the kernel size and the bias use_bias, `options` the rest.
  Conv2D(Tensor<T> kernel, std::optional<Tensor<T>> bias, Conv2DOptions options = {},
         std::string name = "conv2d")
      : Module<T>(std::move(name)),
        options_(checked(options, kernel.shape(), bias)),
        kernel_(this->register_parameter("kernel", std::move(kernel))),
        bias_(bias ? &this->register_parameter("bias", std::move(*bias)) : nullptr) {}

  /// Records the convolution of x (N, H, W, in_channels).
  Var<T> forward(Var<T> x, Context<T>& ctx) override {
    return conv2d(x, Var<T>(kernel_), bias_ ? Var<T>(*bias_) : Var<T>(), options_.stride_height,
                  options_.stride_width, options_.padding, ctx, T(options_.l2));
  }

  /// The convolution of x (N, H, W, in_channels) without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    const Shape& ks = kernel_.value().shape();
    const WindowGeometry g = detail::conv_geometry("Conv2D", x.shape(), ks, false, options_.stride_height,
                                                   options_.stride_width, options_.padding);
    TensorView<T> y = inf.buffer(Shape{g.n, g.oh, g.ow, ks[3]});
    detail::conv2d_forward(g, ks[3], x.data(), kernel_.value().data(),
                           bias_ ? bias_->value().data() : nullptr,
                           inf.context().workspace(), y.data());
    return y;
  }

  /// The (KH, KW, in_channels, filters) kernel.
  Parameter<T>& kernel() { return kernel_; }

  /// Whether the layer adds a bias.
  bool has_bias() const { return bias_ != nullptr; }

  /// The (filters) bias; ValueError when the layer has none (see has_bias()).
  Parameter<T>& bias() {
    require(bias_ != nullptr, "Conv2D '", this->name(), "' has no bias");
    return *bias_;
  }

  /// The layer's settings.
  const Conv2DOptions& options() const { return options_; }

  /// The layer's line for model files: channels, kernel, strides, padding, bias and l2.
  std::string spec() const override {
    const Shape& k = kernel_.value().shape();
    return LayerSpec("conv2d", this->name())
        .set("in", k[2]).set("filters", k[3]).set("kernel", Shape{k[0], k[1]})
        .set("stride", Shape{options_.stride_height, options_.stride_width})
        .set("padding", options_.padding).set("bias", has_bias()).set("l2", options_.l2).text();
  }

 private:
  static Shape kernel_shape(const Conv2DOptions& o, std::size_t in, std::size_t filters,
                            const std::string& name) {
    require(in > 0 && filters > 0 && o.kernel_height > 0 && o.kernel_width > 0, "Conv2D '", name,
            "': channels ", in, " -> ", filters, " and kernel ", o.kernel_height, "x",
            o.kernel_width, " must be positive");
    return Shape{o.kernel_height, o.kernel_width, in, filters};
  }

  Conv2DOptions checked(Conv2DOptions o, const Shape& kernel,
                        const std::optional<Tensor<T>>& bias) const {
    require<ShapeError>(kernel.rank() == 4 && kernel.numel() > 0, "Conv2D '", this->name(),
                        "': the kernel must be (KH, KW, C, F) with every size positive, got ",
                        kernel);
    require<ShapeError>(!bias || bias->shape() == Shape{kernel[3]}, "Conv2D '", this->name(),
                        "': bias ", bias ? bias->shape() : Shape{}, " does not match ", kernel[3],
                        " filters");
    require(o.stride_height > 0 && o.stride_width > 0, "Conv2D '", this->name(), "': strides ",
            o.stride_height, "x", o.stride_width, " must be positive");
    require(o.l2 >= 0, "Conv2D '", this->name(), "': l2 must be >= 0, got ", o.l2);
    o.kernel_height = kernel[0];
    o.kernel_width = kernel[1];
    o.use_bias = bias.has_value();
    return o;
  }

  Conv2DOptions options_;
  Parameter<T>& kernel_;
  Parameter<T>* bias_;
};

}  // namespace resilinet
