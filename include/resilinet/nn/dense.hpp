#pragma once
/// \file
/// Dense<T>: a fully connected layer on the last axis (Keras `Dense`).

#include <optional>
#include <string>

#include "resilinet/autodiff/linear_ops.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/nn/init.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// y = act(x·kernel + bias) on the last axis of x, so it acts per position on rank > 2 inputs.
///
/// The kernel is Glorot-uniform (or He-normal) and the bias zero, as in Keras; the whole layer runs as one
/// fused op (one GEMM, bias and activation in a single pass).
template <class T>
class Dense : public Module<T> {
 public:
  /// Creates a layer mapping `in_features` to `units` with the given activation, its kernel
  /// drawn from `rng`.
  Dense(std::size_t in_features, std::size_t units, Activation act, Rng& rng,
        std::string name = "dense", bool use_bias = true,
        Initializer init = Initializer::glorot_uniform)
      : Dense(initial_kernel<T>(init, kernel_shape(in_features, units, name), rng),
              use_bias ? std::optional<Tensor<T>>(Tensor<T>(Shape{units})) : std::nullopt, act,
              name) {}

  /// Creates a layer with the given (in_features, units) kernel and (units) bias (none: no
  /// bias).
  Dense(Tensor<T> kernel, std::optional<Tensor<T>> bias, Activation act,
        std::string name = "dense")
      : Module<T>(std::move(name)),
        act_(act),
        kernel_(this->register_parameter("kernel", checked(std::move(kernel), bias))),
        bias_(bias ? &this->register_parameter("bias", std::move(*bias)) : nullptr) {}

  /// Records act(x·kernel + bias) for x of shape (..., in_features).
  Var<T> forward(Var<T> x, Context<T>&) override {
    return dense(x, Var<T>(kernel_), bias_ ? Var<T>(*bias_) : Var<T>(), act_);
  }

  /// act(x·kernel + bias) without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    const Shape out = detail::last_axis_product_shape("Dense", x.shape(), kernel_.value().shape());
    TensorView<T> y = inf.buffer(out);
    detail::dense_forward(x.data(), kernel_.value().data(), bias_ ? bias_->value().data() : nullptr,
                          act_, x.size() / in_features(), in_features(), units(), y.data());
    return y;
  }

  /// The (in_features, units) kernel.
  Parameter<T>& kernel() { return kernel_; }

  /// Whether the layer adds a bias.
  bool has_bias() const { return bias_ != nullptr; }

  /// The (units) bias; ValueError when the layer has none (see has_bias()).
  Parameter<T>& bias() {
    require(bias_ != nullptr, "Dense '", this->name(), "' has no bias");
    return *bias_;
  }

  /// Number of input features.
  std::size_t in_features() const { return kernel_.value().shape()[0]; }

  /// Number of output units.
  std::size_t units() const { return kernel_.value().shape()[1]; }

  /// The layer's line for model files ("dense name=... in=18 units=128 act=relu bias=1").
  std::string spec() const override {
    return LayerSpec("dense", this->name()).set("in", in_features()).set("units", units())
        .set("act", act_).set("bias", has_bias()).text();
  }

 private:
  static Shape kernel_shape(std::size_t in, std::size_t units, const std::string& name) {
    require(in > 0 && units > 0, "Dense '", name, "': sizes must be positive, got ", in, " -> ",
            units);
    return Shape{in, units};
  }

  Tensor<T> checked(Tensor<T> kernel, const std::optional<Tensor<T>>& bias) const {
    const Shape& k = kernel.shape();
    require<ShapeError>(k.rank() == 2 && k.numel() > 0, "Dense '", this->name(),
                        "': the kernel must be (in_features, units), both positive, got ", k);
    require<ShapeError>(!bias || bias->shape() == Shape{k[1]}, "Dense '", this->name(),
                        "': bias ", bias ? bias->shape() : Shape{}, " does not match ", k[1],
                        " units");
    return kernel;
  }

  Activation act_;
  Parameter<T>& kernel_;
  Parameter<T>* bias_;
};

}  // namespace resilinet
