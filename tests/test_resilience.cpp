// Failout, muxes, hyperconnection weights, reachability and expected accuracy.
#include <doctest/doctest.h>

#include <cmath>

#include "helpers.hpp"

using namespace resilinet;

namespace {

std::unique_ptr<PartitionedNetwork<double>> health(Variant v, std::array<bool, 3> skips = {1, 1, 1},
                                                   std::size_t hidden = 4, std::uint64_t seed = 1) {
  Rng rng(seed);
  HealthMlpOptions o;
  o.variant = v;
  o.skips = {skips[0], skips[1], skips[2]};
  o.in_features = 3;
  o.hidden = hidden;
  o.classes = 4;
  return build_health_mlp<double>(o, rng);
}

}  // namespace

TEST_CASE("failout fails a whole batch with probability 1 - survival_rate") {
  for (double survival : {0.9, 0.5, 0.2}) {
    Failout f(survival);
    Rng rng(7);
    RowFlags alive;
    const int draws = 20000;
    int failed = 0;
    for (int i = 0; i < draws; ++i) {
      f.sample(rng, 16, alive);
      const int dead = int(std::count(alive.begin(), alive.end(), 0));
      CHECK_UNARY(dead == 0 || dead == 16);  // the whole batch fails together
      failed += dead == 16;
    }
    const double p = 1 - survival, sd = std::sqrt(p * (1 - p) / draws);
    CAPTURE(survival);
    CHECK(std::abs(double(failed) / draws - p) < 4 * sd);  // 4-sigma binomial interval
  }
}

TEST_CASE("per-example failout fails each example independently") {
  Failout f(0.7, FailoutGranularity::per_example);
  Rng rng(8);
  RowFlags alive;
  f.sample(rng, 100000, alive);
  const double failed = double(std::count(alive.begin(), alive.end(), 0)) / 100000;
  CHECK(std::abs(failed - 0.3) < 4 * std::sqrt(0.3 * 0.7 / 100000));
  CHECK_THROWS_WITH_AS(Failout(1.5), "Failout: survival_rate must be in [0, 1], got 1.5", ValueError);
  CHECK_THROWS_AS(Failout(-0.1), ValueError);
}

TEST_CASE("failout is the identity at inference and blocks gradients through a failed node") {
  auto net = health(Variant::resilinet);
  net->set_failout({0.0, 0.0, 0.0});  // always fail in training
  Rng rng(3);
  const auto x = testing::random_tensor<double>(Shape{5, 3}, rng);
  Tape<double> tape;
  Context<double> infer_ctx(Mode::infer), train_ctx(Mode::train, 1);
  const Tensor<double> infer = net->forward(tape.input(x), infer_ctx).value();
  tape.clear();
  const Tensor<double> alive = net->forward(tape.input(x), FailureMask{1, 1, 1}, infer_ctx).value();
  for (std::size_t i = 0; i < infer.size(); ++i) CHECK(infer[i] == alive[i]);
  tape.clear();
  net->zero_grad();
  tape.backward(sum(net->forward(tape.input(x), train_ctx)));
  for (Parameter<double>* p : net->parameters()) {
    double g = 0;
    for (double v : p->grad()) g += std::abs(v);
    CAPTURE(p->name());
    // Every failable node is dead: only the cloud gets gradient (from relu(bias) inputs).
    if (p->name().rfind("cloud", 0) == 0 || p->name().rfind("output", 0) == 0) continue;
    CHECK(g == 0.0);
  }
}

