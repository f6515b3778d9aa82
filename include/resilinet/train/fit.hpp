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
#include <optional>
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
  /// Seconds between progress lines within an epoch (batch, running loss, examples/s); 0: only
  /// the line at the end of each epoch.
  double progress_seconds = 10;
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

/// One epoch's training sums over every process: loss × rows, correctly classified rows, rows.
struct EpochSums {
  double loss = 0, correct = 0, rows = 0;
};

/// The data-parallel side of fit() over one group of processes: each keeps its share of a
/// batch, gradients are summed weighted by the shares, and state follows rank 0.
template <class T>
class DataParallel {
 public:
  /// Works on `params` over `group` (both must outlive it).
  DataParallel(Collective& group, const std::vector<Parameter<T>*>& params)
      : group_(group), params_(params) {}

  /// Whether batches are split (more than one process).
  bool splits() const { return group_.size() > 1; }

  /// Keeps this process's rows of the batch (shard_batch); returns their share.
  double keep_share(Tensor<T>& x, std::vector<int>& y, Context<T>& ctx) const {
    return shard_batch(group_, x, y, ctx);
  }

  /// Replaces every trainable gradient by Σ over processes of (gradient × share), in one sum.
  void sum_gradients(double share) {
    packed_.clear();
    for (Parameter<T>* p : params_)
      if (p->trainable())
        for (T g : p->grad()) packed_.push_back(T(g * share));
    group_.sum(packed_.data(), packed_.size());
    std::size_t at = 0;
    for (Parameter<T>* p : params_)
      if (p->trainable())
        for (T& g : p->mutable_grad()) g = packed_[at++];
  }

  /// Copies rank 0's parameters to every process: all of them, or only the non-trainable
  /// state (batch norm's moving statistics, as DDP's buffers do).
  void follow_lead(bool all) {
    for (Parameter<T>* p : params_)
      if (all || !p->trainable()) group_.broadcast(p->mutable_value().data(), p->value().size());
  }

  /// Sums an epoch's sums over the processes.
  void sum(EpochSums& sums) {
    double totals[3] = {sums.loss, sums.correct, sums.rows};
    group_.sum(totals, 3);
    sums = EpochSums{totals[0], totals[1], totals[2]};
  }

 private:
  Collective& group_;
  const std::vector<Parameter<T>*>& params_;
  std::vector<T> packed_;  // every trainable gradient in one buffer
};

/// The state of one fit() run and its steps: resume, an epoch of training, the record of the
/// best epoch, the checkpoint, the progress line and the final weights.
template <class T>
class FitRun {
 public:
  /// Prepares to train `model` with `optimizer` as `options` say.
  FitRun(Module<T>& model, Optimizer<T>& optimizer, const FitOptions& options)
      : model_(model), optimizer_(optimizer), options_(options),
        class_weights_(options.class_weights.begin(), options.class_weights.end()),
        seeds_(options.seed), data_rng_(seeds_.fork()), ctx_(Mode::train, seeds_.next_u64()),
        params_(model.parameters()),
        lead_(!options.collective || options.collective->rank() == 0),
        log_(lead_ ? options.log : nullptr) {
    history_.best_val_accuracy = std::numeric_limits<double>::quiet_NaN();
    if (options.collective) parallel_.emplace(*options.collective, params_);
  }

  /// Continues from the checkpoint when asked to and it exists; every process then starts
  /// from rank 0's parameters. Returns the first epoch to train.
  std::size_t resume() {
    if (options_.resume && !options_.checkpoint.empty() && file_exists(options_.checkpoint)) {
      FitCheckpoint<T> c = load_checkpoint<T>(options_.checkpoint);
      restore_checkpoint(c, options_, params_, optimizer_);
      data_rng_.set_state(c.data_rng);
      ctx_.rng().set_state(c.context_rng);
      history_ = std::move(c.history);
      best_ = std::move(c.best);
      first_epoch_ = c.epochs_done;
      if (log_)
        *log_ << options_.label << (options_.label.empty() ? "" : "  ") << "resumed from '"
              << options_.checkpoint << "' after epoch " << first_epoch_ << "\n";
    }
    if (parallel_) parallel_->follow_lead(true);
    return first_epoch_;
  }

