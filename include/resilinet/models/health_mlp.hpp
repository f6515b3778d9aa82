#pragma once
/// \file
/// The paper's health MLP (spec §3.1) in its Vanilla, DFG, ResiliNet and ResiliNet+ variants,
/// built on the generic PartitionedNetwork description.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "resilinet/nn/dense.hpp"
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

/// Settings of build_health_mlp(); defaults are the paper's.
struct HealthMlpOptions {
  /// The model variant.
  Variant variant = Variant::resilinet;
  /// Layers per node: 1 → "1-2-3-4" (edge-fog2-fog1-cloud hidden), 2 → "2-3-2-3".
  int partition = 1;
  /// Skip hyperconnections on/off in the order [fog2→cloud, edge→fog1, IoT→fog2].
  std::array<bool, 3> skips{true, true, true};
  /// Hyperconnection weight scheme.
  WeightScheme scheme = WeightScheme::ones;
  /// Reliabilities [fog1, fog2, edge] from which schemes 2 and 3 compute the weights.
  std::vector<double> weight_reliability{1.0, 1.0, 1.0};
  /// Failout survival rates [fog1, fog2, edge] (ResiliNet and ResiliNet+ only).
  std::vector<double> survival{0.9, 0.9, 0.9};
  /// Failout draw granularity.
  FailoutGranularity granularity = FailoutGranularity::per_batch;
  /// Merge rule of the ResiliNet variant (mux; or a compatibility mode).
  MergeRule resilinet_rule = MergeRule::mux;
  /// Input features (23 for mHealth).
  std::size_t in_features = 23;
  /// Units per hidden layer.
  std::size_t hidden = 250;
  /// Output classes (13 for mHealth: labels 1..12, unit 0 never a target).
  std::size_t classes = 13;
};

/// The failable health nodes in failure order (cloud side first).
inline std::vector<std::string> health_failable_nodes() { return {"fog1", "fog2", "edge"}; }

namespace detail {

/// Appends `count` Dense(hidden, ReLU) layers named as the reference names a node's layers.
template <class T>
void add_node_layers(Sequential<T>& layers, const std::string& node, std::size_t count,
                     std::size_t in, std::size_t hidden, Rng& rng) {
  for (std::size_t i = 0; i < count; ++i, in = hidden) {
    const std::string name = i + 1 == count ? node + "_output_layer"
                             : i == 0       ? node + "_input_layer"
                                            : node + "_layer_" + std::to_string(i);
    layers.template add<Dense<T>>(in, hidden, Activation::relu, rng, name);
  }
}

}  // namespace detail

/// Builds the health MLP: IoT → edge → fog2 → fog1 → cloud, with skips IoT→fog2 (through a
/// linear Dense `skip_iotfog2`), edge→fog1 and fog2→cloud for DFG and ResiliNet.
///
/// The cloud ends in a linear Dense producing logits (softmax is fused into the loss).
template <class T>
std::unique_ptr<PartitionedNetwork<T>> build_health_mlp(const HealthMlpOptions& o, Rng& rng) {
  require(o.partition == 1 || o.partition == 2, "health MLP: partition must be 1 or 2, got ",
          o.partition);
  const bool resilinet = o.variant == Variant::resilinet || o.variant == Variant::resilinet_plus;
  const MergeRule rule = o.variant == Variant::resilinet ? o.resilinet_rule : MergeRule::sum;
  auto net = std::make_unique<PartitionedNetwork<T>>("health_" + to_string(o.variant), rule);
  // Layers per node: edge, fog2, fog1, cloud hidden.
  const std::array<std::size_t, 4> layers =
      o.partition == 1 ? std::array<std::size_t, 4>{1, 2, 3, 4} : std::array<std::size_t, 4>{2, 3, 2, 3};
  net->add_node("iot", Tier::iot);
  detail::add_node_layers(net->add_node("edge", Tier::edge, true).layers, "edge", layers[0],
                          o.in_features, o.hidden, rng);
  detail::add_node_layers(net->add_node("fog2", Tier::fog, true).layers, "fog2", layers[1],
                          o.hidden, o.hidden, rng);
  detail::add_node_layers(net->add_node("fog1", Tier::fog, true).layers, "fog1", layers[2],
                          o.hidden, o.hidden, rng);
  auto& cloud = net->add_node("cloud", Tier::cloud).layers;
  cloud.template add<Dense<T>>(o.hidden, o.hidden, Activation::relu, rng, "cloud_input_layer");
  for (std::size_t i = 1; i < layers[3]; ++i)
    cloud.template add<Dense<T>>(o.hidden, o.hidden, Activation::relu, rng,
                                 "cloud_layer_" + std::to_string(i));
  cloud.template add<Dense<T>>(o.hidden, o.classes, Activation::linear, rng, "output");
  net->set_failure_order(health_failable_nodes());

  net->add_main_link("iot", "edge", "IoTe");
  net->add_main_link("edge", "fog2", "ef2");
  net->add_main_link("fog2", "fog1", "f2f1");
  net->add_main_link("fog1", "cloud", "f1c");
  if (o.variant != Variant::vanilla) {
    net->add_skip("iot", "fog2", "IoTf2", "edge",
                  std::make_unique<Dense<T>>(o.in_features, o.hidden, Activation::linear, rng,
                                             "skip_iotfog2"));
    net->add_skip("edge", "fog1", "ef1", "fog2");
    net->add_skip("fog2", "cloud", "f2c", "fog1");
    const char* skip_keys[3] = {"f2c", "ef1", "IoTf2"};
    for (int k = 0; k < 3; ++k) net->set_skip_enabled(skip_keys[k], o.skips[k]);
    apply_weight_scheme(*net, o.scheme, o.weight_reliability, rng);
  }
  if (resilinet) net->set_failout(o.survival, o.granularity);
  return net;
}

}  // namespace resilinet
