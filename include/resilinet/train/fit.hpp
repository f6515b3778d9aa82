#pragma once
/// \file
/// fit(): mini-batch training with per-epoch validation and best-validation model selection.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "resilinet/autodiff/loss_ops.hpp"
#include "resilinet/core/collective.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/data/batch_source.hpp"
#include "resilinet/optim/optimizer.hpp"
#include "resilinet/train/checkpoint.hpp"
#include "resilinet/train/history.hpp"
#include "resilinet/train/predict.hpp"

namespace resilinet {

namespace detail {
/// Keeps a parameter out of template argument deduction (so `nullptr` works as a Dataset*).
template <class U>
using NoDeduce = typename std::enable_if<true, U>::type;
}  // namespace detail

/// Settings of fit().
struct FitOptions {
  /// Number of passes over the training set (> 0).
  std::size_t epochs = 1;
  /// Examples per mini-batch (> 0); the last batch of an epoch may be smaller.
  std::size_t batch_size = 32;
  /// Seed of the per-epoch shuffling.
  std::uint64_t seed = 0;
  /// Keep the weights of the epoch with the strictly best validation accuracy (needs a
  /// validation set), as the reference's Keras checkpoint does.
  bool restore_best = true;
  /// Examples per batch when computing validation accuracy.
  std::size_t eval_batch_size = 1024;
  /// Per-class loss weights (empty: all 1), like Keras `class_weight`.
  std::vector<double> class_weights;
  /// Where the one-line-per-epoch progress goes (null: silent).
  std::ostream* log = &std::cout;
  /// Prefix of every progress line (e.g. the model's name).
  std::string label;
  /// Epochs that later fits of the same run will train, counted in the progress line's
  /// estimate of the time left for the run.
  std::size_t epochs_after = 0;
  /// File to which the state after every epoch is saved atomically (empty: none); fit()
  /// removes it when training completes.
  std::string checkpoint;
  /// Continue from `checkpoint` when it exists (it must come from a run with the same seed);
  /// the result is bit-identical to a run that was never interrupted.
  bool resume = false;
  /// Data-parallel training over this group of processes (null: this process alone). Every
  /// process runs fit() with the same settings and data; see fit().
  Collective* collective = nullptr;
  /// Called after every optimizer step with the optimizer's step index (0 for its first step,
  /// so a resumed run continues its count) and the mini-batch's loss (over this process's rows
  /// in data-parallel training); empty: none.
  std::function<void(std::size_t step, double loss)> on_step;
};

namespace detail {

/// "1h02m", "3m05s" or "12s".
inline std::string duration_text(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

/// Keeps this process's contiguous share of the global batch (x, y) for data-parallel
/// training, tells the context which rows they are, and returns the share of the rows. A
/// process whose share of a small last batch is empty keeps the batch's last row with share
/// 0: it still runs the step, so its generator draws what every other process draws.
template <class T>
double shard_batch(const Collective& group, Tensor<T>& x, std::vector<int>& y, Context<T>& ctx) {
  const std::size_t global = y.size(), size = std::size_t(group.size()),
                    rank = std::size_t(group.rank());
  std::size_t first = global * rank / size, last = global * (rank + 1) / size;
  const double share = double(last - first) / double(global);
  if (first == last) first = global - 1, last = global;
  const std::size_t row = x.shape().row_size();
  std::copy(x.data() + first * row, x.data() + last * row, x.data());
  x.resize(x.shape().with_leading(last - first));
  y.assign(y.begin() + std::ptrdiff_t(first), y.begin() + std::ptrdiff_t(last));
  ctx.set_shard(Shard{first, global});
  return share;
}

/// Puts the parameters and optimizer state of checkpoint `c` back, after checking that it
/// belongs to this run (seed, epochs, tensor counts and shapes).
template <class T>
void restore_checkpoint(const FitCheckpoint<T>& c, const FitOptions& options,
                        const std::vector<Parameter<T>*>& params, Optimizer<T>& optimizer) {
  const std::string& path = options.checkpoint;
  require<FormatError>(c.seed == options.seed, "'", path, "' comes from a run with seed ", c.seed,
                       ", this run's is ", options.seed);
  require<FormatError>(c.epochs_done <= options.epochs, "'", path, "' has ", c.epochs_done,
                       " epochs done but this run trains ", options.epochs);
  const std::vector<Tensor<T>*> state = optimizer.state();
  require<FormatError>(c.parameters.size() == params.size() &&
                           (c.best.empty() || c.best.size() == params.size()) &&
                           c.optimizer_state.size() == state.size(),
                       "'", path, "' holds ", c.parameters.size(), " parameters and ",
                       c.optimizer_state.size(), " optimizer tensors; the model has ",
                       params.size(), " and the optimizer ", state.size());
  for (std::size_t i = 0; i < state.size(); ++i)
    require<FormatError>(c.optimizer_state[i].shape() == state[i]->shape(), "'", path,
                         "': optimizer tensor ", i, " has shape ", c.optimizer_state[i].shape(),
                         ", expected ", state[i]->shape());
  for (std::size_t i = 0; i < params.size(); ++i) {
    require<FormatError>(c.parameters[i].shape() == params[i]->value().shape(), "'", path,
                         "': parameter '", params[i]->name(), "' has shape ",
                         c.parameters[i].shape(), ", expected ", params[i]->value().shape());
    params[i]->set_value(c.parameters[i]);
  }
  for (std::size_t i = 0; i < state.size(); ++i) *state[i] = c.optimizer_state[i];
  optimizer.set_step_count(c.optimizer_steps);
}

}  // namespace detail

/// Trains `model` with `optimizer` on softmax cross-entropy of its outputs (logits).
///
/// Each epoch starts `train` with a generator seeded from `options.seed` (shuffling and
/// augmentation draw from it), runs every batch in Mode::train with a Context whose generator
/// (failout, dropout) follows from the same seed, evaluates on `validation` (may be null)
/// after each epoch, and finally restores the weights of the epoch with the best validation
/// accuracy. With `options.checkpoint` every completed epoch is saved, and `options.resume`
/// continues from there (see FitCheckpoint).
///
/// With `options.collective` (data-parallel): the parameters start as rank 0's; every process
/// draws the same global batches and computes its contiguous share of each batch's rows
/// (Context::shard: failout and dropout draw as for the whole batch), its gradients are
/// weighted by its share of the rows and summed over the processes, and the identical sums
/// make every process take the identical optimizer step. Batch norm uses each process's own
/// rows (as PyTorch's DistributedDataParallel). The result equals one process's training up to
/// the summation order of the gradients (float rounding). Every process validates on the whole
/// validation set; only rank 0 logs and writes the checkpoint.
template <class T>
History fit(Module<T>& model, Optimizer<T>& optimizer, BatchSource<T>& train,
            BatchSource<T>* validation, const FitOptions& options) {
  require(options.epochs > 0, "fit: epochs must be positive, got ", options.epochs);
  require(options.batch_size > 0, "fit: batch_size must be positive, got ", options.batch_size);
  require(train.size() > 0, "fit: the training set is empty");
  const std::vector<T> class_weights(options.class_weights.begin(), options.class_weights.end());

  Rng seeds(options.seed);
  Rng data_rng = seeds.fork();
  Context<T> ctx(Mode::train, seeds.next_u64());
  const std::vector<Parameter<T>*> params = model.parameters();
  std::vector<Tensor<T>> best;
  History history;
  history.best_val_accuracy = std::numeric_limits<double>::quiet_NaN();
  Tape<T> tape;
  Tensor<T> batch_x;
  std::vector<int> batch_y;
  // A non-finite loss or gradient stops training before the update: the model goes back to
  // the best weights so far (if any) and the error names the epoch, batch and parameter.
  auto check_finite = [&](std::size_t epoch, std::size_t batch, double loss) {
    const Parameter<T>* bad = nullptr;
    for (std::size_t k = 0; k < params.size() && !bad; ++k)
      for (T g : params[k]->grad())
        if (!std::isfinite(double(g))) {
          bad = params[k];
          break;
        }
    if (std::isfinite(loss) && !bad) return;
    if (!best.empty())
      for (std::size_t i = 0; i < params.size(); ++i) params[i]->set_value(best[i]);
    throw NumericalError(detail::cat(
        "fit: ", std::isfinite(loss) ? "non-finite gradient" : "non-finite loss ",
        std::isfinite(loss) ? "" : std::to_string(loss), " at epoch ", epoch + 1, ", batch ",
        batch + 1, bad ? "; first non-finite gradient in '" + bad->name() + "'" : std::string(),
        best.empty() ? "; no earlier weights to restore" : "; restored the best weights so far"));
  };

  Collective* group = options.collective;
  const bool lead = !group || group->rank() == 0;
  std::ostream* log = lead ? options.log : nullptr;
  std::vector<T> packed;  // every trainable gradient in one buffer, for one sum per step
  auto sum_gradients = [&](double share) {
    packed.clear();
    for (Parameter<T>* p : params)
      if (p->trainable())
        for (T g : p->grad()) packed.push_back(T(g * share));
    group->sum(packed.data(), packed.size());
    std::size_t at = 0;
    for (Parameter<T>* p : params)
      if (p->trainable())
        for (T& g : p->mutable_grad()) g = packed[at++];
  };
  // Non-trainable state (batch norm's moving statistics) follows rank 0, as DDP's buffers do.
  auto follow_lead = [&](bool all) {
    for (Parameter<T>* p : params)
      if (all || !p->trainable()) group->broadcast(p->mutable_value().data(), p->value().size());
  };

  std::size_t first_epoch = 0;
  if (options.resume && !options.checkpoint.empty() && detail::file_exists(options.checkpoint)) {
    FitCheckpoint<T> c = load_checkpoint<T>(options.checkpoint);
    detail::restore_checkpoint(c, options, params, optimizer);
    data_rng.set_state(c.data_rng);
    ctx.rng().set_state(c.context_rng);
    history = std::move(c.history);
    best = std::move(c.best);
    first_epoch = c.epochs_done;
    if (log)
      *log << options.label << (options.label.empty() ? "" : "  ") << "resumed from '"
           << options.checkpoint << "' after epoch " << first_epoch << "\n";
  }
  if (group) follow_lead(true);
  double seconds_so_far = 0;
  Inference<T> val_inf;  // one for every epoch's validation: its buffers are reused, not refaulted
  for (std::size_t epoch = first_epoch; epoch < options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    train.start_epoch(data_rng);
    double loss_sum = 0, hits = 0, seen = 0;
    for (std::size_t batch = 0; train.next(options.batch_size, batch_x, batch_y); ++batch) {
      const bool parallel = group && group->size() > 1;
      const double share = parallel ? detail::shard_batch(*group, batch_x, batch_y, ctx) : 1.0;
      tape.clear();
      Var<T> logits = model.forward(tape.input(batch_x), ctx);
      Var<T> loss = softmax_cross_entropy(logits, batch_y, class_weights);
      optimizer.zero_grad();
      tape.backward(loss);
      if (parallel) sum_gradients(share);
      check_finite(epoch, batch, double(loss.value()[0]));
      optimizer.step();
      if (options.on_step) options.on_step(optimizer.step_count() - 1, double(loss.value()[0]));
      if (share > 0.0) {
        loss_sum += double(loss.value()[0]) * double(batch_y.size());
        hits += double(count_correct(logits.value(), batch_y));
        seen += double(batch_y.size());
      }
    }
    if (group && group->size() > 1) {
      follow_lead(false);
      double totals[3] = {loss_sum, hits, seen};
      group->sum(totals, 3);
      loss_sum = totals[0];
      hits = totals[1];
      seen = totals[2];
    }
    EpochStats stats;
    stats.loss = loss_sum / seen;
    stats.accuracy = hits / seen;
    stats.val_accuracy =
        validation ? evaluate_with([&](TensorView<const T> v) { return val_inf.run(model, v); },
                                   *validation, options.eval_batch_size)
                   : std::numeric_limits<double>::quiet_NaN();
    stats.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    history.epochs.push_back(stats);
    const bool improved = validation && (std::isnan(history.best_val_accuracy) ||
                                         stats.val_accuracy > history.best_val_accuracy);
    if (improved) {
      history.best_epoch = epoch;
      history.best_val_accuracy = stats.val_accuracy;
      if (options.restore_best) {
        best.clear();
        for (Parameter<T>* p : params) best.push_back(p->value());
      }
    }
    if (!options.checkpoint.empty() && lead) {
      FitCheckpoint<T> c;
      c.seed = options.seed;
      c.epochs_done = epoch + 1;
      c.optimizer_steps = optimizer.step_count();
      c.data_rng = data_rng.state();
      c.context_rng = ctx.rng().state();
      c.history = history;
      for (const Parameter<T>* p : params) c.parameters.push_back(p->value());
      c.best = best;
      for (const Tensor<T>* t : optimizer.state()) c.optimizer_state.push_back(*t);
      save_checkpoint(c, options.checkpoint);
    }
    seconds_so_far += stats.seconds;
    if (log) {
      const double per_epoch = seconds_so_far / double(epoch + 1 - first_epoch);
      const double left = per_epoch * double(options.epochs - epoch - 1 + options.epochs_after);
      char val[40] = "";  // no validation set: no column rather than "val_acc nan"
      if (validation)
        std::snprintf(val, sizeof val, "  val_acc %.4f%s", stats.val_accuracy, improved ? " *" : "");
      char line[320];
      std::snprintf(line, sizeof line, "%sepoch %zu/%zu  loss %.4f  acc %.4f%s  %.1fs  %.0f ex/s  run left %s\n",
                    options.label.empty() ? "" : (options.label + "  ").c_str(), epoch + 1,
                    options.epochs, stats.loss, stats.accuracy, val, stats.seconds, seen / stats.seconds,
                    detail::duration_text(left).c_str());
      *log << line << std::flush;
    }
  }
  if (!options.checkpoint.empty() && lead) std::remove(options.checkpoint.c_str());
  if (!validation || !options.restore_best) {
    history.best_epoch = options.epochs - 1;
    history.best_val_accuracy = history.epochs.back().val_accuracy;
  } else {
    for (std::size_t i = 0; i < params.size(); ++i) params[i]->set_value(best[i]);
  }
  return history;
}

/// fit() on datasets held in memory: `train` is reshuffled every epoch, `validation` (may be
/// null) is read in order.
template <class T>
History fit(Module<T>& model, Optimizer<T>& optimizer, const Dataset<T>& train,
            const detail::NoDeduce<Dataset<T>>* validation, const FitOptions& options) {
  DatasetSource<T> train_source(train, true);
  if (!validation) return fit<T>(model, optimizer, train_source, nullptr, options);
  DatasetSource<T> val_source(*validation);
  return fit<T>(model, optimizer, train_source, &val_source, options);
}

}  // namespace resilinet
