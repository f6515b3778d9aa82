#pragma once
// The network a deployment description names, built and loaded from its model file: what
// resilinet-node serves and what resilinet-launch simulates to check the answers.

#include <memory>
#include <string>

#include <resilinet/resilinet.hpp>
#include <resilinet/runtime/deployment.hpp>

namespace examples {

/// The network `d` deploys. Without a `network` line it is rebuilt from the model file alone
/// (load_network) and must take examples of shape `d.input`. With one (for model files saved
/// before they stored their layers), the named builder makes it ("health" with
/// variant=resilinet|resilinet+|dfg|vanilla, partition=1|2, mux=select|legacy|batch-sum) and
/// `d.model` is loaded into it; the file's description must match (FormatError naming the
/// first difference).
inline std::unique_ptr<resilinet::PartitionedNetwork<float>> build_deployed_network(
    const resilinet::runtime::Deployment& d) {
  using resilinet::require;
  if (d.network.empty()) {
    auto net = resilinet::load_network<float>(d.model);
    resilinet::Inference<float> inf;
    try {
      net->node_output_shapes(d.input.prepend(1), inf);
    } catch (const resilinet::ShapeError& e) {
      throw resilinet::ShapeError("the deployment's input " + d.input.str() + " does not fit the network in '" +
                                  d.model + "': " + e.what());
    }
    return net;
  }
  require(d.network == "health", "network '", d.network, "' cannot be deployed yet: resilinet-node ",
          "builds 'health' (the paper's health MLP); other networks need their own node program ",
          "around resilinet/runtime/node_server.hpp");
  resilinet::HealthMlpOptions o;
  for (const auto& [key, value] : d.options) {
    if (key == "variant") {
      require(value == "resilinet" || value == "resilinet+" || value == "dfg" || value == "vanilla",
              "network option variant='", value, "' is not resilinet, resilinet+, dfg or vanilla");
      o.variant = value == "resilinet"    ? resilinet::Variant::resilinet
                  : value == "resilinet+" ? resilinet::Variant::resilinet_plus
                  : value == "dfg"        ? resilinet::Variant::dfg
                                          : resilinet::Variant::vanilla;
    } else if (key == "partition") {
      require(value == "1" || value == "2", "network option partition='", value, "' is not 1 or 2");
      o.partition = value == "1" ? 1 : 2;
    } else if (key == "mux") {
      require(value == "select" || value == "legacy" || value == "batch-sum", "network option mux='",
              value, "' is not select, legacy or batch-sum");
      o.resilinet_rule = value == "legacy"      ? resilinet::MergeRule::mux_legacy
                         : value == "batch-sum" ? resilinet::MergeRule::mux_batch_sum
                                                : resilinet::MergeRule::mux;
    } else {
      throw resilinet::ValueError("unknown network option '" + key + "' (health takes variant, partition, mux)");
    }
  }
  require<resilinet::ShapeError>(d.input == resilinet::Shape{o.in_features}, "the health network takes ",
                                 o.in_features, " features per example, the deployment says input ", d.input);
  resilinet::Rng rng(0);  // every weight comes from the model file
  auto net = resilinet::build_health_mlp<float>(o, rng);
  resilinet::load_parameters(*net, d.model);
  return net;
}

}  // namespace examples
