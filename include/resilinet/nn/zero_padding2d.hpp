#pragma once
/// \file
/// ZeroPadding2D<T>: zero rows and columns around each image (Keras `ZeroPadding2D`).

#include <string>

#include "resilinet/autodiff/pool_ops.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Adds `top`/`bottom` zero rows and `left`/`right` zero columns to x (N, H, W, C).
template <class T>
class ZeroPadding2D : public Module<T> {
 public:
  /// Creates the layer; MobileNet's stride-2 blocks use (0, 1, 0, 1): bottom/right only.
  ZeroPadding2D(std::size_t top, std::size_t bottom, std::size_t left, std::size_t right,
                std::string name = "zero_padding2d")
      : Module<T>(std::move(name)), top_(top), bottom_(bottom), left_(left), right_(right) {}

  /// Records the padding of x.
  Var<T> forward(Var<T> x, Context<T>&) override {
    return zero_pad2d(x, top_, bottom_, left_, right_);
  }

  /// The padding of x without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    TensorView<T> y = inf.buffer(detail::padded_shape(x.shape(), top_, bottom_, left_, right_));
    detail::zero_pad2d_forward(x.shape(), y.shape(), top_, left_, x.data(), y.data());
    return y;
  }

  /// The layer's line for model files: the padding on each side.
  std::string spec() const override {
    return LayerSpec("zero_padding2d", this->name()).set("top", top_).set("bottom", bottom_)
        .set("left", left_).set("right", right_).text();
  }

 private:
  std::size_t top_, bottom_, left_, right_;
};

}  // namespace resilinet
