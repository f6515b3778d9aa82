// load_network(): every layer type and every network the programs train, rebuilt from the
// model file alone, infer bit-equal to the saved network under every failure mask; files it
// cannot rebuild are refused by name.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "helpers.hpp"

using namespace resilinet;

namespace {

/// Gives every parameter (moving statistics included) random values, so a load that missed
/// one would show.
template <class T>
void randomize(Module<T>& net, std::uint64_t seed) {
  Rng rng(seed);
  for (Parameter<T>* p : net.parameters()) {
    Tensor<T> v = testing::random_tensor<T>(p->value().shape(), rng, 0.1, 1.0);
    p->set_value(v.view());
  }
}

/// Saves `net`, rebuilds it with load_network() and checks the description, every parameter
/// and the tape-free output under every failure mask on a batch of `example`-shaped inputs.
template <class T>
void check_round_trip(const PartitionedNetwork<T>& net, const Shape& example, const std::string& path) {
  save_parameters(net, path);
  const auto loaded = load_network<T>(path);
  std::remove(path.c_str());
  CHECK(loaded->describe() == net.describe());
  const auto a = net.parameters(), b = loaded->parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i]->name());
    CHECK(a[i]->name() == b[i]->name());
    CHECK(std::equal(a[i]->value().begin(), a[i]->value().end(), b[i]->value().begin(), b[i]->value().end()));
  }
  Rng rng(11);
  const Tensor<T> x = testing::random_tensor<T>(example.prepend(2), rng);
  Inference<T> i1, i2;
  for (const FailureMask& mask : failure_combinations(net.num_failable())) {
    CAPTURE(to_string(mask));
    const TensorView<const T> y1 = i1.run(net, x.view(), mask), y2 = i2.run(*loaded, x.view(), mask);
    REQUIRE(y1.shape() == y2.shape());
    CHECK(std::equal(y1.begin(), y1.end(), y2.begin()));
  }
}

/// Replaces the description stored at the end of the model file at `path` with `text`.
void rewrite_description(const std::string& path, const std::string& old_text, const std::string& text) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() >= old_text.size() + 8);
  REQUIRE(bytes.compare(bytes.size() - old_text.size(), old_text.size(), old_text) == 0);
  bytes.resize(bytes.size() - old_text.size() - 8);
  const std::uint64_t len = text.size();
  bytes.append(reinterpret_cast<const char*>(&len), 8).append(text);
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

