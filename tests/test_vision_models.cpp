// The partitioned MobileNet and ResNet of spec §3.2/§3.3: shapes, skip geometry derived from
// the tensors, no-flow maps, and gradients through muxes, failout and skip convolutions.
#include <doctest/doctest.h>

#include <map>

#include "helpers.hpp"

using namespace resilinet;

namespace {

/// Output shape of every node, and of every layer by name, for one (H, W, C) example.
struct Shapes {
  std::vector<Shape> nodes;
  std::map<std::string, Shape> layers;
  std::map<std::string, Shape> skips;  // link key -> skip transform output
};

Shapes trace(PartitionedNetwork<float>& net, std::size_t size, std::size_t channels = 3) {
  Shapes s;
  Tape<float> tape;
  Context<float> ctx;
  Tensor<float> x(Shape{1, size, size, channels});
  Var<float> v = tape.input(x.view());
  std::vector<Var<float>> outs;
  for (const auto& node : net.nodes()) {
    for (std::size_t i = 0; i < node->layers.size(); ++i) {
      v = node->layers[i].forward(v, ctx);
      s.layers[node->layers[i].name()] = v.shape();
    }
    outs.push_back(v);
    s.nodes.push_back(v.shape());
  }
  for (const auto& l : net.links())
    if (l.transform) s.skips[l.key] = l.transform->forward(outs[l.from], ctx).shape();
  return s;
}

std::unique_ptr<PartitionedNetwork<float>> mobilenet(Variant v, int partition, bool imagenet = false) {
  PartitionedMobileNetOptions o;
  o.variant = v;
  o.partition = partition;
  if (imagenet) {
    o.net.strides = 2;
    o.net.classes = 1000;
    o.image_size = 160;
  }
  Rng rng(1);
  return build_partitioned_mobilenet<float>(o, rng);
}

std::unique_ptr<PartitionedNetwork<float>> resnet(Variant v, int partition) {
  PartitionedResNetOptions o;
  o.variant = v;
  o.partition = partition;
  Rng rng(1);
  return build_partitioned_resnet<float>(o, rng);
}

const Variant all_variants[] = {Variant::vanilla, Variant::dfg, Variant::resilinet, Variant::resilinet_plus};

}  // namespace

TEST_CASE("skip_geometry derives stride, filters and padding from the shapes") {
  SkipGeometry g = skip_geometry(Shape{1, 31, 31, 96}, Shape{1, 7, 7, 384});  // CIFAR edge→cloud
  CHECK(g.stride == 4);
  CHECK(g.filters == 384);
  CHECK(g.pad == 1);
  g = skip_geometry(Shape{1, 40, 40, 96}, Shape{1, 10, 10, 384});  // ImageNet edge→cloud
  CHECK((g.stride == 4 && g.pad == 0));
  g = skip_geometry(Shape{1, 16, 16, 64}, Shape{1, 2, 2, 128});  // ResNet P2 IoT→fog
  CHECK((g.stride == 8 && g.filters == 128 && g.pad == 0));
  CHECK_THROWS_AS(skip_geometry(Shape{1, 4, 4, 8}, Shape{1, 8, 8, 8}), ShapeError);
  CHECK_THROWS_AS(skip_geometry(Shape{1, 8, 16, 8}, Shape{1, 4, 4, 8}), ShapeError);
  CHECK_THROWS_AS(skip_geometry(Shape{8, 8}, Shape{4, 4}), ShapeError);
}

