#pragma once
/// \file
/// check_gradients(): compares backpropagated gradients with central finite differences.

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "resilinet/autodiff/tape.hpp"

namespace resilinet {

/// The outcome of a finite-difference gradient check.
struct GradCheckResult {
  /// Largest |analytic − numeric| / max(1, |analytic|, |numeric|) over all checked elements.
  double max_error = 0.0;
  /// Where the largest error occurred, e.g. `dense/kernel[17]`.
  std::string worst;
  /// Number of elements checked.
  std::size_t checked = 0;
};

/// Checks d(loss)/d(p) for every element of every parameter in `params`.
///
/// `loss_fn` records a scalar loss on the given tape using the parameters. Use double
/// precision: with T = double and eps = 1e-6 a correct gradient gives errors near 1e-8.
template <class T>
GradCheckResult check_gradients(const std::function<Var<T>(Tape<T>&)>& loss_fn,
                                const std::vector<Parameter<T>*>& params, double eps = 1e-6) {
  Tape<T> tape;
  for (Parameter<T>* p : params) p->zero_grad();
  Var<T> loss = loss_fn(tape);
  tape.backward(loss);
  std::vector<Tensor<T>> analytic;
  for (Parameter<T>* p : params) analytic.push_back(p->grad());
  auto evaluate = [&]() {
    tape.clear();
    return static_cast<double>(loss_fn(tape).value()[0]);
  };
  GradCheckResult result;
  for (std::size_t k = 0; k < params.size(); ++k) {
    const TensorView<T> v = params[k]->mutable_value();
    for (std::size_t i = 0; i < v.size(); ++i) {
      const T saved = v[i];
      v[i] = saved + T(eps);
      const double up = evaluate();
      v[i] = saved - T(eps);
      const double down = evaluate();
      v[i] = saved;
      const double numeric = (up - down) / (2 * eps);
      const double a = analytic[k][i];
      const double err =
          std::abs(a - numeric) / std::max({1.0, std::abs(a), std::abs(numeric)});
      ++result.checked;
      if (result.worst.empty() || err > result.max_error) {
        result.max_error = err;
        result.worst = params[k]->name() + "[" + std::to_string(i) + "]";
      }
    }
  }
  return result;
}

}  // namespace resilinet