/// The message of the FormatError load_network() throws for `path` ("" when it loads).
std::string load_error(const std::string& path) {
  try {
    load_network<float>(path);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

/// A network with every layer type of the library and a transform on its skip.
std::unique_ptr<PartitionedNetwork<double>> every_layer_network(MergeRule rule) {
  Rng rng(3);
  auto net = std::make_unique<PartitionedNetwork<double>>("every_layer", rule);
  Sequential<double>& iot = net->add_node("iot", Tier::iot).layers;
  iot.add<ZeroPadding2D<double>>(1, 0, 2, 1, "pad name with spaces");
  iot.add<Conv2D<double>>(2, 4, Conv2DOptions().with_kernel(3, 2).with_stride(2, 1).with_padding(Padding::same)
                                    .with_l2(1e-4), rng, "conv");
  iot.add<BatchNorm<double>>(4, "bn", BatchNormOptions().with_momentum(0.9).with_epsilon(1e-5)
                                          .with_activation(Activation::relu6).with_zero_debias(true));
  Sequential<double>& edge = net->add_node("edge", Tier::edge, true).layers;
  edge.add<DepthwiseConv2D<double>>(4, DepthwiseConv2DOptions().with_kernel(3).with_depth_multiplier(2)
                                           .with_padding(Padding::same), rng, "dw");
  edge.add<ActivationLayer<double>>(Activation::relu);
  auto& block = edge.add<ResidualBlock<double>>("block");
  block.residual().add<Conv2D<double>>(8, 8, Conv2DOptions().with_kernel(1).with_bias(false), rng, "r_conv");
  block.shortcut().add<BatchNorm<double>>(8, "s_bn");
  Sequential<double>& fog = net->add_node("fog", Tier::fog, true).layers;
  fog.add<MaxPool2D<double>>(2, 2, 1, 1, Padding::same, "pool");
  fog.add<Standardize<double>>(8, "standardize");
  Sequential<double>& cloud = net->add_node("cloud", Tier::cloud).layers;
  cloud.add<GlobalAveragePooling2D<double>>("gap");
  cloud.add<Reshape<double>>(Shape{1, 8}, "reshape");
  cloud.add<Dropout<double>>(0.25, "drop");
  cloud.add<Flatten<double>>("flat");
  cloud.add<Dense<double>>(8, 3, Activation::linear, rng, "out", false);
  net->add_main_link("iot", "edge", "ie");
  net->add_main_link("edge", "fog", "ef");
  net->add_main_link("fog", "cloud", "fc");
  net->add_skip("iot", "fog", "if", "edge",
                std::make_unique<Conv2D<double>>(4, 8, Conv2DOptions().with_kernel(1), rng, "skip_conv"));
  net->add_skip("edge", "cloud", "ec", "fog");
  net->set_weight("if", 0.625);
  net->set_skip_enabled("ec", false);
  net->set_failout({0.7, 0.8}, FailoutGranularity::per_example);
  return net;
}

}  // namespace

TEST_CASE("load_network rebuilds every layer type, transforms, weights and failout from the file alone") {
  for (MergeRule rule : {MergeRule::sum, MergeRule::mux, MergeRule::mux_legacy, MergeRule::mux_batch_sum}) {
    CAPTURE(int(rule));
    auto net = every_layer_network(rule);
    randomize(*net, 5);
    check_round_trip(*net, Shape{6, 5, 2}, "resilinet_test_every_layer.rsln");
  }
}

TEST_CASE("load_network rebuilds every network the programs train") {
  const std::string path = "resilinet_test_program_network.rsln";
  Rng rng(1);
  for (Variant v : {Variant::resilinet, Variant::resilinet_plus, Variant::dfg, Variant::vanilla}) {
    CAPTURE(to_string(v));
    for (int partition : {1, 2}) {
      CAPTURE(partition);
      const auto check = [&](auto options, auto build, const Shape& example) {
        options.variant = v;
        options.partition = partition;
        auto net = build(options, rng);
        randomize(*net, 2);
        check_round_trip(*net, example, path);
      };
      check(HealthMlpOptions(), build_health_mlp<float>, Shape{HealthMlpOptions().in_features});
      HealthMlpOptions standardized;
      standardized.standardize = true;
      check(standardized, build_health_mlp<float>, Shape{standardized.in_features});
      PartitionedMobileNetOptions m;
      m.net.alpha = 0.25;
      check(m, build_partitioned_mobilenet<float>, Shape{32, 32, 3});
      PartitionedResNetOptions r;
      r.net.filters = 8;
      check(r, build_partitioned_resnet<float>, Shape{32, 32, 3});
      CameraMlpOptions c;
      c.image_size = 8;
      if (partition == 1) check(c, build_camera_mlp<float>, Shape{6, 8, 8, 3});  // it has one partition
    }
  }
}

TEST_CASE("a loaded network trains further like the network that was saved") {
  const std::string path = "resilinet_test_train_further.rsln";
  auto net = every_layer_network(MergeRule::mux);
  randomize(*net, 6);
  save_parameters(*net, path);
  auto loaded = load_network<double>(path);
  std::remove(path.c_str());
  Rng data(8);
  const Tensor<double> x = testing::random_tensor<double>(Shape{3, 6, 5, 2}, data);
  const std::vector<int> labels{0, 2, 1};
  for (auto* m : {static_cast<PartitionedNetwork<double>*>(net.get()), loaded.get()}) {
    Tape<double> tape;
    Context<double> ctx(Mode::train, 9);
    const Var<double> loss = softmax_cross_entropy(m->forward(tape.input(x.view()), ctx), labels);
    tape.backward(loss);
  }
  const auto a = net->parameters(), b = loaded->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i]->name());
    CHECK(std::equal(a[i]->grad().begin(), a[i]->grad().end(), b[i]->grad().begin()));
    CHECK(std::equal(a[i]->value().begin(), a[i]->value().end(), b[i]->value().begin()));  // moving statistics
  }
}

