#pragma once
/// \file
/// Reshape<T>: views each example under a new shape (Keras `Reshape`).

#include <string>

#include "resilinet/autodiff/shape_ops.hpp"
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
    require<ShapeError>(x.shape().rank() >= 1, "Reshape: needs a batch axis, got ", x.shape());
    return reshape(x, target_.prepend(x.shape()[0]));
  }

 private:
  Shape target_;
};

}  // namespace resilinet
