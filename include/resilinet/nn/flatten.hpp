#pragma once
/// \file
/// Flatten<T>: (N, ...) → (N, product of the rest), as a view (Keras `Flatten`).

#include <string>

#include "resilinet/autodiff/shape_ops.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Views every example as one row of features; nothing is copied or recorded.
template <class T>
class Flatten : public Module<T> {
 public:
  /// Creates the layer.
  explicit Flatten(std::string name = "flatten") : Module<T>(std::move(name)) {}

  /// x (N, ...) viewed as (N, features).
  Var<T> forward(Var<T> x, Context<T>&) override {
    return reshape(x, flat(x.shape()));
  }

  /// x viewed as (N, features), without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>&) const override {
    return {x.data(), flat(x.shape())};
  }

  /// The layer's line for model files ("flatten name=...").
  std::string spec() const override { return LayerSpec("flatten", this->name()).text(); }

 private:
  static Shape flat(const Shape& s) {
    require<ShapeError>(s.rank() >= 1, "Flatten: needs a batch axis, got ", s);
    return Shape{s[0], s.row_size()};
  }
};

}  // namespace resilinet
