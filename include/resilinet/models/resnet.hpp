#pragma once
/// \file
/// ResNet-18 v2 (pre-activation, basic blocks) for CIFAR-10, spec §3.3: stem, stages and
/// head; the whole network as one chain, and the partitioned Vanilla / DFG / ResiliNet /
/// ResiliNet+ models.

#include <array>
#include <memory>
#include <string>

#include "resilinet/nn/activation.hpp"
#include "resilinet/nn/batch_norm.hpp"
#include "resilinet/nn/conv2d.hpp"
#include "resilinet/nn/dense.hpp"
#include "resilinet/nn/global_average_pooling2d.hpp"
#include "resilinet/nn/max_pool2d.hpp"
#include "resilinet/nn/residual_block.hpp"
#include "resilinet/nn/sequential.hpp"
#include "resilinet/models/vertical_cnn.hpp"

namespace resilinet {

/// Settings of ResNet-18 v2 (defaults: the paper's CIFAR-10 model).
struct ResNetOptions {
  /// Blocks per stage.
  std::vector<std::size_t> repetitions{2, 2, 2, 2};
  /// Filters of the stem and stage 0 (doubled at each stage).
  std::size_t filters = 64;
  /// Stem kernel size.
  std::size_t stem_kernel = 7;
  /// Stem stride.
  std::size_t stem_stride = 2;
  /// Input channels.
  std::size_t channels = 3;
  /// Output classes.
  std::size_t classes = 10;
  /// L2 penalty of every convolution kernel inside the network.
  double l2 = 1e-4;
  /// Momentum of every batch norm's moving statistics (Keras: 0.99).
  double bn_momentum = 0.99;
  /// Zero-debiased moving statistics, as the reference's Keras 2.2 on TensorFlow 1 (false:
  /// plain averages from mean 0 and variance 1).
  bool bn_zero_debias = true;