TEST_CASE("the ResiliNet mux takes the main input when the node below lives, else the skip") {
  // iot → a (failable, ×1) → out, with skip iot → out (×1); out has no layers.
  PartitionedNetwork<double> net("mux", MergeRule::mux);
  net.add_node("iot", Tier::iot);
  Rng rng(4);
  auto& a = net.add_node("a", Tier::edge, true);
  a.layers.add<ActivationLayer<double>>(Activation::linear);
  net.add_node("out", Tier::cloud);
  net.add_main_link("iot", "a", "ia");
  net.add_main_link("a", "out", "ao");
  net.add_skip("iot", "out", "io", "a",
               std::make_unique<Dense<double>>(2, 2, Activation::linear, rng, "skip"));
  net.set_weight("ao", 2.0);
  Tape<double> tape;
  const Tensor<double> x(Shape{1, 2}, {1.0, -3.0});
  Context<double> ctx;
  auto y = net.forward(tape.input(x), FailureMask{1}, ctx);
  CHECK(y.value()[0] == 2.0);  // main: 2·a = 2·x
  CHECK(y.value()[1] == -6.0);
  auto z = net.forward(tape.input(x), FailureMask{0}, ctx);
  auto* skip = dynamic_cast<Dense<double>*>(net.links()[2].transform.get());
  const auto& k = skip->kernel().value();
  CHECK(z.value()[0] == doctest::Approx(1.0 * k(0, 0) - 3.0 * k(1, 0)));
  // Gradient flows only into the path that was taken.
  net.zero_grad();
  tape.backward(sum(z));
  CHECK(skip->kernel().grad()[0] == 1.0);
  net.zero_grad();
  tape.clear();
  tape.backward(sum(net.forward(tape.input(x), FailureMask{1}, ctx)));
  CHECK(skip->kernel().grad()[0] == 0.0);
  // The reference's batch-sum test misfires when a live main input sums to zero.
  PartitionedNetwork<double> compat("compat", MergeRule::mux_batch_sum);
  compat.add_node("iot", Tier::iot);
  compat.add_node("a", Tier::edge, true);
  compat.add_node("out", Tier::cloud);
  compat.add_main_link("iot", "a", "ia");
  compat.add_main_link("a", "out", "ao");
  compat.add_skip("iot", "out", "io", "a");
  compat.set_weight("io", 5.0);
  tape.clear();
  const Tensor<double> zero_sum(Shape{1, 2}, {1.0, -1.0});
  CHECK(compat.forward(tape.input(zero_sum), FailureMask{1}, ctx).value()[0] == 5.0);  // took skip
  CHECK(net.forward(tape.input(zero_sum), FailureMask{1}, ctx).value()[0] == 2.0);     // took main
}

TEST_CASE("per-example mux routing under per-example failout") {
  PartitionedNetwork<double> net("rows", MergeRule::mux);
  net.add_node("iot", Tier::iot);
  net.add_node("a", Tier::edge, true);
  net.add_node("out", Tier::cloud);
  net.add_main_link("iot", "a", "ia");
  net.add_main_link("a", "out", "ao");
  net.add_skip("iot", "out", "io", "a");
  net.set_weight("io", 3.0);
  net.set_failout({0.5}, FailoutGranularity::per_example);
  Tape<double> tape;
  Tensor<double> x(Shape{200, 1}, 1.0);
  Context<double> ctx(Mode::train, 9);
  const auto y = net.forward(tape.input(x), ctx).value();
  int main = 0, skip = 0;
  for (double v : y) (v == 1.0 ? main : skip) += v == 1.0 || v == 3.0;
  CHECK(main + skip == 200);
  CHECK(main > 60);
  CHECK(skip > 60);
}

TEST_CASE("gradient check through PartitionedNetwork with hyperconnections and muxes") {
  for (Variant v : {Variant::vanilla, Variant::dfg, Variant::resilinet, Variant::resilinet_plus})
    for (const FailureMask& mask : failure_combinations(3)) {
      auto net = health(v, {1, 1, 1}, 3, 5);
      Rng rng(6);
      apply_weight_scheme(*net, WeightScheme::uniform_0_1, {0.9, 0.8, 0.7}, rng);
      if (v == Variant::vanilla) apply_weight_scheme(*net, WeightScheme::ones, {1, 1, 1}, rng);
      // Random biases keep pre-activations away from ReLU's kink at 0 (a dead node feeds zeros).
      for (Parameter<double>* p : net->parameters())
        for (double& w : p->mutable_value()) w = rng.uniform(-1, 1);
      const auto x = testing::random_tensor<double>(Shape{4, 3}, rng);
      const std::vector<int> y{0, 1, 2, 3};
      Context<double> ctx;
      const GradCheckResult r = check_gradients<double>(
          [&](Tape<double>& t) { return softmax_cross_entropy(net->forward(t.input(x), mask, ctx), y); },
          net->parameters());
      CAPTURE(to_string(v));
      CAPTURE(to_string(mask));
      CHECK(r.max_error < 1e-6);
    }
}