TEST_CASE("partitioned MobileNet on CIFAR has the sizes of spec 3.2 in every variant and partition") {
  for (Variant v : all_variants)
    for (int p : {1, 2}) {
      CAPTURE(to_string(v));
      CAPTURE(p);
      auto net = mobilenet(v, p);
      const Shapes s = trace(*net, 32);
      const bool skips = v != Variant::vanilla;
      CHECK(s.nodes[0] == (p == 1 ? Shape{1, 31, 31, 24} : Shape{1, 31, 31, 48}));  // IoT
      CHECK(s.nodes[1] == Shape{1, 31, 31, 96});                                      // edge
      CHECK(s.nodes[2] == (skips ? Shape{1, 8, 8, 384} : Shape{1, 7, 7, 384}));      // fog (+ 7→8 pad)
      CHECK(s.layers.at(p == 1 ? "conv_pw_8_bn" : "conv_pw_7_bn") == Shape{1, 7, 7, 384});
      CHECK(s.layers.at("conv_pw_11_bn") == (skips ? Shape{1, 8, 8, 384} : Shape{1, 7, 7, 384}));
      CHECK(s.layers.at("conv_pw_13_bn") == (skips ? Shape{1, 4, 4, 768} : Shape{1, 3, 3, 768}));
      CHECK(s.nodes[3] == Shape{1, 10});
      CHECK(s.layers.count("fogcloud_connection_padding") == std::size_t(skips));
      if (skips) {  // the reference's hard-coded 96 and 384 filters, strides 1 and 4
        CHECK(s.skips.at("IoTf") == Shape{1, 31, 31, 96});
        CHECK(s.skips.at("ec") == Shape{1, 8, 8, 384});
      }
      CHECK(net->links().size() == (skips ? 5u : 3u));
      CHECK(net->failure_order() == std::vector<std::size_t>{2, 1});
    }
}

TEST_CASE("partitioned MobileNet on ImageNet: 160x160, stride-2 stem and block 2, no padding") {
  auto net = mobilenet(Variant::resilinet, 1, true);
  const Shapes s = trace(*net, 160);
  CHECK(s.nodes[0] == Shape{1, 80, 80, 24});
  CHECK(s.nodes[1] == Shape{1, 40, 40, 96});
  CHECK(s.nodes[2] == Shape{1, 10, 10, 384});
  CHECK(s.layers.at("conv_pw_13_bn") == Shape{1, 5, 5, 768});
  CHECK(s.nodes[3] == Shape{1, 1000});
  CHECK(s.skips.at("IoTf") == Shape{1, 40, 40, 96});  // stride 2
  CHECK(s.skips.at("ec") == Shape{1, 10, 10, 384});   // stride 4
  CHECK(s.layers.count("fogcloud_connection_padding") == 0);
}

TEST_CASE("skip filters follow alpha instead of the reference's hard-coded 96 and 384") {
  PartitionedMobileNetOptions o;
  o.net.alpha = 0.5;
  Rng rng(2);
  auto net = build_partitioned_mobilenet<float>(o, rng);
  const Shapes s = trace(*net, 32);
  CHECK(s.skips.at("IoTf") == Shape{1, 31, 31, 64});
  CHECK(s.skips.at("ec") == Shape{1, 8, 8, 256});
}

TEST_CASE("partitioned ResNet-18 has the sizes of spec 3.3 in every variant and partition") {
  for (Variant v : all_variants)
    for (int p : {1, 2}) {
      CAPTURE(to_string(v));
      CAPTURE(p);
      auto net = resnet(v, p);
      const Shapes s = trace(*net, 32);
      CHECK(s.nodes[0] == Shape{1, 16, 16, 64});
      CHECK(s.layers.at("max_pooling2d_1") == Shape{1, 8, 8, 64});
      CHECK(s.nodes[1] == (p == 1 ? Shape{1, 4, 4, 64} : Shape{1, 2, 2, 128}));
      CHECK(s.nodes[2] == (p == 1 ? Shape{1, 2, 2, 128} : Shape{1, 1, 1, 256}));
      CHECK(s.nodes[3] == Shape{1, 10});
      CHECK(s.layers.count(p == 1 ? "block_7" : "block_12") == 1);
      if (v != Variant::vanilla) {
        CHECK(s.skips.at("IoTf") == (p == 1 ? Shape{1, 4, 4, 64} : Shape{1, 2, 2, 128}));   // stride 4 / 8
        CHECK(s.skips.at("ec") == (p == 1 ? Shape{1, 2, 2, 128} : Shape{1, 1, 1, 256}));    // stride 2
      }
    }
}

