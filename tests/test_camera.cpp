// The camera experiment's pieces: multi-view grouping, input slots, the camera MLP's
// reachability, weight normalisation per group and gradients through its muxes.
#include <doctest/doctest.h>

#include "helpers.hpp"

using namespace resilinet;

namespace {

std::unique_ptr<PartitionedNetwork<double>> camera(Variant v, std::vector<bool> skips = std::vector<bool>(7, true),
                                                   std::size_t size = 2, std::size_t hidden = 3) {
  CameraMlpOptions o;
  o.variant = v;
  o.skips = skips;
  o.image_size = size;
  o.hidden = hidden;
  Rng rng(5);
  return build_camera_mlp<double>(o, rng);
}

std::size_t no_flow_count(const PartitionedNetwork<double>& net) {
  std::size_t n = 0;
  for (const FailureMask& m : failure_combinations(net.num_failable())) n += !net.has_information_flow(m);
  return n;
}

}  // namespace

TEST_CASE("multi-view grouping gives the counts of spec 6.4 for both groupings") {
  const std::string dir = testing::shared_data("multiview");
  if (dir.empty()) return;
  struct Expect {
    const char* split;
    bool reference;
    int n, person, car, bus;
  };
  const Expect expected[] = {{"train_dir", false, 1110, 290, 813, 7}, {"test_dir", false, 146, 46, 98, 2},
                             {"holdout_dir", false, 123, 33, 89, 1},  {"train_dir", true, 1094, 286, 801, 7},
                             {"test_dir", true, 145, 45, 98, 2},      {"holdout_dir", true, 123, 33, 89, 1}};
  for (const Expect& e : expected) {
    MultiviewOptions o;
    o.reference_grouping = e.reference;
    const auto groups = group_multiview(dir + "/" + e.split, o);
    int count[3] = {0, 0, 0};
    for (const auto& g : groups) ++count[g.second];
    CAPTURE(e.split);
    CAPTURE(e.reference);
    CHECK(int(groups.size()) == e.n);
    CHECK(count[0] == e.person);
    CHECK(count[1] == e.car);
    CHECK(count[2] == e.bus);
    if (!e.reference)  // the corrected grouping: one object of one frame, views in camera order
      for (const auto& g : groups)
        for (int k = 0; k < 6; ++k) {
          const std::string name = g.first[std::size_t(k)].substr(g.first[std::size_t(k)].rfind('/') + 1);
          REQUIRE(name.substr(0, 2) == "c" + std::to_string(k));
          REQUIRE(name.substr(2) == g.first[0].substr(g.first[0].rfind('/') + 3));
        }
  }
  const auto holdout = load_multiview<float>(dir + "/holdout_dir");
  CHECK(holdout.x.shape() == Shape{123, 6, 32, 32, 3});
  MultiviewOptions bgr;
  bgr.bgr = true;
  const auto swapped = load_multiview<float>(dir + "/holdout_dir", bgr);
  CHECK(swapped.x[0] == holdout.x[2]);
  CHECK(swapped.x[2] == holdout.x[0]);
  CHECK(*std::max_element(holdout.x.begin(), holdout.x.end()) <= 1.0f);
  CHECK_THROWS_AS(load_multiview<float>(dir), IoError);  // no <class>_images folders there
}

TEST_CASE("take picks one slot of an axis and scatters its gradient back") {
  Rng rng(1);
  Parameter<double> x = testing::param("x", Shape{2, 3, 4}, rng);
  const Tensor<double> zero(Shape{2, 3, 4});
  auto taken = [&](Tape<double>& t, std::size_t index) { return take(add(Var<double>(x), t.input(zero.view())), 1, index); };
  Tape<double> t;
  const Var<double> y = taken(t, 2);
  CHECK(y.shape() == Shape{2, 4});
  CHECK(y.value()[5] == x.value()[1 * 12 + 2 * 4 + 1]);
  CHECK_THROWS_AS(taken(t, 3), ShapeError);
  CHECK_THROWS_AS(take(Var<double>(x), 1, 0), ValueError);  // not on a tape
  const auto r = testing::random_tensor<double>(Shape{2, 4}, rng);
  testing::expect_gradients("take", [&](Tape<double>& tape) { return testing::project(taken(tape, 1), r); }, {&x});
}

TEST_CASE("the camera MLP's reachability gives the no-flow counts of spec 2.6") {
  CHECK(no_flow_count(*camera(Variant::vanilla)) == 219);
  CHECK(no_flow_count(*camera(Variant::resilinet)) == 99);
  const std::vector<std::string> configs{"1111000", "1000001", "1000100", "0000101",
                                         "0000001", "0000011", "1111001", "1111111"};
  const std::size_t expected[] = {127, 158, 158, 201, 207, 201, 111, 99};
  for (std::size_t c = 0; c < configs.size(); ++c) {
    std::vector<bool> skips;
    for (char b : configs[c]) skips.push_back(b == '1');
    CAPTURE(configs[c]);
    CHECK(no_flow_count(*camera(Variant::resilinet, skips)) == expected[c]);
  }
}

