// Early exits: which exit answers under each failure mask, the answer in every execution
// (taped, tape-free, shared sweep), the joint training loss and its gradients, scoring, and
// model files that carry the heads.
#include <doctest/doctest.h>

#include <cstdio>

#include "helpers.hpp"

using namespace resilinet;

namespace {

/// The health MLP (3 features, 4 classes) with an exit on every failable node.
std::unique_ptr<PartitionedNetwork<double>> health_with_exits(Variant v, double loss_weight = 0.5,
                                                              std::uint64_t seed = 1) {
  Rng rng(seed);
  HealthMlpOptions o;
  o.variant = v;
  o.in_features = 3;
  o.hidden = 5;
  o.classes = 4;
  auto net = build_health_mlp<double>(o, rng);
  ExitHeadOptions heads;
  heads.loss_weight = loss_weight;
  add_exit_heads(*net, Shape{3}, 4, rng, heads);
  return net;
}

/// The name of the node whose exit answers under `mask`, "output" or "none".
std::string answerer(const PartitionedNetwork<double>& net, const FailureMask& mask) {
  const std::size_t e = net.answering_exit(mask);
  if (e != Partition<double>::npos) return net.nodes()[net.exits()[e].node]->name;
  return net.has_information_flow(mask) ? "output" : "none";
}

}  // namespace

TEST_CASE("the deepest reached exit answers when no live path reaches the output") {
  // Failure order [fog1, fog2, edge]; Vanilla is the chain iot-edge-fog2-fog1-cloud, DFG adds
  // the skips IoT->fog2, edge->fog1 and fog2->cloud.
  const auto vanilla = health_with_exits(Variant::vanilla), dfg = health_with_exits(Variant::dfg);
  REQUIRE(vanilla->exits().size() == 3);
  const std::vector<std::pair<FailureMask, std::array<const char*, 2>>> cases = {
      {{1, 1, 1}, {"output", "output"}}, {{0, 1, 1}, {"fog2", "output"}}, {{1, 0, 1}, {"edge", "output"}},
      {{0, 0, 1}, {"edge", "edge"}},     {{1, 1, 0}, {"none", "output"}}, {{0, 1, 0}, {"none", "output"}},
      {{1, 0, 0}, {"none", "none"}},     {{0, 0, 0}, {"none", "none"}}};
  for (const auto& [mask, want] : cases) {
    CAPTURE(to_string(mask));
    CHECK(answerer(*vanilla, mask) == want[0]);
    CHECK(answerer(*dfg, mask) == want[1]);
    CHECK(vanilla->answers(mask) == (std::string(want[0]) != "none"));
  }
}

TEST_CASE("an exit's answer is its head on its node's output, in every execution") {
  for (Variant v : {Variant::vanilla, Variant::dfg, Variant::resilinet}) {
    CAPTURE(to_string(v));
    const auto net = health_with_exits(v);
    Rng rng(4);
    const Tensor<double> x = testing::random_tensor<double>(Shape{6, 3}, rng);
    Inference<double> inf, by_hand;
    std::vector<std::string> visited;
    net->infer_combinations(x.view(), inf, [&](const FailureMask& mask, TensorView<const double> logits) {
      visited.push_back(to_string(mask));
      Inference<double> one;
      const TensorView<const double> want = one.run(*net, x.view(), mask);
      REQUIRE(want.shape() == logits.shape());
      CHECK(std::equal(want.begin(), want.end(), logits.begin()));
    });
    std::vector<std::string> answered;
    for (const FailureMask& mask : failure_combinations(3)) {
      CAPTURE(to_string(mask));
      if (net->answers(mask)) answered.push_back(to_string(mask));
      const std::size_t e = net->answering_exit(mask);
      Inference<double> one;
      const TensorView<const double> y = one.run(*net, x.view(), mask);
      Context<double> ctx(Mode::infer);
      Tape<double> tape;
      const Var<double> taped = net->forward(tape.input(x), mask, ctx);
      REQUIRE(taped.shape() == y.shape());
      for (std::size_t i = 0; i < y.size(); ++i) CHECK(taped.value()[i] == doctest::Approx(y[i]).epsilon(1e-12));
      if (e == Partition<double>::npos) continue;
      CHECK(y.shape() == Shape{6, 4});
      // The head applied by hand to the node's output, computed node by node.
      const std::size_t node = net->exits()[e].node;
      std::vector<TensorView<const double>> outs(net->nodes().size());
      for (std::size_t n = 0; n <= node; ++n)
        if (net->partition().node_alive(mask, n)) outs[n] = net->infer_node(n, x.view(), outs, by_hand);
      const TensorView<const double> want = net->exits()[e].head->infer(outs[node], by_hand);
      CHECK(std::equal(want.begin(), want.end(), y.begin(), y.end()));
    }
    std::sort(visited.begin(), visited.end());
    std::sort(answered.begin(), answered.end());
    CHECK(visited == answered);
  }
}

