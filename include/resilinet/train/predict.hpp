#pragma once
/// \file
/// Batched inference: predict(), argmax_rows(), count_correct(), accuracy() and evaluate().

#include <algorithm>
#include <vector>

#include "resilinet/autodiff/tape.hpp"
#include "resilinet/data/batch_source.hpp"
#include "resilinet/data/dataset.hpp"
#include "resilinet/nn/inference.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Runs `infer` (TensorView<const T>(TensorView<const T>), e.g. an Inference::run) over `x`
/// in batches and stacks the outputs (logits).
template <class T, class Infer>
Tensor<T> predict_with(Infer&& infer, const Tensor<T>& x, std::size_t batch_size = 32) {
  require(batch_size > 0, "predict: batch_size must be positive, got ", batch_size);
  const std::size_t n = x.dim(0);
  Tensor<T> out;
  for (std::size_t start = 0; start < n; start += batch_size) {
    const std::size_t rows = std::min(batch_size, n - start);
    const TensorView<const T> y = infer(x.view().rows(start, rows));
    if (start == 0) out.resize(y.shape().with_leading(n));
    std::copy(y.begin(), y.end(), out.data() + start * y.shape().row_size());
  }
  return out;
}

/// The model's outputs for every row of `x`, computed tape-free in batches.
template <class T>
Tensor<T> predict(Module<T>& model, const Tensor<T>& x, std::size_t batch_size = 32) {
  Inference<T> inf;
  return predict_with([&](TensorView<const T> v) { return inf.run(model, v); }, x, batch_size);
}

/// Writes the index of the largest value in each row of a (N, C) Tensor or view into `out`.
template <class Scores>
void argmax_rows(const Scores& scores, std::vector<int>& out) {
  const std::size_t n = scores.dim(0), c = scores.shape().row_size();
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = int(std::max_element(scores.data() + i * c, scores.data() + (i + 1) * c) -
                 (scores.data() + i * c));
}

/// Index of the largest value in each row of a (N, C) Tensor or view.
template <class Scores>
std::vector<int> argmax_rows(const Scores& scores) {
  std::vector<int> out;
  argmax_rows(scores, out);
  return out;
}

/// Number of rows of (N, C) `scores` (a Tensor or view) whose largest value sits at the
/// row's label.
template <class Scores>
std::size_t count_correct(const Scores& scores, const std::vector<int>& labels) {
  const std::size_t n = scores.dim(0), c = scores.shape().row_size();
  require<ShapeError>(labels.size() == n, "count_correct: ", labels.size(), " labels for scores ",
                      scores.shape());
  std::size_t hits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto* row = scores.data() + i * c;
    hits += std::max_element(row, row + c) - row == labels[i];
  }
  return hits;
}

/// Fraction of positions where `predicted` equals `truth` (requires equal, non-zero sizes).
inline double accuracy(const std::vector<int>& predicted, const std::vector<int>& truth) {
  require<ShapeError>(predicted.size() == truth.size() && !truth.empty(), "accuracy: ",
                      predicted.size(), " predictions for ", truth.size(), " labels");
  std::size_t hits = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) hits += predicted[i] == truth[i];
  return double(hits) / double(truth.size());
}

/// Classification accuracy of `infer` (TensorView<const T>(TensorView<const T>), e.g. an
/// Inference::run) over one in-order pass of `source`.
template <class T, class Infer>
double evaluate_with(Infer&& infer, BatchSource<T>& source, std::size_t batch_size = 32) {
  require(source.size() > 0, "evaluate: the data source is empty");
  Rng unused(0);
  source.start_epoch(unused);
  Tensor<T> x;
  std::vector<int> y;
  std::size_t hits = 0, seen = 0;
  while (source.next(batch_size, x, y)) {
    hits += count_correct(infer(x.view()), y);
    seen += y.size();
  }
  return double(hits) / double(seen);
}

/// Classification accuracy of `model` in inference mode (tape-free) over one pass of `source`.
template <class T>
double evaluate(Module<T>& model, BatchSource<T>& source, std::size_t batch_size = 32) {
  Inference<T> inf;
  return evaluate_with([&](TensorView<const T> v) { return inf.run(model, v); }, source,
                       batch_size);
}

/// Classification accuracy of `model` on `data` in inference mode.
template <class T>
double evaluate(Module<T>& model, const Dataset<T>& data, std::size_t batch_size = 32) {
  DatasetSource<T> source(data);
  return evaluate(model, source, batch_size);
}

}  // namespace resilinet
