#pragma once
/// \file
/// MobileNet v1 (Keras's layers and names) for CIFAR-10 and ImageNet, spec §3.2: the stem,
/// the 13 depthwise-separable blocks and the head; the whole network as one Sequential, and
/// the partitioned Vanilla / DFG / ResiliNet / ResiliNet+ models.

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "resilinet/nn/batch_norm.hpp"
#include "resilinet/nn/conv2d.hpp"
#include "resilinet/nn/depthwise_conv2d.hpp"
#include "resilinet/nn/dropout.hpp"
#include "resilinet/nn/flatten.hpp"
#include "resilinet/nn/global_average_pooling2d.hpp"
#include "resilinet/nn/reshape.hpp"
#include "resilinet/nn/sequential.hpp"
#include "resilinet/nn/zero_padding2d.hpp"
#include "resilinet/models/vertical_cnn.hpp"

namespace resilinet {

/// Settings of MobileNet v1 (defaults: the paper's CIFAR-10 model).
struct MobileNetOptions {
  /// Width multiplier α.
  double alpha = 0.75;
  /// Stride of the stem and of block 2: 1 for CIFAR (32x32), 2 for ImageNet (160x160).
  std::size_t strides = 1;
  /// Input channels.
  std::size_t channels = 3;
  /// Output classes.
  std::size_t classes = 10;
  /// Dropout rate of the head.
  double dropout = 1e-3;
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

/// Filters (at α = 1) and stride of MobileNet's blocks 1..13; `strides` applies to block 2.
inline std::vector<std::pair<std::size_t, std::size_t>> mobilenet_blocks(std::size_t strides) {
  return {{64, 1},  {128, strides}, {128, 1}, {256, 2}, {256, 1}, {512, 2},  {512, 1},
          {512, 1}, {512, 1},       {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
}

/// Keras's channel count int(F·α).
inline std::size_t mobilenet_filters(std::size_t filters, double alpha) {
  require(alpha > 0, "MobileNet: alpha must be positive, got ", alpha);
  return std::size_t(double(filters) * alpha);
}

/// Appends the stem: pad bottom/right by 1, Conv 3x3 "valid" without bias (`conv1`), BN with
/// ReLU6 (`conv1_bn`, settings `bn`). Returns the output channels int(32α).
template <class T>
std::size_t add_mobilenet_stem(Sequential<T>& s, std::size_t in_channels, double alpha,
                               std::size_t stride, Rng& rng, const BatchNormOptions& bn) {
  const std::size_t f = mobilenet_filters(32, alpha);
  s.template add<ZeroPadding2D<T>>(0, 1, 0, 1, "conv1_pad");
  s.template add<Conv2D<T>>(in_channels, f, Conv2DOptions().with_kernel(3).with_stride(stride).with_bias(false),
                            rng, "conv1");
  s.template add<BatchNorm<T>>(f, "conv1_bn", bn);
  return f;
}

/// Appends depthwise-separable block `id`: (stride 2: pad bottom/right, 3x3 "valid" depthwise;
/// stride 1: 3x3 "same") `conv_dw_id`, BN+ReLU6, pointwise 1x1 `conv_pw_id` to
/// `pointwise_filters`, BN+ReLU6 (batch norms with settings `bn`). Returns `pointwise_filters`.
template <class T>
std::size_t add_depthwise_block(Sequential<T>& s, std::size_t in_channels,
                                std::size_t pointwise_filters, std::size_t stride, int id,
                                Rng& rng, const BatchNormOptions& bn) {
  const std::string b = std::to_string(id);
  if (stride != 1) s.template add<ZeroPadding2D<T>>(0, 1, 0, 1, "conv_pad_" + b);
  s.template add<DepthwiseConv2D<T>>(in_channels, 3, stride,
                                     stride == 1 ? Padding::same : Padding::valid, rng,
                                     "conv_dw_" + b);
  s.template add<BatchNorm<T>>(in_channels, "conv_dw_" + b + "_bn", bn);
  s.template add<Conv2D<T>>(in_channels, pointwise_filters,
                            Conv2DOptions().with_kernel(1).with_padding(Padding::same).with_bias(false),
                            rng, "conv_pw_" + b);
  s.template add<BatchNorm<T>>(pointwise_filters, "conv_pw_" + b + "_bn", bn);
  return pointwise_filters;
}

/// Appends the head: global average pooling, reshape to (1, 1, C), dropout, 1x1 conv with bias
/// (`conv_preds`) to `classes` logits, flatten (softmax is fused into the loss).
template <class T>
void add_mobilenet_head(Sequential<T>& s, std::size_t in_channels, std::size_t classes,
                        double dropout_rate, Rng& rng) {
  s.template add<GlobalAveragePooling2D<T>>();
  s.template add<Reshape<T>>(Shape{1, 1, in_channels}, "reshape_1");
  s.template add<Dropout<T>>(dropout_rate);
  s.template add<Conv2D<T>>(in_channels, classes,
                            Conv2DOptions().with_kernel(1).with_padding(Padding::same), rng,
                            "conv_preds");
  s.template add<Flatten<T>>("reshape_2");
}

/// Appends blocks 1..13, block `id` into `block_layers(id)`. Returns the output channels.
template <class T, class BlockLayers>
std::size_t add_mobilenet_blocks(BlockLayers&& block_layers, std::size_t channels,
                                 const MobileNetOptions& o, Rng& rng) {
  int id = 1;
  for (const auto& [filters, stride] : mobilenet_blocks(o.strides)) {
    channels = add_depthwise_block(block_layers(id), channels, mobilenet_filters(filters, o.alpha),
                                   stride, id, rng, o.bn(Activation::relu6));
    ++id;
  }
  return channels;
}

/// The whole (unpartitioned, "Vanilla") MobileNet as one chain producing logits.
template <class T>
std::unique_ptr<Sequential<T>> build_mobilenet(const MobileNetOptions& o, Rng& rng) {
  auto net = std::make_unique<Sequential<T>>("mobilenet");
  std::size_t c = add_mobilenet_stem(*net, o.channels, o.alpha, o.strides, rng, o.bn(Activation::relu6));
  c = add_mobilenet_blocks<T>([&](int) -> Sequential<T>& { return *net; }, c, o, rng);
  add_mobilenet_head(*net, c, o.classes, o.dropout, rng);
  return net;
}

/// Settings of build_partitioned_mobilenet(): the network, its input size and the resilience
/// settings (VerticalCnnOptions).
struct PartitionedMobileNetOptions : VerticalCnnOptions {
  /// The network (α, strides, classes).
  MobileNetOptions net;
  /// Input height and width (32 for CIFAR, 160 for the paper's ImageNet).
  std::size_t image_size = 32;
};

/// The last block of the IoT, edge and fog nodes (0 = the stem only): partition 1 ("1-3-5-5")
/// puts blocks 1–3 on the edge and 4–8 on the fog, partition 2 ("2-2-4-6") block 1 on the
/// IoT, 2–3 on the edge and 4–7 on the fog; the cloud has the rest and the head.
inline std::array<int, 3> mobilenet_partition(int partition) {
  require(partition == 1 || partition == 2, "MobileNet: partition must be 1 or 2, got ", partition);
  return partition == 1 ? std::array<int, 3>{0, 3, 8} : std::array<int, 3>{1, 3, 7};
}

/// Builds the partitioned MobileNet of spec §3.2 (logits out; softmax is fused into the loss).
template <class T>
std::unique_ptr<PartitionedNetwork<T>> build_partitioned_mobilenet(const PartitionedMobileNetOptions& o,
                                                                   Rng& rng) {
  const std::array<int, 3> last = mobilenet_partition(o.partition);
  auto net = make_vertical_cnn<T>("mobilenet", o);
  const MobileNetOptions& m = o.net;
  std::size_t c = add_mobilenet_stem(net->nodes()[0]->layers, m.channels, m.alpha, m.strides, rng,
                                     m.bn(Activation::relu6));
  auto node_of = [&](int id) -> Sequential<T>& {
    std::size_t node = 0;
    while (node < 3 && id > last[node]) ++node;
    return net->nodes()[node]->layers;
  };
  c = add_mobilenet_blocks<T>(node_of, c, m, rng);
  add_mobilenet_head(net->nodes()[3]->layers, c, m.classes, m.dropout, rng);
  connect_vertical_cnn(*net, o, Shape{o.image_size, o.image_size, m.channels}, rng);
  return net;
}

}  // namespace resilinet
