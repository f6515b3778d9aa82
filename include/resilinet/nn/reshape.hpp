#pragma once
/// \file
/// Reshape<T>: views each example under a new shape (Keras `Reshape`).

#include <string>

#include "resilinet/autodiff/shape_ops.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// (N, ...) → (N, target...) with the same number of elements per example; nothing is copied.
template <class T>
class Reshape : public Module<T> {
 public:
  /// Creates the layer; `target` is the shape of one example (without the batch axis).
  explicit Reshape(const Shape& target, std::string name = "reshape")
      : Module<T>(std::move(name)), target_(target) {
    require<ShapeError>(target.rank() + 1 <= Shape::max_rank, "Reshape '", this->name(),
                        "': target ", target, " leaves no room for the batch axis");
  }

  /// x viewed as (N, target...).
  Var<T> forward(Var<T> x, Context<T>&) override {
    return reshape(x, target(x.shape()));
  }

  /// x viewed as (N, target...), without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>&) const override {
    const Shape s = target(x.shape());
    require<ShapeError>(s.numel() == x.size(), "Reshape: cannot view ", x.shape(), " as ", s);
    return {x.data(), s};
  }

  /// The layer's line for model files ("reshape name=... target=1x1x48").
  std::string spec() const override { return LayerSpec("reshape", this->name()).set("target", target_).text(); }

 private:
  Shape target(const Shape& in) const {
    require<ShapeError>(in.rank() >= 1, "Reshape: needs a batch axis, got ", in);
    return target_.prepend(in[0]);
  }

  Shape target_;
};

}  // namespace resilinet