TEST_CASE("camera weight scheme 2 normalises each destination's group by its own sum") {
  auto net = camera(Variant::resilinet);
  const std::vector<double> r{0.95, 0.95, 0.9, 0.9, 0.8, 0.8, 0.75, 0.75};  // f1..f4, e1..e4
  Rng rng(1);
  apply_weight_scheme(*net, WeightScheme::normalized_reliability, r, rng);
  const double fog2 = 0.9 + 0.9 + 0.8 + 0.8 + 0.75 + 0.75;
  CHECK(testing::link_weight(*net, "e1f2") == doctest::Approx(0.8 / fog2));
  CHECK(testing::link_weight(*net, "f3f2") == doctest::Approx(0.9 / fog2));
  CHECK(testing::link_weight(*net, "e4f2") == doctest::Approx(0.75 / fog2));
  CHECK(testing::link_weight(*net, "f3f1") == doctest::Approx(0.9 / (0.95 + 0.9 + 0.9)));
  CHECK(testing::link_weight(*net, "f2f1") == doctest::Approx(0.95 / (0.95 + 0.9 + 0.9)));
  CHECK(testing::link_weight(*net, "e2f4") == doctest::Approx(0.8 / (0.8 + 0.75 + 0.75)));
  CHECK(testing::link_weight(*net, "f1c") == doctest::Approx(0.95 / (0.95 + 0.95)));
  CHECK(testing::link_weight(*net, "e1f3") == 1.0);
  net->set_skip_enabled("e1f2", false);  // switched off: 0, the others not renormalised
  apply_weight_scheme(*net, WeightScheme::normalized_reliability, r, rng);
  CHECK(testing::link_weight(*net, "e1f2") == 0.0);
  CHECK(testing::link_weight(*net, "f3f2") == doctest::Approx(0.9 / fog2));
}

TEST_CASE("gradients through the camera network's muxes with failed nodes match finite differences") {
  for (Variant v : {Variant::resilinet, Variant::dfg, Variant::vanilla}) {
    auto net = camera(v);
    Rng rng(2);
    // Random biases too: with Keras's zero biases a row whose units are all dead puts the next
    // ReLU exactly on its kink, where finite differences read 1/2 and autodiff 0.
    for (Parameter<double>* p : net->parameters())
      for (double& w : p->mutable_value()) w = rng.uniform(-1, 1);
    const auto x = testing::random_tensor<double>(Shape{3, 6, 2, 2, 3}, rng);
    const std::vector<int> y{0, 1, 2};
    for (const std::string bits : {"11111111", "10101101", "01110011"}) {
      FailureMask mask;
      for (char b : bits) mask.push_back(b == '1');
      if (!net->has_information_flow(mask)) continue;
      Context<double> ctx;
      const GradCheckResult r = check_gradients<double>(
          [&](Tape<double>& t) { return softmax_cross_entropy(net->forward(t.input(x), mask, ctx), y); },
          net->parameters());
      CAPTURE(to_string(v));
      CAPTURE(bits);
      CAPTURE(r.worst);
      CHECK(r.checked > 0);
      CHECK(r.max_error < 1e-6);
    }
  }
  // The packed input must have the six camera slots.
  auto net = camera(Variant::resilinet);
  Tape<double> t;
  Context<double> ctx;
  Tensor<double> wrong(Shape{1, 4, 2, 2, 3});
  CHECK_THROWS_AS(net->forward(t.input(wrong.view()), ctx), ShapeError);
}

TEST_CASE("the shared-work failure sweep equals one forward pass per combination, exactly") {
  Rng rng(7);
  std::vector<std::unique_ptr<PartitionedNetwork<double>>> nets;
  for (Variant v : {Variant::resilinet, Variant::dfg, Variant::vanilla})
    nets.push_back(camera(v, std::vector<bool>(7, true), 4, 4));
  nets.push_back(camera(Variant::resilinet, {true, false, false, false, true, true, false}, 4, 4));
  {
    HealthMlpOptions o;
    o.in_features = 6;
    o.hidden = 5;
    o.classes = 3;
    o.resilinet_rule = MergeRule::mux_batch_sum;  // the reference's value-based mux too
    nets.push_back(build_health_mlp<double>(o, rng));
  }
  for (auto& net : nets) {
    for (Parameter<double>* p : net->parameters())
      for (double& w : p->mutable_value()) w = rng.uniform(-1, 1);
    const bool camera_net = net->num_failable() == 8;
    Dataset<double> test;
    test.x = testing::random_tensor<double>(camera_net ? Shape{20, 6, 4, 4, 3} : Shape{20, 6}, rng);
    for (int i = 0; i < 20; ++i) test.y.push_back(i % 3);
    FailureEvaluationOptions naive, shared;
    naive.share_work = false;
    naive.batch_size = shared.batch_size = 7;  // several batches, the last one short
    const std::vector<int> train_labels{0, 1, 2, 2};
    const auto a = combination_accuracies(*net, test, train_labels, naive);
    const auto b = combination_accuracies(*net, test, train_labels, shared);
    CAPTURE(net->name());
    CHECK(a == b);
    // The logits themselves, for every combination with flow, against forward(x, mask).
    Tape<double> tape;
    Context<double> ctx;
    Inference<double> inf;
    std::size_t visited = 0;
    net->infer_combinations(test.x.view(), inf, [&](const FailureMask& m, TensorView<const double> logits) {
      ++visited;
      tape.clear();
      const Var<double> direct = net->forward(tape.input(test.x.view()), m, ctx);
      REQUIRE(direct.shape() == logits.shape());
      for (std::size_t i = 0; i < logits.size(); ++i) REQUIRE(direct.value()[i] == logits[i]);
    });
    std::size_t with_flow = 0;
    for (const FailureMask& m : failure_combinations(net->num_failable())) with_flow += net->has_information_flow(m);
    CHECK(visited == with_flow);
  }
}
