#pragma once
/// \file
/// Variant and ResilienceOptions: the settings every partitioned model of the paper shares
/// (Vanilla / DFG / ResiliNet / ResiliNet+, skip configuration, weight scheme, failout, merge
/// rule), and apply_resilience(), which applies them to a built PartitionedNetwork.

#include <string>
#include <vector>

#include "resilinet/resilience/hyperconnection_weights.hpp"
#include "resilinet/resilience/partitioned_network.hpp"

namespace resilinet {

/// Which of the paper's models to build.
enum class Variant {
  /// Main links only, no failout.
  vanilla,
  /// deepFogGuard: skip hyperconnections, weighted sums, no failout.
  dfg,
  /// ResiliNet: skip hyperconnections, input muxes, failout.
  resilinet,
  /// ResiliNet+: skip hyperconnections, weighted sums, failout.
  resilinet_plus,
};

/// The name the paper's result files use ("Vanilla", "DFG", "ResiliNet", "ResiliNet+").
inline std::string to_string(Variant v) {
  switch (v) {
    case Variant::vanilla: return "Vanilla";
    case Variant::dfg: return "DFG";
    case Variant::resilinet_plus: return "ResiliNet+";
    default: return "ResiliNet";
  }
}

/// The resilience settings of a partitioned model; each model's options extend this with
/// its own defaults (vector sizes = its number of skips and failable nodes).
struct ResilienceOptions {
  /// The model variant.
  Variant variant = Variant::resilinet;
  /// Layers per node: partition setting 1 or 2 of the reference.
  int partition = 1;
  /// Skip hyperconnections on/off, in the model's configuration-vector order (spec §2.1).
  std::vector<bool> skips;
  /// Hyperconnection weight scheme.
  WeightScheme scheme = WeightScheme::ones;
  /// Reliabilities (failure order) from which schemes 2 and 3 compute the weights.
  std::vector<double> weight_reliability;
  /// Failout survival rates in failure order (ResiliNet and ResiliNet+ only).
  std::vector<double> survival;
  /// Failout draw granularity.
  FailoutGranularity granularity = FailoutGranularity::per_batch;
  /// Merge rule of the ResiliNet variant (mux; or a compatibility mode).
  MergeRule resilinet_rule = MergeRule::mux;

  /// The merge rule the variant uses at every node input.
  MergeRule merge_rule() const { return variant == Variant::resilinet ? resilinet_rule : MergeRule::sum; }

  /// Whether the variant has failout (ResiliNet and ResiliNet+).
  bool has_failout() const {
    return variant == Variant::resilinet || variant == Variant::resilinet_plus;
  }
};

/// Switches the skips named `skip_keys` (configuration-vector order) on or off, sets the
/// weight scheme's link weights and, for ResiliNet and ResiliNet+, the failout rates.
/// Vanilla networks have no skips: only the failout-free defaults apply to them.
template <class T>
void apply_resilience(PartitionedNetwork<T>& net, const ResilienceOptions& o,
                      const std::vector<std::string>& skip_keys, Rng& rng) {
  if (o.variant != Variant::vanilla) {
    require<ShapeError>(o.skips.size() == skip_keys.size(), net.name(), ": ", o.skips.size(),
                        " skip flags for ", skip_keys.size(), " skip hyperconnections");
    for (std::size_t k = 0; k < skip_keys.size(); ++k) net.set_skip_enabled(skip_keys[k], o.skips[k]);
    apply_weight_scheme(net, o.scheme, o.weight_reliability, rng);
  }
  if (o.has_failout()) net.set_failout(o.survival, o.granularity);
}

}  // namespace resilinet