TEST_CASE("hyperconnection weight schemes match the worked numbers of spec 2.2") {
  auto net = health(Variant::resilinet);
  Rng rng(1);
  apply_weight_scheme(*net, WeightScheme::normalized_reliability, {0.99, 0.96, 0.92}, rng);
  CHECK(testing::link_weight(*net, "IoTe") == doctest::Approx(1.0));
  CHECK(testing::link_weight(*net, "IoTf2") == doctest::Approx(0.520833).epsilon(1e-5));
  CHECK(testing::link_weight(*net, "ef2") == doctest::Approx(0.479167).epsilon(1e-5));
  CHECK(testing::link_weight(*net, "ef1") == doctest::Approx(0.489362).epsilon(1e-5));
  CHECK(testing::link_weight(*net, "f2f1") == doctest::Approx(0.510638).epsilon(1e-5));
  CHECK(testing::link_weight(*net, "f2c") == doctest::Approx(0.492308).epsilon(1e-5));
  CHECK(testing::link_weight(*net, "f1c") == doctest::Approx(0.507692).epsilon(1e-5));
  apply_weight_scheme(*net, WeightScheme::source_reliability, {0.99, 0.96, 0.92}, rng);
  CHECK(testing::link_weight(*net, "IoTf2") == 1.0);
  CHECK(testing::link_weight(*net, "ef1") == 0.92);
  CHECK(testing::link_weight(*net, "f2c") == 0.96);
  CHECK(testing::link_weight(*net, "f1c") == 0.99);
  apply_weight_scheme(*net, WeightScheme::normalized_reliability, {1, 1, 1}, rng);
  CHECK(testing::link_weight(*net, "ef2") == 0.5);
  apply_weight_scheme(*net, WeightScheme::uniform_0_10, {1, 1, 1}, rng);
  for (const auto& l : net->links()) CHECK_UNARY(l.weight >= 0.0 && l.weight < 10.0);
  // A disabled skip gets 0; the others are not renormalised.
  auto off = health(Variant::resilinet, {0, 1, 1});
  apply_weight_scheme(*off, WeightScheme::normalized_reliability, {0.99, 0.96, 0.92}, rng);
  CHECK(testing::link_weight(*off, "f2c") == 0.0);
  CHECK(testing::link_weight(*off, "f1c") == doctest::Approx(0.507692).epsilon(1e-5));
  CHECK_THROWS_AS(weight_scheme(6), ValueError);
  CHECK_THROWS_AS(apply_weight_scheme(*net, WeightScheme::ones, {1, 1}, rng), ShapeError);
}

TEST_CASE("no-information-flow sets of spec 2.6 for all 8 health skip configurations") {
  // Combination indices (MSB first over [f1, f2, e]) without flow, per config [f2c, ef1, IoTf2].
  const std::vector<std::pair<std::array<bool, 3>, std::vector<int>>> table{
      {{0, 0, 0}, {0, 1, 2, 3, 4, 5, 6}}, {{1, 1, 1}, {0, 1, 4}},
      {{1, 0, 0}, {0, 1, 2, 4, 5, 6}},    {{0, 1, 0}, {0, 1, 2, 3, 4, 6}},
      {{0, 0, 1}, {0, 1, 2, 3, 4, 5}},    {{1, 1, 0}, {0, 1, 2, 4, 6}},
      {{1, 0, 1}, {0, 1, 4, 5}},          {{0, 1, 1}, {0, 1, 2, 3, 4}}};
  for (const auto& [cfg, no_flow] : table) {
    auto net = health(Variant::resilinet, cfg);
    std::vector<int> got;
    for (int i = 0; i < 8; ++i)
      if (!net->has_information_flow(failure_combination(std::size_t(i), 3))) got.push_back(i);
    CAPTURE(cfg[0]);
    CAPTURE(cfg[1]);
    CAPTURE(cfg[2]);
    CHECK(got == no_flow);
  }
  auto vanilla = health(Variant::vanilla);
  for (int i = 0; i < 7; ++i) CHECK_FALSE(vanilla->has_information_flow(failure_combination(std::size_t(i), 3)));
  CHECK(vanilla->has_information_flow({1, 1, 1}));
}

TEST_CASE("failure combinations are enumerated most significant bit first") {
  CHECK(failure_combination(0, 3) == FailureMask{0, 0, 0});
  CHECK(failure_combination(1, 3) == FailureMask{0, 0, 1});
  CHECK(failure_combination(4, 3) == FailureMask{1, 0, 0});
  CHECK(failure_combination(7, 3) == FailureMask{1, 1, 1});
  CHECK(failure_combinations(2).size() == 4);
  CHECK(to_string(failure_combination(5, 3)) == "[1, 0, 1]");
  CHECK_THROWS_AS(failure_combination(8, 3), ValueError);
}

