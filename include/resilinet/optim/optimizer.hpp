#pragma once
/// \file
/// Optimizer<T>: the base of every optimizer; it owns the step count.

#include <cstddef>
#include <vector>

#include "resilinet/autodiff/tape.hpp"

namespace resilinet {

/// Updates a fixed set of parameters from their gradients, once per training iteration.
template <class T>
class Optimizer {
 public:
  /// Creates an optimizer over the trainable members of `params` (frozen ones are skipped).
  explicit Optimizer(const std::vector<Parameter<T>*>& params) {
    for (Parameter<T>* p : params)
      if (p->trainable()) params_.push_back(p);
  }
  virtual ~Optimizer() = default;

  /// Applies one update to every parameter, then advances the step count by one.
  void step() {
    ++steps_;
    for (std::size_t i = 0; i < params_.size(); ++i) update(i, *params_[i]);
  }

  /// Sets every parameter's gradient to zero.
  void zero_grad() {
    for (Parameter<T>* p : params_) p->zero_grad();
  }

  /// Number of completed step() calls (Adam's bias correction uses it).
  std::size_t step_count() const { return steps_; }

  /// The parameters this optimizer updates.
  const std::vector<Parameter<T>*>& parameters() const { return params_; }

  /// The optimizer's per-parameter state tensors (moments, velocities), for checkpoints.
  virtual std::vector<Tensor<T>*> state() { return {}; }

  /// Continues counting from `steps` completed steps (restoring a checkpoint).
  void set_step_count(std::size_t steps) { steps_ = steps; }

 protected:
  /// Updates parameter `index` using its gradient; step_count() already counts this step.
  virtual void update(std::size_t index, Parameter<T>& p) = 0;

 private:
  std::vector<Parameter<T>*> params_;
  std::size_t steps_ = 0;
};

}  // namespace resilinet
