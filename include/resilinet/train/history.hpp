#pragma once
/// \file
/// EpochStats and History: what fit() reports about a training run.

#include <cstddef>
#include <vector>

namespace resilinet {

/// What happened in one epoch.
struct EpochStats {
  /// Mean training loss over the epoch's examples.
  double loss = 0;
  /// Training accuracy over the epoch (measured during training, as Keras reports it).
  double accuracy = 0;
  /// Validation accuracy after the epoch (NaN without a validation set).
  double val_accuracy = 0;
  /// Wall-clock seconds of the epoch, validation included.
  double seconds = 0;
};

/// The record of a fit() call.
struct History {
  /// One entry per epoch.
  std::vector<EpochStats> epochs;
  /// Index of the epoch whose weights were kept (the last one without a validation set).
  std::size_t best_epoch = 0;
  /// Validation accuracy of that epoch (NaN without a validation set).
  double best_val_accuracy = 0;
};

}  // namespace resilinet
