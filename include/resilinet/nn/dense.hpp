#pragma once
/// \file
/// Dense<T>: a fully connected layer on the last axis (Keras `Dense`).

#include <string>

#include "resilinet/autodiff/linear_ops.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/nn/init.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// y = act(x·kernel + bias) on the last axis of x, so it acts per position on rank > 2 inputs.
///
/// The kernel is Glorot-uniform (or He-normal) and the bias zero, as in Keras; the whole layer runs as one
/// fused op (one GEMM, bias and activation in a single pass).
template <class T>
class Dense : public Module<T> {
 public:
  /// Creates a layer mapping `in_features` to `units` with the given activation.
  Dense(std::size_t in_features, std::size_t units, Activation act, Rng& rng,
        std::string name = "dense", bool use_bias = true,
        Initializer init = Initializer::glorot_uniform)
      : Module<T>(std::move(name)),
        act_(act),
        kernel_(this->register_parameter(
            "kernel", initial_kernel<T>(init, checked_shape(in_features, units), rng))),
        bias_(use_bias ? &this->register_parameter("bias", Tensor<T>(Shape{units}))
                       : nullptr) {}

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

  /// The bias, or null when the layer has none.
  Parameter<T>* bias() { return bias_; }

  /// Number of input features.
  std::size_t in_features() const { return kernel_.value().shape()[0]; }

  /// Number of output units.
  std::size_t units() const { return kernel_.value().shape()[1]; }

 private:
  Shape checked_shape(std::size_t in, std::size_t units) const {
    require(in > 0 && units > 0, "Dense '", this->name(), "': sizes must be positive, got ", in,
            " -> ", units);
    return Shape{in, units};
  }

  Activation act_;
  Parameter<T>& kernel_;
  Parameter<T>* bias_;
};

}  // namespace resilinet