TEST_CASE("expected accuracy on hand-computed cases") {
  const std::vector<double> normal{0.99, 0.96, 0.92};
  CHECK(combination_probability({1, 0, 1}, normal) == doctest::Approx(0.036432));
  CHECK(combination_probability({1, 1, 1}, normal) == doctest::Approx(0.874368));
  // Accuracy 1 only when everything is alive: E = P(all alive).
  std::vector<double> acc(8, 0.0);
  acc[7] = 1.0;
  CHECK(expected_accuracy(acc, normal) == doctest::Approx(0.874368));
  // Two nodes, hand computed: r = (0.9, 0.5): w = [0.05, 0.05, 0.45, 0.45].
  CHECK(expected_accuracy({0.1, 0.2, 0.3, 0.4}, {0.9, 0.5}) ==
        doctest::Approx(0.05 * 0.1 + 0.05 * 0.2 + 0.45 * 0.3 + 0.45 * 0.4));
  // No failure: only the all-alive combination counts.
  CHECK(expected_accuracy({0.1, 0.2, 0.3, 0.4}, {1, 1}) == 0.4);
  CHECK_THROWS_AS(expected_accuracy({0.1, 0.2}, {0.9, 0.5}), ShapeError);
  CHECK_THROWS_AS(combination_probability({1, 1}, {1.2, 0.5}), ValueError);
  const MeanStd ms = mean_std({0.5, 0.7, 0.9});
  CHECK(ms.mean == doctest::Approx(0.7));
  CHECK(ms.std == doctest::Approx(0.2));
  CHECK(std::isnan(mean_std({0.3}).std));
}

TEST_CASE("random guess follows training class frequencies; index mode reproduces the bug") {
  // Labels 1..3 with frequencies 0.5, 0.3, 0.2 (label 0 absent, as in mHealth).
  std::vector<int> train;
  for (int i = 0; i < 50; ++i) train.push_back(1);
  for (int i = 0; i < 30; ++i) train.push_back(2);
  for (int i = 0; i < 20; ++i) train.push_back(3);
  std::vector<int> test(200000);
  Rng pick(1);
  for (int& y : test) y = train[pick.below(train.size())];
  Rng rng(2);
  const double by_label = random_guess_accuracy(train, test, rng);
  const double by_index = random_guess_accuracy(train, test, rng, true);
  CHECK(by_label == doctest::Approx(0.25 + 0.09 + 0.04).epsilon(0.02));  // Σ p_y²
  CHECK(by_index == doctest::Approx(0.3 * 0.5 + 0.2 * 0.3).epsilon(0.03));  // Σ p_{y} p_{y+1}
}

TEST_CASE("combination accuracies: random guess without flow, the model otherwise") {
  auto net = health(Variant::resilinet);
  Rng rng(11);
  Dataset<double> test{testing::random_tensor<double>(Shape{40, 3}, rng), std::vector<int>(40, 2)};
  const std::vector<int> train(10, 2);  // one class: the guess is always right
  const auto acc = combination_accuracies(*net, test, train);
  REQUIRE(acc.size() == 8);
  CHECK(acc[0] == 1.0);  // no flow → guess "2" → all correct
  CHECK(acc[1] == 1.0);
  CHECK(acc[4] == 1.0);
  FailureEvaluationOptions o;
  o.no_flow_accuracy = 0.001;
  CHECK(combination_accuracies(*net, test, train, o)[0] == 0.001);
  Inference<double> inf;
  const double direct = accuracy(argmax_rows(predict_with(
                                     [&](TensorView<const double> v) { return inf.run(*net, v, FailureMask{1, 1, 1}); },
                                     test.x)),
                                 test.y);
  CHECK(acc[7] == direct);
}

