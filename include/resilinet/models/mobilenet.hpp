#pragma once
/// \file
/// MobileNet v1 (Keras's layers and names) for CIFAR-10 and ImageNet, spec §3.2: the stem,
/// the 13 depthwise-separable blocks and the head, as building blocks that the partitioned
/// models place on physical nodes, and the whole network as one Sequential.

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
/// ReLU6 (`conv1_bn`). Returns the output channels int(32α).
template <class T>
std::size_t add_mobilenet_stem(Sequential<T>& s, std::size_t in_channels, double alpha,
                               std::size_t stride, Rng& rng) {
  const std::size_t f = mobilenet_filters(32, alpha);
  s.template add<ZeroPadding2D<T>>(0, 1, 0, 1, "conv1_pad");
  s.template add<Conv2D<T>>(in_channels, f, Conv2DOptions().with_kernel(3).with_stride(stride).with_bias(false),
                            rng, "conv1");
  s.template add<BatchNorm<T>>(f, "conv1_bn", BatchNormOptions{0.99, 1e-3, Activation::relu6});
  return f;
}

/// Appends depthwise-separable block `id`: (stride 2: pad bottom/right, 3x3 "valid" depthwise;
/// stride 1: 3x3 "same") `conv_dw_id`, BN+ReLU6, pointwise 1x1 `conv_pw_id` to
/// `pointwise_filters`, BN+ReLU6. Returns `pointwise_filters`.
template <class T>
std::size_t add_depthwise_block(Sequential<T>& s, std::size_t in_channels,
                                std::size_t pointwise_filters, std::size_t stride, int id,
                                Rng& rng) {
  const std::string b = std::to_string(id);
  const BatchNormOptions bn{0.99, 1e-3, Activation::relu6};
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

/// The whole (unpartitioned, "Vanilla") MobileNet as one chain producing logits.
template <class T>
std::unique_ptr<Sequential<T>> build_mobilenet(const MobileNetOptions& o, Rng& rng) {
  auto net = std::make_unique<Sequential<T>>("mobilenet");
  std::size_t c = add_mobilenet_stem(*net, o.channels, o.alpha, o.strides, rng);
  int id = 1;
  for (const auto& [filters, stride] : mobilenet_blocks(o.strides))
    c = add_depthwise_block(*net, c, mobilenet_filters(filters, o.alpha), stride, id++, rng);
  add_mobilenet_head(*net, c, o.classes, o.dropout, rng);
  return net;
}

}  // namespace resilinet
