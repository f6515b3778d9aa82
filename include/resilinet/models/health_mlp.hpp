#pragma once
/// \file
/// The paper's health MLP (spec §3.1) in its Vanilla, DFG, ResiliNet and ResiliNet+ variants,
/// built on the generic PartitionedNetwork description.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "resilinet/nn/dense.hpp"
#include "resilinet/nn/standardize.hpp"
#include "resilinet/resilience/variant.hpp"

namespace resilinet {

/// Settings of build_health_mlp(); defaults are the paper's.
/// Partition 1 is "1-2-3-4" hidden layers on edge-fog2-fog1-cloud, 2 is "2-3-2-3"; skips are
/// [fog2→cloud, edge→fog1, IoT→fog2]; reliabilities and survival rates are [fog1, fog2, edge].
struct HealthMlpOptions : ResilienceOptions {
  /// The paper's defaults: every skip on, reliability 1, failout survival 0.9.
  HealthMlpOptions() {
    skips = {true, true, true};
    weight_reliability = {1.0, 1.0, 1.0};
    survival = {0.9, 0.9, 0.9};
  }
  /// Input features (23 for mHealth).
  std::size_t in_features = 23;
  /// Units per hidden layer.
  std::size_t hidden = 250;
  /// Output classes (13 for mHealth: labels 1..12, unit 0 never a target).
  std::size_t classes = 13;
  /// Whether the IoT node standardizes the features first (a Standardize layer named
  /// "standardize", the identity until fitted to the training split).
  bool standardize = false;
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
  auto net = std::make_unique<PartitionedNetwork<T>>("health_" + to_string(o.variant), o.merge_rule());
  // Layers per node: edge, fog2, fog1, cloud hidden.
  const std::array<std::size_t, 4> layers =
      o.partition == 1 ? std::array<std::size_t, 4>{1, 2, 3, 4} : std::array<std::size_t, 4>{2, 3, 2, 3};
  auto& iot = net->add_node("iot", Tier::iot).layers;
  if (o.standardize) iot.template add<Standardize<T>>(o.in_features, "standardize");
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
  }
  apply_resilience(*net, o, {"f2c", "ef1", "IoTf2"}, rng);
  return net;
}

}  // namespace resilinet
