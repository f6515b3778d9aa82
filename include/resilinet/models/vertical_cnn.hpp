#pragma once
/// \file
/// The paper's vertically partitioned CNNs (MobileNet and ResNet, spec §3.2/§3.3) share one
/// topology: IoT → edge → fog → cloud, failable [fog, edge], skip hyperconnections IoT→fog
/// and edge→cloud through bias-free 1x1 convolutions. This header builds that topology around
/// node layers filled by the model, deriving every skip's filters and stride from the real
/// tensor shapes (shape inference) instead of the reference's hard-coded values.

#include <cmath>
#include <memory>
#include <string>

#include "resilinet/autodiff/tape.hpp"
#include "resilinet/nn/conv2d.hpp"
#include "resilinet/nn/zero_padding2d.hpp"
#include "resilinet/resilience/variant.hpp"

namespace resilinet {

/// The geometry of a skip hyperconnection's 1x1 convolution from a source tensor to the
/// tensor it is merged with.
struct SkipGeometry {
  /// Convolution stride: round(source size / destination size), as Keras's ResNet shortcut.
  std::size_t stride = 1;
  /// Filters: the destination's channels.
  std::size_t filters = 0;
  /// Zero rows/columns the destination needs at its bottom/right to match the skip's output
  /// (CIFAR MobileNet: the fog output 7x7 → 8x8).
  std::size_t pad = 0;
};

/// The skip geometry from `source` to `destination`, both (N, H, W, C); throws ShapeError
/// when the skip cannot be made to match (destination larger than source, or a non-square
/// stride).
inline SkipGeometry skip_geometry(const Shape& source, const Shape& destination) {
  require<ShapeError>(source.rank() == 4 && destination.rank() == 4, "skip_geometry: needs ",
                      "(N, H, W, C) shapes, got ", source, " and ", destination);
  auto stride_of = [&](std::size_t axis) {
    require<ShapeError>(destination[axis] > 0 && destination[axis] <= source[axis],
                        "skip_geometry: cannot shrink ", source, " to ", destination);
    return std::size_t(std::lround(double(source[axis]) / double(destination[axis])));
  };
  SkipGeometry g;
  g.stride = stride_of(1);
  require<ShapeError>(stride_of(2) == g.stride, "skip_geometry: ", source, " → ", destination,
                      " needs different strides along height and width");
  g.filters = destination[3];
  auto pad_of = [&](std::size_t axis) {
    const std::size_t out = (source[axis] + g.stride - 1) / g.stride;
    require<ShapeError>(out >= destination[axis], "skip_geometry: stride ", g.stride, " maps ",
                        source, " below ", destination);
    return out - destination[axis];
  };
  g.pad = pad_of(1);
  require<ShapeError>(pad_of(2) == g.pad, "skip_geometry: ", source, " → ", destination,
                      " needs different padding along height and width");
  return g;
}

/// Resilience settings with the paper's CNN defaults: skips [edge→cloud, IoT→fog] on,
/// reliabilities 1 and failout survival 0.9 for [fog, edge].
struct VerticalCnnOptions : ResilienceOptions {
  /// Sets the defaults.
  VerticalCnnOptions() {
    skips = {true, true};
    weight_reliability = {1.0, 1.0};
    survival = {0.9, 0.9};
  }
};

/// The failable CNN nodes in failure order (cloud side first).
inline std::vector<std::string> cnn_failable_nodes() { return {"fog", "edge"}; }

/// An empty IoT → edge → fog → cloud network for `o`'s variant, ready for its layers.
template <class T>
std::unique_ptr<PartitionedNetwork<T>> make_vertical_cnn(const std::string& name,
                                                         const ResilienceOptions& o) {
  auto net = std::make_unique<PartitionedNetwork<T>>(name + "_" + to_string(o.variant), o.merge_rule());
  net->add_node("iot", Tier::iot);
  net->add_node("edge", Tier::edge, true);
  net->add_node("fog", Tier::fog, true);
  net->add_node("cloud", Tier::cloud);
  net->set_failure_order(cnn_failable_nodes());
  return net;
}

/// The output shape of every node of `net` for one input of shape `input` (H, W, C) when
/// each node's layers take the previous node's output: the main chain, before links exist
/// (PartitionedNetwork::node_output_shapes merges along the links instead).
template <class T>
std::vector<Shape> chain_output_shapes(PartitionedNetwork<T>& net, const Shape& input) {
  Tape<T> tape;
  Context<T> ctx(Mode::infer);
  Tensor<T> x(input.prepend(1));
  Var<T> v = tape.input(x.view());
  std::vector<Shape> shapes;
  for (const auto& node : net.nodes()) {
    v = node->layers.forward(v, ctx);
    shapes.push_back(v.shape());
  }
  return shapes;
}

/// Links the nodes of a network made by make_vertical_cnn() whose layers are filled: main
/// links IoTe, ef, fc; for DFG and ResiliNet the skips IoTf (`skip_hyperconnection_iotfog`,
/// joining the edge's group at the fog) and ec (`skip_hyperconnection_edgecloud`, joining
/// the fog's group at the cloud), each a bias-free Glorot 1x1 conv whose filters and stride
/// come from skip_geometry() on the inferred shapes of an `input` (H, W, C) example; a
/// destination smaller than its skip is zero-padded bottom/right as the node's last layer
/// (`edgefog_connection_padding`, `fogcloud_connection_padding`). Then applies `o`.
template <class T>
void connect_vertical_cnn(PartitionedNetwork<T>& net, const ResilienceOptions& o,
                          const Shape& input, Rng& rng) {
  net.add_main_link("iot", "edge", "IoTe");
  net.add_main_link("edge", "fog", "ef");
  net.add_main_link("fog", "cloud", "fc");
  if (o.variant != Variant::vanilla) {
    const char* names[2][4] = {{"iot", "edge", "IoTf", "skip_hyperconnection_iotfog"},
                               {"edge", "fog", "ec", "skip_hyperconnection_edgecloud"}};
    const char* pads[2] = {"edgefog_connection_padding", "fogcloud_connection_padding"};
    for (int k = 0; k < 2; ++k) {
      const auto shapes = chain_output_shapes(net, input);
      const std::size_t src = net.index_of(names[k][0]), dst = net.index_of(names[k][1]);
      const SkipGeometry g = skip_geometry(shapes[src], shapes[dst]);
      if (g.pad) net.nodes()[dst]->layers.template add<ZeroPadding2D<T>>(0, g.pad, 0, g.pad, pads[k]);
      auto conv = std::make_unique<Conv2D<T>>(
          shapes[src][3], g.filters,
          Conv2DOptions().with_kernel(1).with_stride(g.stride).with_padding(Padding::valid).with_bias(false),
          rng, names[k][3]);
      net.add_skip(names[k][0], k == 0 ? "fog" : "cloud", names[k][2], names[k][1], std::move(conv));
    }
  }
  apply_resilience(net, o, {"ec", "IoTf"}, rng);
}

}  // namespace resilinet
