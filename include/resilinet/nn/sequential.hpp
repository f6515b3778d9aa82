#pragma once
/// \file
/// Sequential<T>: modules applied one after another.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// A chain of modules; the output of each is the input of the next. Owns its modules.
template <class T>
class Sequential : public Module<T> {
 public:
  /// Creates an empty chain (an empty chain is the identity).
  explicit Sequential(std::string name = "sequential") : Module<T>(std::move(name)) {}

  /// Constructs a module of type M in place at the end of the chain and returns it.
  template <class M, class... Args>
  M& add(Args&&... args) {
    return static_cast<M&>(append(std::make_unique<M>(std::forward<Args>(args)...)));
  }

  /// Appends a module built elsewhere (e.g. by LayerReader) and returns it.
  Module<T>& append(std::unique_ptr<Module<T>> module) {
    require(module != nullptr, "Sequential '", this->name(), "': cannot append a null module");
    this->register_module(*module);
    layers_.push_back(std::move(module));
    return *layers_.back();
  }

  /// Records every module's forward in order.
  Var<T> forward(Var<T> x, Context<T>& ctx) override {
    for (auto& layer : layers_) x = layer->forward(x, ctx);
    return x;
  }

  /// Every module's infer() in order.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    for (auto& layer : layers_) x = layer->infer(x, inf);
    return x;
  }

  /// Number of modules in the chain.
  std::size_t size() const { return layers_.size(); }

  /// The i-th module (requires i < size()).
  Module<T>& operator[](std::size_t i) { return *layers_.at(i); }

  /// The chain's line for model files ("sequential name=... layers=3"); its modules' lines
  /// follow it.
  std::string spec() const override { return LayerSpec("sequential", this->name()).set("layers", size()).text(); }

 private:
  std::vector<std::unique_ptr<Module<T>>> layers_;
};

}  // namespace resilinet