  /// One pass over `train`: a step per batch; returns the sums over every process.
  EpochSums train_epoch(BatchSource<T>& train, std::size_t epoch) {
    train.start_epoch(data_rng_);
    const bool split = parallel_ && parallel_->splits();
    const auto start = std::chrono::steady_clock::now();
    auto last_line = start;
    double examples = 0;  // rows of the global batches so far
    EpochSums sums;
    for (std::size_t batch = 0; train.next(options_.batch_size, batch_x_, batch_y_); ++batch) {
      examples += double(batch_y_.size());
      const double share = split ? parallel_->keep_share(batch_x_, batch_y_, ctx_) : 1.0;
      tape_.clear();
      Var<T> logits = model_.forward(tape_.input(batch_x_), ctx_);
      Var<T> loss = model_.training_loss(logits, batch_y_, class_weights_);
      optimizer_.zero_grad();
      tape_.backward(loss);
      if (split) parallel_->sum_gradients(share);
      const double loss_value = double(loss.value()[0]);
      check_finite(epoch, batch, loss_value);
      optimizer_.step();
      if (options_.on_step) options_.on_step(optimizer_.step_count() - 1, loss_value);
      if (share > 0.0) {
        sums.loss += loss_value * double(batch_y_.size());
        sums.correct += double(count_correct(logits.value(), batch_y_));
        sums.rows += double(batch_y_.size());
      }
      if (log_ && options_.progress_seconds > 0) {
        const auto now = std::chrono::steady_clock::now();
        if (std::chrono::duration<double>(now - last_line).count() >= options_.progress_seconds) {
          last_line = now;
          log_progress(epoch, batch, train.size(), sums.loss / sums.rows, examples,
                       std::chrono::duration<double>(now - start).count());
        }
      }
    }
    if (split) {
      parallel_->follow_lead(false);
      parallel_->sum(sums);
    }
    return sums;
  }

  /// Adds an epoch to the history; returns whether its validation accuracy is the best yet
  /// (its weights are then kept when options say to restore the best).
  bool record(const EpochStats& stats, bool validated, std::size_t epoch) {
    history_.epochs.push_back(stats);
    const bool improved = validated && (std::isnan(history_.best_val_accuracy) ||
                                        stats.val_accuracy > history_.best_val_accuracy);
    if (improved) {
      history_.best_epoch = epoch;
      history_.best_val_accuracy = stats.val_accuracy;
      if (options_.restore_best) {
        best_.clear();
        for (Parameter<T>* p : params_) best_.push_back(p->value());
      }
    }
    return improved;
  }

  /// Saves the state after `epoch` to the checkpoint file (rank 0, when there is one).
  void save(std::size_t epoch) {
    if (options_.checkpoint.empty() || !lead_) return;
    FitCheckpoint<T> c;
    c.seed = options_.seed;
    c.epochs_done = epoch + 1;
    c.optimizer_steps = optimizer_.step_count();
    c.data_rng = data_rng_.state();
    c.context_rng = ctx_.rng().state();
    c.history = history_;
    for (const Parameter<T>* p : params_) c.parameters.push_back(p->value());
    c.best = best_;
    for (const Tensor<T>* t : optimizer_.state()) c.optimizer_state.push_back(*t);
    save_checkpoint(c, options_.checkpoint);
  }

  /// Writes the progress line of `epoch` (rank 0, when there is a log).
  void log_epoch(const EpochStats& stats, double rows, bool improved, bool validated,
                 std::size_t epoch) {
    seconds_so_far_ += stats.seconds;
    if (!log_) return;
    const double per_epoch = seconds_so_far_ / double(epoch + 1 - first_epoch_);
    const double left = per_epoch * double(options_.epochs - epoch - 1 + options_.epochs_after);
    char val[40] = "";  // no validation set: no column rather than "val_acc nan"
    if (validated)
      std::snprintf(val, sizeof val, "  val_acc %.4f%s", stats.val_accuracy, improved ? " *" : "");
    char line[320];
    std::snprintf(line, sizeof line, "%sepoch %zu/%zu  loss %.4f  acc %.4f%s  %.1fs  %.0f ex/s  run left %s\n",
                  options_.label.empty() ? "" : (options_.label + "  ").c_str(), epoch + 1,
                  options_.epochs, stats.loss, stats.accuracy, val, stats.seconds, rows / stats.seconds,
                  duration_text(left).c_str());
    *log_ << line << std::flush;
  }