TEST_CASE("the training loss adds each exit's weighted cross-entropy, and its gradients check") {
  const std::vector<int> y{0, 1, 2, 3};
  for (Variant v : {Variant::vanilla, Variant::resilinet}) {
    CAPTURE(to_string(v));
    auto net = health_with_exits(v, 0.3);
    Rng rng(6);
    for (Parameter<double>* p : net->parameters())
      for (double& w : p->mutable_value()) w = rng.uniform(-1, 1);
    const auto x = testing::random_tensor<double>(Shape{4, 3}, rng);
    Context<double> ctx(Mode::infer);
    Tape<double> tape;
    const Var<double> out = net->forward(tape.input(x), ctx);
    double want = softmax_cross_entropy(out, y).value()[0];
    Inference<double> inf;
    std::vector<TensorView<const double>> outs(net->nodes().size());
    for (std::size_t n = 0; n < net->nodes().size(); ++n) outs[n] = net->infer_node(n, x.view(), outs, inf);
    for (const ExitHead<double>& e : net->exits()) {
      Tape<double> t;
      want += 0.3 * softmax_cross_entropy(t.input(Tensor<double>(e.head->infer(outs[e.node], inf))), y).value()[0];
    }
    CHECK(net->training_loss(out, y, {}).value()[0] == doctest::Approx(want).epsilon(1e-12));
    auto fresh = health_with_exits(v);
    CHECK_THROWS_WITH_AS(fresh->training_loss(out, y, {}), doctest::Contains("call forward() first"), Error);
    const GradCheckResult r = check_gradients<double>(
        [&](Tape<double>& t) { return net->training_loss(net->forward(t.input(x), ctx), y, {}); },
        net->parameters());
    CHECK(r.max_error < 1e-6);
  }
}

TEST_CASE("combination accuracies score an exit's answers instead of the guess") {
  Rng rng(8);
  const auto net = health_with_exits(Variant::vanilla);
  Dataset<double> test;
  test.x = testing::random_tensor<double>(Shape{40, 3}, rng);
  for (std::size_t i = 0; i < 40; ++i) test.y.push_back(int(i % 4));
  const std::vector<int> train_labels{0, 1, 2, 3};
  FailureEvaluationOptions shared, separate;
  separate.share_work = false;
  const std::vector<double> a = combination_accuracies(*net, test, train_labels, shared);
  const std::vector<double> b = combination_accuracies(*net, test, train_labels, separate);
  CHECK(a == b);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const FailureMask mask = failure_combination(i, 3);
    if (!net->answers(mask)) continue;
    Inference<double> inf;
    const double want = double(count_correct(inf.run(*net, test.x.view(), mask), test.y)) / 40.0;
    CAPTURE(to_string(mask));
    CHECK(a[i] == doctest::Approx(want));
  }
}

TEST_CASE("exits go into the model file and come back, and malformed exits are refused by name") {
  const std::string path = "resilinet_test_exits.rsln";
  for (Variant v : {Variant::vanilla, Variant::resilinet}) {
    const auto net = health_with_exits(v, 0.25);
    save_parameters(*net, path);
    const auto loaded = load_network<double>(path);
    CHECK(loaded->describe() == net->describe());
    CHECK(net->describe().find("exit fog2 0.25\n") != std::string::npos);
    REQUIRE(loaded->exits().size() == 3);
    Rng rng(2);
    const Tensor<double> x = testing::random_tensor<double>(Shape{3, 3}, rng);
    for (const FailureMask& mask : failure_combinations(3)) {
      Inference<double> i1, i2;
      const auto y1 = i1.run(*net, x.view(), mask), y2 = i2.run(*loaded, x.view(), mask);
      CHECK(std::equal(y1.begin(), y1.end(), y2.begin(), y2.end()));
    }
  }
  std::remove(path.c_str());
  Rng rng(1);
  const auto net = health_with_exits(Variant::vanilla);
  CHECK_THROWS_WITH_AS(net->add_exit("cloud", std::make_unique<Flatten<double>>(), 1.0),
                       doctest::Contains("is the output"), Error);
  CHECK_THROWS_WITH_AS(net->add_exit("edge", std::make_unique<Flatten<double>>(), 1.0),
                       doctest::Contains("already has an exit"), Error);
  CHECK_THROWS_WITH_AS(net->add_exit("iot", std::make_unique<Flatten<double>>(), -1.0),
                       doctest::Contains("got -1"), Error);
}

TEST_CASE("exit heads fit any node output: pooled for images, flattened otherwise") {
  Rng rng(3);
  PartitionedNetwork<float> net("cnn");
  net.add_node("iot", Tier::iot);
  net.add_node("edge", Tier::edge, true).layers.add<Conv2D<float>>(2, 6, Conv2DOptions().with_kernel(3), rng, "conv");
  net.add_node("fog", Tier::fog, true).layers.add<Reshape<float>>(Shape{36, 6}, "fold");
  auto& cloud = net.add_node("cloud", Tier::cloud).layers;
  cloud.add<Flatten<float>>("flat");
  cloud.add<Dense<float>>(216, 3, Activation::linear, rng, "out");
  net.add_main_link("iot", "edge", "ie");
  net.add_main_link("edge", "fog", "ef");
  net.add_main_link("fog", "cloud", "fc");
  add_exit_heads(net, Shape{8, 8, 2}, 3, rng);
  REQUIRE(net.exits().size() == 2);
  const std::string text = net.describe();
  CHECK(text.find("global_average_pooling2d name=exit_edge_pool") != std::string::npos);
  CHECK(text.find("flatten name=exit_fog_flatten") != std::string::npos);
  ExitHeadOptions flat;
  flat.pool_images = false;
  flat.nodes = {"iot"};
  add_exit_heads(net, Shape{8, 8, 2}, 3, rng, flat);
  CHECK(net.describe().find("flatten name=exit_iot_flatten") != std::string::npos);
  CHECK(net.describe().find("dense name=exit_iot_dense in=128 units=3") != std::string::npos);
  const Tensor<float> x = testing::random_tensor<float>(Shape{2, 8, 8, 2}, rng);
  Inference<float> inf;
  CHECK(inf.run(net, x.view(), FailureMask{0, 1}).shape() == Shape{2, 3});  // fog dead: the edge answers
  CHECK(inf.run(net, x.view(), FailureMask{1, 1}).shape() == Shape{2, 3});
}
