#pragma once
/// \file
/// Scoring a partitioned network under node failures: per-combination accuracy, random-guess
/// fallback, expected accuracy under a reliability vector, and mean/std across iterations.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <vector>

#include "resilinet/core/rng.hpp"
#include "resilinet/data/batch_source.hpp"
#include "resilinet/data/dataset.hpp"
#include "resilinet/resilience/failure_mask.hpp"
#include "resilinet/resilience/partitioned_network.hpp"
#include "resilinet/train/predict.hpp"

namespace resilinet {

/// Accuracy of guessing each test label at random with the training class frequencies.
///
/// Classes are sorted by label value; for each test example u ~ U[0,1) picks the first class j
/// with C_j ≤ u ≤ C_{j+1} (C = cumulative relative frequencies). The guess is the label value;
/// `guess_index` reproduces the reference's bug of guessing the class *index* instead.
inline double random_guess_accuracy(const std::vector<int>& train_labels,
                                    const std::vector<int>& test_labels, Rng& rng,
                                    bool guess_index = false) {
  require(!train_labels.empty() && !test_labels.empty(),
          "random_guess_accuracy: needs training and test labels");
  std::map<int, std::size_t> counts;
  for (int y : train_labels) ++counts[y];
  std::vector<int> classes;
  std::vector<double> cumulative{0.0};
  for (const auto& [label, count] : counts) {
    classes.push_back(label);
    cumulative.push_back(cumulative.back() + double(count) / double(train_labels.size()));
  }
  std::vector<int> guesses(test_labels.size());
  for (int& g : guesses) {
    const double u = rng.uniform();
    std::size_t j = 0;
    while (j + 1 < classes.size() && !(cumulative[j] <= u && u <= cumulative[j + 1])) ++j;
    g = guess_index ? int(j) : classes[j];
  }
  return accuracy(guesses, test_labels);
}

/// Settings of combination_accuracies().
struct FailureEvaluationOptions {
  /// Examples per inference batch (Keras predict's default is 32).
  std::size_t batch_size = 32;
  /// Reproduce the reference's random guess of a class index instead of a label.
  bool guess_index = false;
  /// A constant accuracy for combinations without information flow (ImageNet uses 0.001);
  /// unset means the random guess.
  std::optional<double> no_flow_accuracy;
  /// Seed of the random guesses.
  std::uint64_t seed = 0;
  /// Where one line per combination goes (null: silent).
  std::ostream* log = nullptr;
  /// Share work between combinations (PartitionedNetwork::infer_combinations); false runs
  /// one forward(x, mask) pass per combination. Both give the same accuracies.
  bool share_work = true;
};

/// Every label `source` delivers in one pass, in order.
template <class T>
std::vector<int> collect_labels(BatchSource<T>& source, std::size_t batch_size = 1024) {
  Rng unused(0);
  source.start_epoch(unused);
  Tensor<T> x;
  std::vector<int> y, all;
  while (source.next(batch_size, x, y)) all.insert(all.end(), y.begin(), y.end());
  return all;
}

/// Accuracy of `net` on `test` for every failure combination, in index order (MSB first).
///
/// Combinations where no information reaches the output are answered by the network's
/// answering exit (PartitionedNetwork::add_exit) when it has one; the others are not run:
/// they score the random guess (from `train_labels`) or the configured constant.
template <class T>
std::vector<double> combination_accuracies(PartitionedNetwork<T>& net, BatchSource<T>& test,
                                           const std::vector<int>& train_labels,
                                           const FailureEvaluationOptions& options = {}) {
  Rng rng(options.seed);
  Inference<T> inf;  // tape-free, its buffers reused by every batch and combination
  std::vector<int> test_labels;  // read only if a random guess needs them
  std::vector<double> acc;
  const std::vector<FailureMask> masks = failure_combinations(net.num_failable());
  std::vector<double> shared(masks.size(), 0.0);
  if (options.share_work) {
    std::vector<std::size_t> hits(masks.size(), 0);
    std::size_t seen = 0;
    Rng unused(0);
    test.start_epoch(unused);
    Tensor<T> x;
    std::vector<int> y;
    while (test.next(options.batch_size, x, y)) {
      inf.reset();
      net.infer_combinations(x.view(), inf, [&](const FailureMask& m, TensorView<const T> logits) {
        std::size_t i = 0;
        for (std::uint8_t bit : m) i = 2 * i + bit;  // MSB first
        hits[i] += count_correct(logits, y);
      });
      seen += y.size();
    }
    require(seen > 0, "combination_accuracies: the test source is empty");
    for (std::size_t i = 0; i < masks.size(); ++i) shared[i] = double(hits[i]) / double(seen);
  }
  for (const FailureMask& mask : masks) {
    const bool answered = net.answers(mask);
    double a;
    if (answered && options.share_work) {
      a = shared[acc.size()];
    } else if (answered) {
      a = evaluate_with([&](TensorView<const T> v) { return inf.run(net, v, mask); }, test,
                        options.batch_size);
    } else if (options.no_flow_accuracy) {
      a = *options.no_flow_accuracy;
    } else {
      if (test_labels.empty()) test_labels = collect_labels(test);
      a = random_guess_accuracy(train_labels, test_labels, rng, options.guess_index);
    }
    if (options.log) {
      const std::size_t exit = net.answering_exit(mask);
      *options.log << "  " << to_string(mask)
                   << (exit != Partition<T>::npos ? " (exit " + net.nodes()[net.exits()[exit].node]->name + ")"
                       : answered                 ? std::string()
                                                  : std::string(" (no flow)"))
                   << " accuracy " << a << "\n";
    }
    acc.push_back(a);
  }
  return acc;
}

/// combination_accuracies() on a test set held in memory.
template <class T>
std::vector<double> combination_accuracies(PartitionedNetwork<T>& net, const Dataset<T>& test,
                                           const std::vector<int>& train_labels,
                                           const FailureEvaluationOptions& options = {}) {
  DatasetSource<T> source(test);
  return combination_accuracies(net, static_cast<BatchSource<T>&>(source), train_labels, options);
}

/// E[acc] = Σ_i a_i·w_i / Σ_i w_i with w_i the probability of combination i under
/// `reliability` (one value per failable node, failure order).
inline double expected_accuracy(const std::vector<double>& combination_accuracy,
                                const std::vector<double>& reliability) {
  require<ShapeError>(combination_accuracy.size() == (std::size_t(1) << reliability.size()),
                      "expected_accuracy: ", combination_accuracy.size(),
                      " accuracies for 2^", reliability.size(), " combinations");
  double num = 0, den = 0;
  for (std::size_t i = 0; i < combination_accuracy.size(); ++i) {
    const double w = combination_probability(failure_combination(i, reliability.size()), reliability);
    num += combination_accuracy[i] * w;
    den += w;
  }
  return num / den;
}

/// Arithmetic mean and sample standard deviation (ddof = 1; NaN for a single value).
struct MeanStd {
  /// The mean.
  double mean = 0;
  /// The sample standard deviation.
  double std = 0;
};

/// Mean and sample standard deviation of `values` (requires at least one value).
inline MeanStd mean_std(const std::vector<double>& values) {
  require(!values.empty(), "mean_std: no values");
  MeanStd r;
  for (double v : values) r.mean += v;
  r.mean /= double(values.size());
  if (values.size() < 2) {
    r.std = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  double ss = 0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  r.std = std::sqrt(ss / double(values.size() - 1));
  return r;
}

/// Settings of monte_carlo_expected_accuracy().
struct MonteCarloOptions {
  /// Failure patterns drawn, one per sample (at least 2).
  std::size_t samples = 2000;
  /// Test examples scored per sample, drawn uniformly with replacement.
  std::size_t batch_size = 64;
  /// Seed of the pattern, example and guess draws.
  std::uint64_t seed = 0;
  /// Normal quantile of the interval (1.96: 95%).
  double z = 1.96;
  /// Accuracy of a pattern without an answer (no information flow, no answering exit);
  /// unset: random guessing with the training class frequencies, as combination_accuracies() does.
  std::optional<double> no_flow_accuracy;
  /// Reproduce the reference's random-guess bug (see random_guess_accuracy()).
  bool guess_index = false;
};

/// A Monte Carlo estimate of an expected accuracy and its confidence interval.
struct AccuracyEstimate {
  /// The estimate: the mean accuracy over the samples.
  double mean = 0;
  /// Its standard error (sample standard deviation / √samples).
  double standard_error = 0;
  /// Lower end of the interval mean − z·standard_error (at least 0).
  double low = 0;
  /// Upper end of the interval mean + z·standard_error (at most 1).
  double high = 0;
};

/// Estimates E[acc] under `reliability` (one value per failable node, failure order) without
/// enumerating the 2^n failure combinations: each sample draws a failure pattern (node k
/// alive with probability reliability[k]) and a batch of test examples, and scores the batch
/// under that pattern. Unbiased for expected_accuracy() over combination_accuracies(); the
/// cost is samples × one forward pass of batch_size examples, whatever n.
template <class T>
AccuracyEstimate monte_carlo_expected_accuracy(PartitionedNetwork<T>& net, const Dataset<T>& test,
                                               const std::vector<int>& train_labels,
                                               const std::vector<double>& reliability,
                                               const MonteCarloOptions& options = {}) {
  require<ShapeError>(reliability.size() == net.num_failable(), "monte_carlo_expected_accuracy: ",
                      reliability.size(), " reliabilities for ", net.num_failable(), " failable nodes");
  for (double r : reliability)
    require(r >= 0 && r <= 1, "monte_carlo_expected_accuracy: reliability must be in [0, 1], got ", r);
  require(options.samples >= 2 && options.batch_size > 0, "monte_carlo_expected_accuracy: needs at least 2 ",
          "samples and a positive batch size, got ", options.samples, " and ", options.batch_size);
  require(test.size() > 0, "monte_carlo_expected_accuracy: the test set is empty");
  Rng rng(options.seed);
  Inference<T> inf;
  FailureMask mask(reliability.size());
  std::vector<std::size_t> rows(options.batch_size);
  std::vector<int> labels(options.batch_size);
  Tensor<T> batch;
  std::vector<double> acc(options.samples);
  for (double& a : acc) {
    for (std::size_t k = 0; k < mask.size(); ++k) mask[k] = std::uint8_t(rng.uniform() < reliability[k]);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      rows[i] = std::size_t(rng.below(test.size()));
      labels[i] = test.y[rows[i]];
    }
    if (net.answers(mask)) {
      test.x.gather_rows(rows.data(), rows.size(), batch);
      a = double(count_correct(inf.run(net, batch.view(), mask), labels)) / double(rows.size());
    } else {
      a = options.no_flow_accuracy ? *options.no_flow_accuracy
                                   : random_guess_accuracy(train_labels, labels, rng, options.guess_index);
    }
  }
  const MeanStd m = mean_std(acc);
  AccuracyEstimate e;
  e.mean = m.mean;
  e.standard_error = m.std / std::sqrt(double(acc.size()));
  e.low = std::max(0.0, e.mean - options.z * e.standard_error);
  e.high = std::min(1.0, e.mean + options.z * e.standard_error);
  return e;
}

}  // namespace resilinet
