#pragma once
/// \file
/// Batched inference: predict(), argmax_rows(), accuracy() and evaluate().

#include <algorithm>
#include <vector>

#include "resilinet/autodiff/tape.hpp"
#include "resilinet/data/dataset.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Runs `forward` (Var<T>(Var<T>)) over `x` in batches and stacks the outputs (logits).
///
/// One tape is reused across batches, so steady-state inference allocates nothing.
template <class T, class Forward>
Tensor<T> predict_with(Forward&& forward, const Tensor<T>& x, std::size_t batch_size = 32) {
  require(batch_size > 0, "predict: batch_size must be positive, got ", batch_size);
  const std::size_t n = x.dim(0);
  Tensor<T> out;
  Tape<T> tape;
  for (std::size_t start = 0; start < n; start += batch_size) {
    const std::size_t rows = std::min(batch_size, n - start);
    tape.clear();
    const Tensor<T>& y = forward(tape.input_rows(x, start, rows)).value();
    if (start == 0) out.resize(y.shape().with_leading(n));
    std::copy(y.begin(), y.end(), out.data() + start * y.shape().row_size());
  }
  return out;
}

/// The model's outputs for every row of `x`, computed in inference mode in batches.
template <class T>
Tensor<T> predict(Module<T>& model, const Tensor<T>& x, std::size_t batch_size = 32) {
  const bool was_training = model.is_training();
  model.eval();
  Tensor<T> out = predict_with([&](Var<T> v) { return model.forward(v); }, x, batch_size);
  model.train(was_training);
  return out;
}

/// Index of the largest value in each row of a (N, C) tensor.
template <class T>
std::vector<int> argmax_rows(const Tensor<T>& scores) {
  const std::size_t n = scores.dim(0), c = scores.shape().row_size();
  std::vector<int> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = int(std::max_element(scores.data() + i * c, scores.data() + (i + 1) * c) -
                 (scores.data() + i * c));
  return out;
}

/// Fraction of positions where `predicted` equals `truth` (requires equal, non-zero sizes).
inline double accuracy(const std::vector<int>& predicted, const std::vector<int>& truth) {
  require<ShapeError>(predicted.size() == truth.size() && !truth.empty(), "accuracy: ",
                      predicted.size(), " predictions for ", truth.size(), " labels");
  std::size_t hits = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) hits += predicted[i] == truth[i];
  return double(hits) / double(truth.size());
}

/// Classification accuracy of `model` on `data` in inference mode.
template <class T>
double evaluate(Module<T>& model, const Dataset<T>& data, std::size_t batch_size = 32) {
  return accuracy(argmax_rows(predict(model, data.x, batch_size)), data.y);
}

}  // namespace resilinet
