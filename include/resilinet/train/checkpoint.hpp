#pragma once
/// \file
/// FitCheckpoint<T>: everything fit() needs to continue a training run exactly where it
/// stopped (weights, best weights so far, optimizer state, generator states, epoch, history),
/// saved atomically after every epoch and read back by `FitOptions::resume`.
///
/// Layout (little-endian): magic "RSLNCKPT", u32 version (1), u32 bytes per scalar, u64 fit
/// seed, u64 epochs completed, u64 optimizer steps, 2 × 4 × u64 generator states (data,
/// context), u64 best epoch, f64 best validation accuracy, u64 epoch count then per epoch 4 ×
/// f64 (loss, accuracy, validation accuracy, seconds), then three tensor lists (u64 count,
/// tensors as in model files): parameters, best parameters, optimizer state.

#include <array>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "resilinet/io/model_file.hpp"
#include "resilinet/train/history.hpp"

namespace resilinet {

/// The state of a fit() run after a completed epoch.
template <class T>
struct FitCheckpoint {
  /// FitOptions::seed of the run (a checkpoint only continues the run it came from).
  std::uint64_t seed = 0;
  /// Epochs completed.
  std::size_t epochs_done = 0;
  /// Optimizer steps completed.
  std::size_t optimizer_steps = 0;
  /// State of the generator that starts each epoch of the training data.
  std::array<std::uint64_t, 4> data_rng{};
  /// State of the training context's generator (failout, dropout).
  std::array<std::uint64_t, 4> context_rng{};
  /// The history so far.
  History history;
  /// Every parameter of the model (trainable or not), in Module::parameters() order.
  std::vector<Tensor<T>> parameters;
  /// The parameters of the best epoch so far (empty when none is kept).
  std::vector<Tensor<T>> best;
  /// The optimizer's state tensors, in Optimizer::state() order.
  std::vector<Tensor<T>> optimizer_state;
};

namespace detail {
inline constexpr char checkpoint_magic[8] = {'R', 'S', 'L', 'N', 'C', 'K', 'P', 'T'};
}  // namespace detail

/// Writes `c` to `path` atomically (temporary file + rename): a kill leaves the previous
/// checkpoint or the new one, never half of one.
template <class T>
void save_checkpoint(const FitCheckpoint<T>& c, const std::string& path) {
  write_atomically(path, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary);
    if (!out) throw IoError("cannot create '" + temp + "': " + detail::os_reason());
    out.write(detail::checkpoint_magic, sizeof detail::checkpoint_magic);
    detail::put<std::uint32_t>(out, 1);
    detail::put<std::uint32_t>(out, sizeof(T));
    for (std::uint64_t v : {c.seed, std::uint64_t(c.epochs_done), std::uint64_t(c.optimizer_steps)})
      detail::put<std::uint64_t>(out, v);
    for (const auto* s : {&c.data_rng, &c.context_rng})
      for (std::uint64_t v : *s) detail::put<std::uint64_t>(out, v);
    detail::put<std::uint64_t>(out, c.history.best_epoch);
    detail::put<double>(out, c.history.best_val_accuracy);
    detail::put<std::uint64_t>(out, c.history.epochs.size());
    for (const EpochStats& e : c.history.epochs)
      for (double v : {e.loss, e.accuracy, e.val_accuracy, e.seconds}) detail::put<double>(out, v);
    for (const auto* list : {&c.parameters, &c.best, &c.optimizer_state}) {
      detail::put<std::uint64_t>(out, list->size());
      for (const Tensor<T>& t : *list) detail::put_tensor<T>(out, t.view());
    }
    out.close();
    if (!out) throw IoError("cannot write '" + temp + "': " + detail::os_reason());
  });
}

/// Reads a checkpoint written by save_checkpoint() with the same scalar type; throws IoError
/// or FormatError naming the file and the field on any problem.
template <class T>
FitCheckpoint<T> load_checkpoint(const std::string& path) {
  detail::ByteReader in(detail::read_file_bytes(path), path);
  require<FormatError>(in.get_bytes(8, "the magic number") ==
                           std::string(detail::checkpoint_magic, sizeof detail::checkpoint_magic),
                       "'", path, "': not a resilinet checkpoint (bad magic)");
  const auto version = in.get<std::uint32_t>("the format version");
  require<FormatError>(version == 1, "'", path, "': unsupported checkpoint version ", version);
  const auto scalar = in.get<std::uint32_t>("the scalar size");
  require<FormatError>(scalar == sizeof(T), "'", path, "': written with ", scalar,
                       "-byte scalars, read as ", sizeof(T), "-byte");
  FitCheckpoint<T> c;
  c.seed = in.get<std::uint64_t>("the seed");
  c.epochs_done = std::size_t(in.get<std::uint64_t>("the epoch"));
  c.optimizer_steps = std::size_t(in.get<std::uint64_t>("the optimizer steps"));
  for (auto* s : {&c.data_rng, &c.context_rng})
    for (std::uint64_t& v : *s) v = in.get<std::uint64_t>("a generator state");
  c.history.best_epoch = std::size_t(in.get<std::uint64_t>("the best epoch"));
  c.history.best_val_accuracy = in.get<double>("the best accuracy");
  const auto epochs = in.get<std::uint64_t>("the epoch count");
  require<FormatError>(epochs == c.epochs_done, "'", path, "': ", epochs,
                       " epochs of history for ", c.epochs_done, " completed epochs");
  for (std::uint64_t e = 0; e < epochs; ++e) {
    EpochStats s;
    for (double* v : {&s.loss, &s.accuracy, &s.val_accuracy, &s.seconds}) *v = in.get<double>("epoch stats");
    c.history.epochs.push_back(s);
  }
  for (auto* list : {&c.parameters, &c.best, &c.optimizer_state}) {
    const auto n = in.get<std::uint64_t>("a tensor count");
    require<FormatError>(n <= in.remaining(), "'", path, "': implausible tensor count ", n);
    for (std::uint64_t k = 0; k < n; ++k) list->push_back(detail::get_tensor<T>(in, scalar, "a tensor"));
  }
  require<FormatError>(in.at_end(), "'", path, "': unexpected bytes after the checkpoint");
  return c;
}

}  // namespace resilinet
