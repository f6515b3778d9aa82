#pragma once
/// \file
/// The paper's camera multi-view MLP (spec §3.4) in its Vanilla, DFG, ResiliNet and ResiliNet+
/// variants: six camera views feed four edge nodes, four fog nodes merge them, and skip
/// hyperconnections cross both levels; every Dense acts per pixel on the channel axis.

#include <memory>
#include <string>
#include <vector>

#include "resilinet/nn/dense.hpp"
#include "resilinet/nn/flatten.hpp"
#include "resilinet/resilience/variant.hpp"

namespace resilinet {

/// Skips are [f2→c, f3→f1, f4→f1, e1→f2, e2→f2, e3→f2, e4→f2]; reliabilities and survival
/// rates are [f1, f2, f3, f4, e1, e2, e3, e4].
struct CameraMlpOptions : ResilienceOptions {
  /// The paper's defaults: every skip on, reliability 1, failout survival 0.8.
  CameraMlpOptions() {
    skips.assign(7, true);
    weight_reliability.assign(8, 1.0);
    survival.assign(8, 0.8);
  }
  /// Image height and width of every view.
  std::size_t image_size = 32;
  /// Channels of every view.
  std::size_t channels = 3;
  /// Units of every hidden Dense.
  std::size_t hidden = 32;
  /// Output classes (person, car, bus).
  std::size_t classes = 3;
};

/// The failable camera nodes in failure order (spec §1.1).
inline std::vector<std::string> camera_failable_nodes() {
  return {"fog1", "fog2", "fog3", "fog4", "edge1", "edge2", "edge3", "edge4"};
}

/// The camera skip hyperconnections in configuration-vector order.
inline std::vector<std::string> camera_skip_keys() {
  return {"f2c", "f3f1", "f4f1", "e1f2", "e2f2", "e3f2", "e4f2"};
}

/// Builds the camera MLP for an input packed as (N, 6, H, W, C): edge1 sees cameras 1+2,
/// edge2 camera 3, edge3 cameras 4+5, edge4 camera 6; the cloud flattens before its linear
/// Dense to `classes` logits (softmax is fused into the loss).
template <class T>
std::unique_ptr<PartitionedNetwork<T>> build_camera_mlp(const CameraMlpOptions& o, Rng& rng) {
  auto net = std::make_unique<PartitionedNetwork<T>>("camera_" + to_string(o.variant), o.merge_rule());
  auto dense = [&](Sequential<T>& s, std::size_t in, const std::string& name) {
    s.template add<Dense<T>>(in, o.hidden, Activation::relu, rng, name);
  };
  const std::vector<std::vector<std::size_t>> cameras{{0, 1}, {2}, {3, 4}, {5}};
  for (int k = 1; k <= 4; ++k) {
    const std::string name = "edge" + std::to_string(k);
    PhysicalNode<T>& edge = net->add_node(name, Tier::edge, true);
    edge.input_slots = cameras[std::size_t(k - 1)];
    dense(edge.layers, o.channels, name + "_output_layer");
  }
  dense(net->add_node("fog3", Tier::fog, true).layers, o.hidden, "fog3_output_layer");
  for (const char* name : {"fog4", "fog2", "fog1"}) {
    Sequential<T>& layers = net->add_node(name, Tier::fog, true).layers;
    dense(layers, o.hidden, std::string(name) + "_input_layer");
    dense(layers, o.hidden, std::string(name) + "_output_layer");
  }
  Sequential<T>& cloud = net->add_node("cloud", Tier::cloud).layers;
  dense(cloud, o.hidden, "cloud_input_layer");
  dense(cloud, o.hidden, "cloud_layer_1");
  dense(cloud, o.hidden, "cloud_layer_2");
  cloud.template add<Flatten<T>>("flatten");
  cloud.template add<Dense<T>>(o.image_size * o.image_size * o.hidden, o.classes,
                               Activation::linear, rng, "output");
  net->set_failure_order(camera_failable_nodes());

  net->add_main_link("edge1", "fog3", "e1f3");
  for (const char* e : {"edge2", "edge3", "edge4"})
    net->add_main_link(e, "fog4", std::string("e") + e[4] + "f4");
  net->add_main_link("fog3", "fog2", "f3f2");
  net->add_main_link("fog4", "fog2", "f4f2");
  net->add_main_link("fog2", "fog1", "f2f1");
  net->add_main_link("fog1", "cloud", "f1c");
  if (o.variant != Variant::vanilla) {
    net->add_skip("fog2", "cloud", "f2c", "fog1");
    net->add_skip("fog3", "fog1", "f3f1", "fog2");
    net->add_skip("fog4", "fog1", "f4f1", "fog2");
    net->add_skip("edge1", "fog2", "e1f2", "fog3");
    for (const char* e : {"edge2", "edge3", "edge4"})
      net->add_skip(e, "fog2", std::string("e") + e[4] + "f2", "fog4");
  }
  apply_resilience(*net, o, camera_skip_keys(), rng);
  return net;
}

}  // namespace resilinet