TEST_CASE("the Monte Carlo expected accuracy agrees with exact enumeration") {
  HealthMlpOptions o;
  o.hidden = 16;
  Rng rng(12);
  auto net = build_health_mlp<double>(o, rng);
  // Labels are the all-alive network's own answers: 100% alive, less under failures.
  Dataset<double> test{testing::random_tensor<double>(Shape{400, 23}, rng), {}};
  test.y = argmax_rows(predict(*net, test.x));
  const std::vector<int> train(test.y);
  // Vanilla with early exits: most failure patterns are answered by an exit, in both estimates.
  o.variant = Variant::vanilla;
  auto with_exits = build_health_mlp<double>(o, rng);
  add_exit_heads(*with_exits, Shape{23}, 13, rng);
  FailureEvaluationOptions exact_options;
  exact_options.no_flow_accuracy = 0.05;
  MonteCarloOptions mc;
  mc.samples = 4000;
  mc.batch_size = 32;
  mc.no_flow_accuracy = 0.05;
  for (PartitionedNetwork<double>* scored : {net.get(), with_exits.get()}) {
    const auto acc = combination_accuracies(*scored, test, train, exact_options);
    if (scored == with_exits.get()) CHECK(acc[3] != 0.05);  // [0, 1, 1]: fog1 failed, fog2's exit answers
    for (const std::vector<double>& rel : {std::vector<double>{0.9, 0.8, 0.7}, std::vector<double>{0.5, 0.5, 0.5}}) {
      const double exact = expected_accuracy(acc, rel);
      const AccuracyEstimate e = monte_carlo_expected_accuracy(*scored, test, train, rel, mc);
      MESSAGE(scored->name() << ": exact " << exact << ", Monte Carlo " << e.mean << " [" << e.low << ", " << e.high
                             << "], se " << e.standard_error);
      CHECK(e.standard_error > 0);
      CHECK(e.standard_error < 0.01);
      CHECK(std::abs(e.mean - exact) < 4 * e.standard_error);
      CHECK(e.low < e.mean);
      CHECK(e.mean < e.high);
    }
  }
  CHECK_THROWS_AS(monte_carlo_expected_accuracy(*net, test, train, {0.9, 0.9}, mc), ShapeError);
  CHECK_THROWS_WITH(monte_carlo_expected_accuracy(*net, test, train, {0.9, 1.5, 0.9}, mc),
                    doctest::Contains("reliability must be in [0, 1], got 1.5"));
}

TEST_CASE("partition descriptions reject malformed topologies") {
  PartitionedNetwork<double> net("bad");
  net.add_node("iot", Tier::iot);
  net.add_node("edge", Tier::edge, true);
  CHECK_THROWS_AS(net.add_node("edge", Tier::edge), ValueError);
  CHECK_THROWS_AS(net.add_main_link("edge", "iot", "backwards"), ValueError);
  CHECK_THROWS_AS(net.add_skip("iot", "edge", "s", "nobody"), ValueError);
  CHECK_THROWS_AS(net.set_failout({0.9, 0.9}), ShapeError);
  CHECK_THROWS_AS(net.set_failure_order({"iot"}), ValueError);
  Tape<double> tape;
  Context<double> ctx;
  CHECK_THROWS_AS(net.forward(tape.input(Tensor<double>(Shape{1, 1})), FailureMask{1, 1}, ctx), ShapeError);
}

TEST_CASE("model files carry hyperconnection weights and refuse a differently built network") {
  const std::string path = "resilinet_test_partitioned.rsln";
  auto trained = health(Variant::resilinet, {1, 1, 1}, 4, 1);
  Rng r1(5);
  apply_weight_scheme(*trained, WeightScheme::uniform_0_1, {1, 1, 1}, r1);  // scheme 4
  trained->set_skip_enabled("ef1", false);
  trained->set_failout({0.7, 0.8, 0.9}, FailoutGranularity::per_example);
  save_parameters(*trained, path);
  auto loaded = health(Variant::resilinet, {1, 1, 1}, 4, 2);  // other init, other weights
  Rng r2(6);
  apply_weight_scheme(*loaded, WeightScheme::uniform_0_1, {1, 1, 1}, r2);
  load_parameters(*loaded, path);
  for (std::size_t i = 0; i < trained->links().size(); ++i) {
    CAPTURE(trained->links()[i].key);
    CHECK(loaded->links()[i].weight == trained->links()[i].weight);
    CHECK(loaded->links()[i].enabled == trained->links()[i].enabled);
  }
  CHECK(loaded->describe() == trained->describe());
  Rng rng(7);
  const auto x = testing::random_tensor<double>(Shape{6, 3}, rng);
  Context<double> ctx;
  for (const FailureMask& mask : failure_combinations(3)) {
    Tape<double> t1, t2;
    const auto a = trained->forward(t1.input(x), mask, ctx).value();
    const auto b = loaded->forward(t2.input(x), mask, ctx).value();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
  }
  // A network built differently (DFG: another merge rule) is refused and left untouched.
  auto dfg = health(Variant::dfg, {1, 1, 1}, 4, 3);
  const std::string before = dfg->describe();
  const double w0 = dfg->parameters()[0]->value()[0];
  try {
    load_parameters(*dfg, path);
    FAIL("a DFG network accepted a ResiliNet model file");
  } catch (const FormatError& e) {
    CHECK(std::string(e.what()).find("differs from") != std::string::npos);
  }
  CHECK(dfg->describe() == before);
  CHECK(dfg->parameters()[0]->value()[0] == w0);
  // A plain module refuses a file that describes a partitioned network.
  std::remove(path.c_str());
}
