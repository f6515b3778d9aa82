#pragma once
/// \file
/// Module<T>: the base of every layer and network (parameters and children).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "resilinet/autodiff/loss_ops.hpp"
#include "resilinet/autodiff/tape.hpp"
#include "resilinet/core/context.hpp"
#include "resilinet/nn/inference.hpp"

namespace resilinet {

/// A differentiable building block that owns parameters and may contain child modules.
template <class T>
class Module {
  static_assert(std::is_floating_point_v<T>, "Module<T> requires a floating-point T");

 public:
  /// Creates a module with a name used to prefix its parameters' names.
  explicit Module(std::string name) : name_(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// Records the forward computation of `x` on x's tape; `ctx` says whether it trains and
  /// supplies randomness and scratch memory.
  virtual Var<T> forward(Var<T> x, Context<T>& ctx) = 0;

  /// Same as forward().
  Var<T> operator()(Var<T> x, Context<T>& ctx) { return forward(x, ctx); }

  /// forward() in inference mode with a fresh Context, for code that drives a layer by hand
  /// and has no randomness or scratch memory to share (backward works after it returns).
  Var<T> operator()(Var<T> x) {
    Context<T> ctx(Mode::infer);
    return forward(x, ctx);
  }

  /// Computes the inference output for `x` without a tape, into `inf`'s buffers; equals
  /// forward() in inference mode. Call through Inference::run(). Every built-in layer has its
  /// own tape-free path; this default records forward() on inf's fallback tape, so a module
  /// relying on it must not change itself in inference-mode forward() (threads share it).
  virtual TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const {
    Tape<T>& tape = inf.fallback_tape();
    return const_cast<Module&>(*this).forward(tape.input(x), inf.context()).value();
  }

  /// The loss fit() minimises for `output` (this module's last forward result): softmax
  /// cross-entropy against `labels`, with optional per-class weights; a network with extra
  /// heads (PartitionedNetwork's exits) adds theirs.
  virtual Var<T> training_loss(Var<T> output, const std::vector<int>& labels, const std::vector<T>& class_weights) {
    return softmax_cross_entropy(output, labels, class_weights);
  }

  /// The module's name.
  const std::string& name() const { return name_; }

  /// Every parameter of this module and of its children, in registration order.
  std::vector<Parameter<T>*> parameters() const {
    std::vector<Parameter<T>*> out;
    collect(out);
    return out;
  }

  /// Everything besides the parameters that this module's forward pass depends on, as text
  /// (e.g. a partitioned network's topology and hyperconnection weights); model files store
  /// it. Empty for modules whose parameters say it all.
  virtual std::string describe() const { return ""; }

  /// Checks that `description` (from describe() of the module that was saved) fits this
  /// module, throwing FormatError naming the first difference; with `apply` also adopts its
  /// settings. The default accepts only an empty description.
  virtual void configure(const std::string& description, bool apply) {
    (void)apply;
    require<FormatError>(description.empty(), "module '", name_,
                         "' takes no description, but the file holds one for another kind of "
                         "network");
  }

  /// The module's kind, name and settings as one line (LayerSpec), which model files store so
  /// that load_network() rebuilds it; its children's lines follow it. Empty for a module that
  /// cannot be rebuilt from text (a network saved with one loads only into a built network).
  virtual std::string spec() const { return ""; }

  /// The child modules registered with register_module(), in order.
  const std::vector<Module*>& children() const { return children_; }

  /// Sets the gradient of every parameter to zero.
  void zero_grad() {
    for (Parameter<T>* p : parameters()) p->zero_grad();
  }

 protected:
  /// Creates a parameter named `<module name>/<name>` owned by this module.
  Parameter<T>& register_parameter(const std::string& name, Tensor<T> initial,
                                   bool trainable = true) {
    params_.push_back(std::make_unique<Parameter<T>>(name_ + "/" + name, std::move(initial),
                                                     trainable));
    return *params_.back();
  }

  /// Registers a child whose parameters belong to this module's (the caller owns it).
  void register_module(Module& child) { children_.push_back(&child); }

 private:
  void collect(std::vector<Parameter<T>*>& out) const {
    for (const auto& p : params_) out.push_back(p.get());
    for (const Module* c : children_) c->collect(out);
  }

  std::string name_;
  std::vector<std::unique_ptr<Parameter<T>>> params_;
  std::vector<Module*> children_;
};

}  // namespace resilinet