  /// The batch norms' settings, with activation `a` fused.
  BatchNormOptions bn(Activation a) const {
    return BatchNormOptions().with_momentum(bn_momentum).with_activation(a).with_zero_debias(bn_zero_debias);
  }
};

/// The convolution settings of every ResNet conv: He-normal, bias, L2 penalty, "same".
inline Conv2DOptions resnet_conv(std::size_t kernel, std::size_t stride, double l2) {
  return Conv2DOptions().with_kernel(kernel).with_stride(stride).with_padding(Padding::same)
      .with_init(Initializer::he_normal).with_l2(l2);
}

/// Appends the stem: Conv KxK/s "same" (`conv_1`), BN with ReLU (`batch_norm_1`). Returns the
/// output channels.
template <class T>
std::size_t add_resnet_stem(Sequential<T>& s, const ResNetOptions& o, Rng& rng) {
  s.template add<Conv2D<T>>(o.channels, o.filters, resnet_conv(o.stem_kernel, o.stem_stride, o.l2),
                            rng, "conv_1");
  s.template add<BatchNorm<T>>(o.filters, "batch_norm_1", o.bn(Activation::relu));
  return o.filters;
}

/// Appends one basic block with id `id` (names as the reference: `conv_id`, `conv_{id+1}`,
/// `skip_conv_{id+2}`, `skip_bn_{id+2}`; the network's very first conv is `res0a_branch2a`
/// and has no BN-ReLU before it; batch norms as `o.bn()`). Returns the next block id (id + 2,
/// + 1 with a shortcut conv).
template <class T>
int add_basic_block(Sequential<T>& s, std::size_t in_channels, std::size_t filters,
                    std::size_t stride, bool first_of_network, int id, const ResNetOptions& o, Rng& rng) {
  const std::string b = std::to_string(id), b1 = std::to_string(id + 1);
  const double l2 = o.l2;
  auto& block = s.template add<ResidualBlock<T>>("block_" + b);
  Sequential<T>& r = block.residual();
  const BatchNormOptions relu = o.bn(Activation::relu);
  if (!first_of_network) r.template add<BatchNorm<T>>(in_channels, "batch_norm_" + b, relu);
  r.template add<Conv2D<T>>(in_channels, filters, resnet_conv(3, stride, l2), rng,
                            first_of_network ? "res0a_branch2a" : "conv_" + b);
  r.template add<BatchNorm<T>>(filters, "batch_norm_" + b1, relu);
  r.template add<Conv2D<T>>(filters, filters, resnet_conv(3, 1, l2), rng, "conv_" + b1);
  if (stride == 1 && in_channels == filters) return id + 2;
  const std::string b2 = std::to_string(id + 2);
  block.shortcut().template add<Conv2D<T>>(
      in_channels, filters, resnet_conv(1, stride, l2).with_padding(Padding::valid), rng,
      "skip_conv_" + b2);
  block.shortcut().template add<BatchNorm<T>>(filters, "skip_bn_" + b2,
                                               o.bn(Activation::linear));
  return id + 3;
}

/// Appends the head: BN with ReLU (settings of `o`), global average pooling, Dense to
/// `o.classes` logits (He-normal).
template <class T>
void add_resnet_head(Sequential<T>& s, std::size_t in_channels, const ResNetOptions& o, Rng& rng) {
  s.template add<BatchNorm<T>>(in_channels, "batch_norm_head", o.bn(Activation::relu));
  s.template add<GlobalAveragePooling2D<T>>();
  s.template add<Dense<T>>(in_channels, o.classes, Activation::linear, rng, "dense_1", true,
                           Initializer::he_normal);
}

/// Appends the stages (block ids from 2; the first block of every stage, stage 0 included,
/// has stride 2), stage s into `stage_layers(s)`. Returns the output channels.
template <class T, class StageLayers>
std::size_t add_resnet_stages(StageLayers&& stage_layers, std::size_t channels,
                              const ResNetOptions& o, Rng& rng) {
  int id = 2;
  std::size_t filters = o.filters;
  for (std::size_t stage = 0; stage < o.repetitions.size(); ++stage, filters *= 2)
    for (std::size_t k = 0; k < o.repetitions[stage]; ++k) {
      Sequential<T>& s = stage_layers(stage);
      id = add_basic_block(s, channels, filters, k == 0 ? 2 : 1, stage == 0 && k == 0, id, o, rng);
      channels = filters;
    }
  return channels;
}

/// The whole (unpartitioned) ResNet as one chain producing logits: stem, max-pool 3x3/2
/// "same", stages whose first block has stride 2 (stage 0 included), head.
template <class T>
std::unique_ptr<Sequential<T>> build_resnet(const ResNetOptions& o, Rng& rng) {
  auto net = std::make_unique<Sequential<T>>("resnet");
  std::size_t c = add_resnet_stem(*net, o, rng);
  net->template add<MaxPool2D<T>>(3, 2, Padding::same, "max_pooling2d_1");
  c = add_resnet_stages<T>([&](std::size_t) -> Sequential<T>& { return *net; }, c, o, rng);
  add_resnet_head(*net, c, o, rng);
  return net;
}

/// Settings of build_partitioned_resnet(): the network, its input size and the resilience
/// settings (VerticalCnnOptions).
struct PartitionedResNetOptions : VerticalCnnOptions {
  /// The network (repetitions, filters, stem, classes, L2).
  ResNetOptions net;
  /// Input height and width.
  std::size_t image_size = 32;
};

/// The node (1 edge, 2 fog, 3 cloud) of each of the four stages: partition 1 ("1-4-4-9")
/// puts stage 0 on the edge, 1 on the fog, 2–3 on the cloud; partition 2 ("1-8-4-5") stages
/// 0–1 on the edge, 2 on the fog, 3 on the cloud. The stem is on the IoT node, the max-pool
/// on the edge.
inline std::array<std::size_t, 4> resnet_partition(int partition) {
  require(partition == 1 || partition == 2, "ResNet: partition must be 1 or 2, got ", partition);
  return partition == 1 ? std::array<std::size_t, 4>{1, 2, 3, 3} : std::array<std::size_t, 4>{1, 1, 2, 3};
}

/// Builds the partitioned ResNet-18 of spec §3.3 (logits out; softmax is fused into the loss).
template <class T>
std::unique_ptr<PartitionedNetwork<T>> build_partitioned_resnet(const PartitionedResNetOptions& o,
                                                                Rng& rng) {
  const ResNetOptions& r = o.net;
  require(r.repetitions.size() == 4, "ResNet: the partitions need 4 stages, got ", r.repetitions.size());
  const std::array<std::size_t, 4> stage_node = resnet_partition(o.partition);
  auto net = make_vertical_cnn<T>("resnet", o);
  std::size_t c = add_resnet_stem(net->nodes()[0]->layers, r, rng);
  net->nodes()[1]->layers.template add<MaxPool2D<T>>(3, 2, Padding::same, "max_pooling2d_1");
  c = add_resnet_stages<T>(
      [&](std::size_t stage) -> Sequential<T>& { return net->nodes()[stage_node[stage]]->layers; },
      c, r, rng);
  add_resnet_head(net->nodes()[3]->layers, c, r, rng);
  connect_vertical_cnn(*net, o, Shape{o.image_size, o.image_size, r.channels}, rng);
  return net;
}

}  // namespace resilinet
