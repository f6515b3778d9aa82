#pragma once
/// \file
/// Failout: whole-node dropout during training (ResiliNet's second idea).

#include "resilinet/autodiff/row_ops.hpp"
#include "resilinet/core/context.hpp"
#include "resilinet/core/error.hpp"
#include "resilinet/core/rng.hpp"

namespace resilinet {

/// How often failout draws: once per mini-batch (the paper) or once per example.
enum class FailoutGranularity { per_batch, per_example };

/// Training-time failure of a whole node: with probability `1 − survival_rate` the node's
/// entire output is zero and the node counts as failed; survivors are *not* rescaled.
///
/// At inference failout is the identity. Each node has its own Failout and draws
/// independently; with per-batch granularity one draw fails every example of the batch.
class Failout {
 public:
  /// Creates failout with a survival rate in [0, 1] (1 disables it).
  explicit Failout(double survival_rate = 1.0,
                   FailoutGranularity granularity = FailoutGranularity::per_batch)
      : survival_rate_(survival_rate), granularity_(granularity) {
    require(survival_rate >= 0.0 && survival_rate <= 1.0,
            "Failout: survival_rate must be in [0, 1], got ", survival_rate);
  }

  /// Probability that the node survives one draw.
  double survival_rate() const { return survival_rate_; }

  /// Probability that the node fails in one draw (1 − survival_rate).
  double failure_probability() const { return 1.0 - survival_rate_; }

  /// Draw granularity.
  FailoutGranularity granularity() const { return granularity_; }

  /// Fills `alive` with one flag per example for a batch of `batch` examples.
  ///
  /// A draw u ~ U[0,1) fails the node when u ≥ survival_rate, so P(fail) = 1 − survival_rate
  /// exactly (the reference's `u > rate` differs only on a measure-zero event).
  ///
  /// Per example, a `shard` of a global batch draws for every row of the global batch and keeps
  /// its own (per batch, the one draw is the same for all shards).
  void sample(Rng& rng, std::size_t batch, RowFlags& alive, const Shard& shard = {}) const {
    alive.resize(batch);
    if (granularity_ == FailoutGranularity::per_batch) {
      std::fill(alive.begin(), alive.end(), std::uint8_t(rng.uniform() < survival_rate_));
    } else {
      shard.draw(rng, batch, 1, [&](std::size_t i) { alive[i] = std::uint8_t(rng.uniform() < survival_rate_); });
    }
  }

 private:
  double survival_rate_;
  FailoutGranularity granularity_;
};

}  // namespace resilinet
