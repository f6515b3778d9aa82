#pragma once
/// \file
/// ResidualBlock<T>: y = shortcut(x) + residual(x), with an empty shortcut meaning identity.

#include <string>

#include "resilinet/autodiff/elementwise_ops.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/sequential.hpp"

namespace resilinet {

/// Two chains over the same input whose outputs are added (no activation after the add, as
/// in pre-activation ResNets). Fill residual() and, when the shape changes, shortcut().
template <class T>
class ResidualBlock : public Module<T> {
 public:
  /// Creates a block with empty chains (an empty residual makes y = 2x).
  explicit ResidualBlock(std::string name = "residual_block")
      : Module<T>(name), residual_(name + "/residual"), shortcut_(name + "/shortcut") {
    this->register_module(residual_);
    this->register_module(shortcut_);
  }

  /// Records shortcut(x) + residual(x); the shapes must agree.
  Var<T> forward(Var<T> x, Context<T>& ctx) override {
    return add(shortcut_.forward(x, ctx), residual_.forward(x, ctx));
  }

  /// shortcut(x) + residual(x) without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    const TensorView<const T> s = shortcut_.infer(x, inf), r = residual_.infer(x, inf);
    require<ShapeError>(s.shape() == r.shape(), "ResidualBlock '", this->name(), "': shapes ",
                        s.shape(), " and ", r.shape(), " differ");
    TensorView<T> y = inf.buffer(s.shape());
    detail::add_forward(s.data(), r.data(), T(1), y.size(), y.data());
    return y;
  }

  /// The residual branch.
  Sequential<T>& residual() { return residual_; }

  /// The shortcut branch (identity while empty).
  Sequential<T>& shortcut() { return shortcut_; }

  /// The block's line for model files; the residual and shortcut chains' lines follow it.
  std::string spec() const override { return LayerSpec("residual_block", this->name()).text(); }

 private:
  Sequential<T> residual_;
  Sequential<T> shortcut_;
};

}  // namespace resilinet