  /// Writes a line within `epoch`: batch, running loss and examples per second so far.
  void log_progress(std::size_t epoch, std::size_t batch, std::size_t train_size, double loss,
                    double examples, double seconds) {
    const std::size_t batches = (train_size + options_.batch_size - 1) / options_.batch_size;
    char line[320];
    std::snprintf(line, sizeof line, "%sepoch %zu/%zu  batch %zu/%zu  loss %.4f  %.0f ex/s\n",
                  options_.label.empty() ? "" : (options_.label + "  ").c_str(), epoch + 1,
                  options_.epochs, batch + 1, batches, loss, examples / seconds);
    *log_ << line << std::flush;
  }

  /// Removes the checkpoint, puts back the best epoch's weights (when kept) and returns the
  /// history.
  History finish(bool validated) {
    if (!options_.checkpoint.empty() && lead_) std::remove(options_.checkpoint.c_str());
    if (!validated || !options_.restore_best) {
      history_.best_epoch = options_.epochs - 1;
      history_.best_val_accuracy = history_.epochs.back().val_accuracy;
    } else {
      for (std::size_t i = 0; i < params_.size(); ++i) params_[i]->set_value(best_[i]);
    }
    return std::move(history_);
  }

 private:
  // A non-finite loss or gradient stops training before the update: the model goes back to
  // the best weights so far (if any) and the error names the epoch, batch and parameter.
  void check_finite(std::size_t epoch, std::size_t batch, double loss) {
    const Parameter<T>* bad = nullptr;
    for (std::size_t k = 0; k < params_.size() && !bad; ++k)
      for (T g : params_[k]->grad())
        if (!std::isfinite(double(g))) {
          bad = params_[k];
          break;
        }
    if (std::isfinite(loss) && !bad) return;
    if (!best_.empty())
      for (std::size_t i = 0; i < params_.size(); ++i) params_[i]->set_value(best_[i]);
    throw NumericalError(cat(
        "fit: ", std::isfinite(loss) ? "non-finite gradient" : "non-finite loss ",
        std::isfinite(loss) ? "" : std::to_string(loss), " at epoch ", epoch + 1, ", batch ",
        batch + 1, bad ? "; first non-finite gradient in '" + bad->name() + "'" : std::string(),
        best_.empty() ? "; no earlier weights to restore" : "; restored the best weights so far"));
  }

  Module<T>& model_;
  Optimizer<T>& optimizer_;
  const FitOptions& options_;
  const std::vector<T> class_weights_;
  Rng seeds_;
  Rng data_rng_;
  Context<T> ctx_;
  const std::vector<Parameter<T>*> params_;
  const bool lead_;
  std::ostream* const log_;
  std::optional<DataParallel<T>> parallel_;
  std::vector<Tensor<T>> best_;
  History history_;
  Tape<T> tape_;
  Tensor<T> batch_x_;
  std::vector<int> batch_y_;
  std::size_t first_epoch_ = 0;
  double seconds_so_far_ = 0;
};

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
  detail::FitRun<T> run(model, optimizer, options);
  Inference<T> val_inf;  // one for every epoch's validation: its buffers are reused, not refaulted
  for (std::size_t epoch = run.resume(); epoch < options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const detail::EpochSums sums = run.train_epoch(train, epoch);
    EpochStats stats;
    stats.loss = sums.loss / sums.rows;
    stats.accuracy = sums.correct / sums.rows;
    stats.val_accuracy =
        validation ? evaluate_with([&](TensorView<const T> v) { return val_inf.run(model, v); },
                                   *validation, options.eval_batch_size)
                   : std::numeric_limits<double>::quiet_NaN();
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool improved = run.record(stats, validation != nullptr, epoch);
    run.save(epoch);
    run.log_epoch(stats, sums.rows, improved, validation != nullptr, epoch);
  }
  return run.finish(validation != nullptr);
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