TEST_CASE("the CNN no-flow maps match spec 2.6 for every skip configuration") {
  const std::map<std::vector<bool>, std::vector<std::string>> no_flow{
      {{0, 0}, {"[0, 0]", "[0, 1]", "[1, 0]"}},
      {{1, 0}, {"[0, 0]", "[1, 0]"}},
      {{0, 1}, {"[0, 0]", "[0, 1]"}},
      {{1, 1}, {"[0, 0]"}}};
  for (const auto& [cfg, expected] : no_flow) {
    PartitionedResNetOptions o;
    o.skips = cfg;
    o.net.filters = 4;
    Rng rng(3);
    auto net = build_partitioned_resnet<float>(o, rng);
    std::vector<std::string> found;
    for (const FailureMask& m : failure_combinations(2))
      if (!net->has_information_flow(m)) found.push_back(to_string(m));
    CHECK(found == expected);
  }
  auto vanilla = resnet(Variant::vanilla, 1);
  std::vector<std::string> found;
  for (const FailureMask& m : failure_combinations(2))
    if (!vanilla->has_information_flow(m)) found.push_back(to_string(m));
  CHECK(found == std::vector<std::string>{"[0, 0]", "[0, 1]", "[1, 0]"});
}

TEST_CASE("gradients flow through a tiny partitioned CNN with skip convs, muxes and failout") {
  for (Variant v : {Variant::resilinet, Variant::resilinet_plus, Variant::dfg}) {
    CAPTURE(to_string(v));
    VerticalCnnOptions o;
    o.variant = v;
    o.survival = {0.5, 0.5};
    o.granularity = FailoutGranularity::per_example;
    Rng rng(4);
    auto net = make_vertical_cnn<double>("tiny", o);
    const auto conv = [](std::size_t stride) {
      return Conv2DOptions().with_kernel(3).with_stride(stride).with_padding(Padding::same);
    };
    net->nodes()[0]->layers.add<Conv2D<double>>(2, 2, conv(1), rng, "iot_conv");
    net->nodes()[1]->layers.add<Conv2D<double>>(2, 3, conv(2), rng, "edge_conv");
    net->nodes()[1]->layers.add<BatchNorm<double>>(3, "edge_bn", BatchNormOptions{0.99, 1e-3, Activation::linear});
    net->nodes()[2]->layers.add<Conv2D<double>>(3, 4, conv(2), rng, "fog_conv");
    net->nodes()[3]->layers.add<GlobalAveragePooling2D<double>>();
    net->nodes()[3]->layers.add<Dense<double>>(4, 3, Activation::linear, rng, "output");
    connect_vertical_cnn(*net, o, Shape{8, 8, 2}, rng);
    const auto x = testing::random_tensor<double>(Shape{12, 8, 8, 2}, rng);
    const std::vector<int> y{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2};
    Context<double> ctx(Mode::train);  // outlives the backward passes (its workspace is used there)
    auto loss = [&](Tape<double>& t) {
      ctx.rng() = Rng(11);  // the same failout draws at every evaluation
      return softmax_cross_entropy(net->forward(t.input(x), ctx), y);
    };
    const GradCheckResult r = check_gradients<double>(loss, net->parameters());
    MESSAGE(to_string(v) << ": max error " << r.max_error << " over " << r.checked);
    CHECK(r.max_error < 1e-6);
    // The skip convolutions took part: their kernels received gradient.
    Tape<double> tape;
    for (Parameter<double>* p : net->parameters()) p->zero_grad();
    tape.backward(loss(tape));
    for (const auto& l : net->links())
      if (l.transform) {
        double g = 0;
        for (double d : l.transform->parameters()[0]->grad()) g += std::abs(d);
        CAPTURE(l.key);
        CHECK(g > 0);
      }
  }
}
