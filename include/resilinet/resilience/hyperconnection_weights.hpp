#pragma once
/// \file
/// The paper's hyperconnection weight schemes 1–5, computed from the partition itself.

#include <vector>

#include "resilinet/core/rng.hpp"
#include "resilinet/resilience/partitioned_network.hpp"

namespace resilinet {

/// How fixed link weights are chosen (spec §2.2).
enum class WeightScheme {
  /// 1: every weight is 1.
  ones = 1,
  /// 2: source reliability divided by the sum of the reliabilities of all sources feeding the
  /// same destination.
  normalized_reliability = 2,
  /// 3: the reliability of the source node.
  source_reliability = 3,
  /// 4: drawn independently from U(0, 1).
  uniform_0_1 = 4,
  /// 5: drawn independently from U(0, 10).
  uniform_0_10 = 5,
};

/// Converts a scheme number 1..5 to a WeightScheme (throws ValueError otherwise).
inline WeightScheme weight_scheme(int number) {
  require(number >= 1 && number <= 5, "weight scheme must be 1..5, got ", number);
  return static_cast<WeightScheme>(number);
}

/// The weight of every link under `scheme`, in link order.
///
/// `reliability[k]` is the reliability of failable node k (failure order); other nodes count
/// as 1. Disabled skips get 0 *after* the scheme is computed, without renormalising the
/// others. Random schemes draw from `rng`, one draw per link in link order.
template <class T>
std::vector<double> hyperconnection_weights(const PartitionedNetwork<T>& net, WeightScheme scheme,
                                            const std::vector<double>& reliability, Rng& rng) {
  require<ShapeError>(reliability.size() == net.num_failable(), "hyperconnection_weights: ",
                      reliability.size(), " reliabilities for ", net.num_failable(),
                      " failable nodes");
  for (double r : reliability) require(r >= 0 && r <= 1, "reliability must be in [0, 1], got ", r);
  const std::vector<double> node_r = net.partition().per_node(reliability, 1.0);
  const auto& links = net.links();
  std::vector<double> w(links.size(), 1.0);
  for (std::size_t i = 0; i < links.size(); ++i) {
    const double r = node_r[links[i].from];
    switch (scheme) {
      case WeightScheme::ones: break;
      case WeightScheme::source_reliability: w[i] = r; break;
      case WeightScheme::uniform_0_1: w[i] = rng.uniform(0.0, 1.0); break;
      case WeightScheme::uniform_0_10: w[i] = rng.uniform(0.0, 10.0); break;
      case WeightScheme::normalized_reliability: {
        double total = 0;
        for (std::size_t l : net.nodes()[links[i].to]->inputs) total += node_r[links[l].from];
        w[i] = total > 0 ? r / total : 0.0;
        break;
      }
    }
    if (!links[i].enabled) w[i] = 0.0;
  }
  return w;
}

/// Computes the weights of `scheme` and sets them on the network's links.
template <class T>
void apply_weight_scheme(PartitionedNetwork<T>& net, WeightScheme scheme,
                         const std::vector<double>& reliability, Rng& rng) {
  const std::vector<double> w = hyperconnection_weights(net, scheme, reliability, rng);
  for (std::size_t i = 0; i < w.size(); ++i) net.set_weight(net.links()[i].key, w[i]);
}

}  // namespace resilinet