TEST_CASE("load_network refuses what it cannot rebuild, by name") {
  const std::string path = "resilinet_test_refused.rsln";
  HealthMlpOptions h;
  Rng rng(1);
  auto net = build_health_mlp<float>(h, rng);
  const std::string text = net->describe();
  const auto refused = [&](const std::string& from, const std::string& to) {
    save_parameters(*net, path);
    const std::size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    rewrite_description(path, text, text.substr(0, at) + to + text.substr(at + from.size()));
    return load_error(path);
  };
  CHECK(refused("dense name=edge_output_layer", "convolution name=edge_output_layer").find("unknown kind 'convolution'") !=
        std::string::npos);
  CHECK(refused("act=relu", "act=relu colour=blue").find("unknown option 'colour'") != std::string::npos);
  CHECK(refused("act=relu", "act=tanh").find("unknown activation act='tanh'") != std::string::npos);
  CHECK(refused(" units=", " width=").find("no setting 'units'") != std::string::npos);
  CHECK(refused("name=iot layers=0", "name=iot layers=1").find("lines are left") != std::string::npos);
  CHECK(refused(" in=23", " in=0").find("must be") != std::string::npos);
  CHECK(refused("partitioned-network 2", "partitioned-network 3").find("no layers") != std::string::npos);
  std::string deep;  // 100,000 nested chains: refused at the depth limit, not by the stack
  for (int i = 0; i < 100000; ++i) deep += "sequential name=s" + std::to_string(i) + " layers=1\n";
  CHECK(refused("sequential name=iot layers=0\n", "sequential name=iot layers=1\n" + deep + "flatten name=f\n")
            .find("nested deeper than 64") != std::string::npos);
  CHECK(refused("layers iot\nsequential name=iot layers=0\n", "").find("no layers for node 'iot'") !=
        std::string::npos);
  CHECK(refused("transform IoTf2\n", "transform ef1\n").find("names transform 'skip_iotfog2'") !=
        std::string::npos);
  CHECK(refused("link f1c fog1 cloud 0 f1c", "link f1c fog1 cloud 0 ef2").find("must open its own group") !=
        std::string::npos);
  // A file written before layers were stored (version 1 text) is refused by load_network but
  // still loads into a built network, as it always did.
  save_parameters(*net, path);
  rewrite_description(path, text, describe_partition(net->partition(), false));
  CHECK(load_error(path).find("holds no layers") != std::string::npos);
  Rng other(2);
  auto built = build_health_mlp<float>(h, other);
  load_parameters(*built, path);
  CHECK(built->parameters()[0]->value()[0] == net->parameters()[0]->value()[0]);
  std::remove(path.c_str());
}

TEST_CASE("a module load_network cannot build is saved as custom and refused by name") {
  struct Doubling : Module<double> {
    Doubling() : Module<double>("doubling") {}
    Var<double> forward(Var<double> x, Context<double>&) override { return add(x, x); }
  };
  PartitionedNetwork<double> net("custom");
  net.add_node("iot", Tier::iot).layers.add<Doubling>();
  net.add_node("cloud", Tier::cloud);
  net.add_main_link("iot", "cloud", "ic");
  CHECK(net.describe().find("custom name=doubling") != std::string::npos);
  const std::string path = "resilinet_test_custom.rsln";
  save_parameters(net, path);
  try {
    load_network<double>(path);
    FAIL("a custom module loaded");
  } catch (const FormatError& e) {
    CHECK(std::string(e.what()).find("'doubling' is a module of the program") != std::string::npos);
  }
  std::remove(path.c_str());
}

TEST_CASE("layer specs escape names and refuse malformed lines") {
  const LayerSpec s = LayerSpec("dense", "a b=c%\n").set("units", std::size_t(3));
  CHECK(s.text() == "dense name=a%20b%3Dc%25%0A units=3");
  const LayerSpec back = LayerSpec::parse(s.text(), "here");
  CHECK(back.name() == "a b=c%\n");
  CHECK(back.size("units") == 3);
  CHECK(LayerSpec::parse("flatten name=%", "here").name().empty());
  CHECK_THROWS_AS(LayerSpec::parse("dense units=3", "here"), FormatError);
  CHECK_THROWS_AS(LayerSpec::parse("dense name=x units", "here"), FormatError);
  CHECK_THROWS_AS(LayerSpec::parse("dense name=x name=y", "here"), FormatError);
  CHECK_THROWS_AS(LayerSpec::parse("dense name=%4", "here"), FormatError);
  CHECK_THROWS_AS(LayerSpec::parse("dense name=%zz", "here"), FormatError);
  CHECK_THROWS_AS(LayerSpec::parse("dense name=x units=-1", "here").size("units"), FormatError);
  CHECK_THROWS_AS(LayerSpec::parse("dense name=x shape=2xx", "here").shape("shape"), FormatError);
}
