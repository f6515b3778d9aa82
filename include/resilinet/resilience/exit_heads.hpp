#pragma once
/// \file
/// add_exit_heads(): gives chosen nodes of a built PartitionedNetwork an early exit each, a
/// small classifier shaped by the node's output — Dense on features, global average pooling
/// (or Flatten) then Dense on an (N, H, W, C) activation, Flatten then Dense otherwise — so any network of
/// the library answers from its deepest reachable exit when the output is cut off (DDNN's
/// local exits; PartitionedNetwork::add_exit).

#include <memory>
#include <string>
#include <vector>

#include "resilinet/nn/dense.hpp"
#include "resilinet/nn/flatten.hpp"
#include "resilinet/nn/global_average_pooling2d.hpp"
#include "resilinet/nn/sequential.hpp"
#include "resilinet/resilience/partitioned_network.hpp"

namespace resilinet {

/// Settings of add_exit_heads().
struct ExitHeadOptions {
  /// Weight of each head's loss in the training loss.
  double loss_weight = 1.0;
  /// An (N, H, W, C) output: global average pooling then Dense (true), or Flatten then Dense
  /// (false); choose what the network's own classifier does.
  bool pool_images = true;
  /// The nodes that get a head (empty: every failable node).
  std::vector<std::string> nodes;
};

/// Adds an exit head named "exit_<node>" producing `classes` logits to each node options name;
/// `example` is the shape of one input example (without the batch axis), from which the nodes'
/// output shapes follow.
template <class T>
void add_exit_heads(PartitionedNetwork<T>& net, const Shape& example, std::size_t classes, Rng& rng,
                    const ExitHeadOptions& options = {}) {
  require(classes > 0, "add_exit_heads: needs at least one class");
  std::vector<std::string> nodes = options.nodes;
  if (nodes.empty())
    for (std::size_t n : net.failure_order()) nodes.push_back(net.nodes()[n]->name);
  Inference<T> inf;
  const std::vector<Shape> shapes = net.node_output_shapes(example.prepend(1), inf);
  for (const std::string& name : nodes) {
    const Shape& s = shapes[net.index_of(name)];
    const std::string head = "exit_" + name;
    auto chain = std::make_unique<Sequential<T>>(head);
    std::size_t features = s.numel();
    if (s.rank() == 4 && options.pool_images) {
      chain->template add<GlobalAveragePooling2D<T>>(head + "_pool");
      features = s[3];
    } else if (s.rank() != 2) {
      chain->template add<Flatten<T>>(head + "_flatten");
    }
    chain->template add<Dense<T>>(features, classes, Activation::linear, rng, head + "_dense");
    net.add_exit(name, std::move(chain), options.loss_weight);
  }
}

}  // namespace resilinet
