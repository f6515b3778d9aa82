// Tape-free inference (Module::infer through Inference::run): every built-in layer and every
// partitioned network gives exactly what forward() gives in inference mode, under every
// failure mask, and a steady-state call allocates nothing.
#include <doctest/doctest.h>

#include <thread>

#include "helpers.hpp"

using namespace resilinet;

namespace {

/// forward() in inference mode on a fresh tape.
template <class T, class... Mask>
Tensor<T> taped(Module<T>& m, const Tensor<T>& x, const Mask&... mask) {
  Tape<T> tape;
  Context<T> ctx(Mode::infer);
  Tensor<T> out;
  if constexpr (sizeof...(Mask) == 0)
    out.assign(m.forward(tape.input(x.view()), ctx).value());
  else
    out.assign(static_cast<PartitionedNetwork<T>&>(m).forward(tape.input(x.view()), mask..., ctx).value());
  return out;
}

/// Exact equality of shape and every element.
template <class T>
bool same(TensorView<const T> a, TensorView<const T> b) {
  return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

/// A module without a tape-free path of its own: y = 2x through the tape.
struct Doubler : Module<double> {
  Doubler() : Module<double>("doubler") {}
  Var<double> forward(Var<double> x, Context<double>&) override { return multiply(x, 2.0); }
};

}  // namespace

TEST_CASE("every built-in layer infers exactly what forward() gives in inference mode") {
  Rng rng(3);
  const auto conv = [](std::size_t k, std::size_t s, Padding p) {
    return Conv2DOptions().with_kernel(k).with_stride(s).with_padding(p);
  };
  std::vector<std::pair<std::unique_ptr<Module<double>>, Shape>> cases;
  auto add = [&](Module<double>* m, Shape in) { cases.emplace_back(std::unique_ptr<Module<double>>(m), in); };
  add(new Dense<double>(5, 4, Activation::relu, rng), Shape{3, 5});
  add(new Dense<double>(5, 4, Activation::relu6, rng, "no_bias", false), Shape{2, 3, 5});
  add(new ActivationLayer<double>(Activation::relu6), Shape{4, 6});
  add(new Dropout<double>(0.5), Shape{4, 6});
  add(new Flatten<double>(), Shape{2, 3, 4});
  add(new Reshape<double>(Shape{6, 2}), Shape{2, 3, 4});
  add(new Conv2D<double>(3, 4, conv(3, 2, Padding::same), rng), Shape{2, 7, 6, 3});
  add(new Conv2D<double>(3, 4, conv(1, 1, Padding::valid), rng), Shape{2, 5, 5, 3});
  add(new Conv2D<double>(3, 2, conv(3, 1, Padding::valid).with_bias(false), rng), Shape{1, 6, 6, 3});
  add(new DepthwiseConv2D<double>(3, 3, 2, Padding::same, rng), Shape{2, 7, 7, 3});
  add(new MaxPool2D<double>(3, 2, Padding::same), Shape{2, 7, 7, 3});
  add(new GlobalAveragePooling2D<double>(), Shape{2, 4, 5, 3});
  add(new ZeroPadding2D<double>(0, 1, 2, 1), Shape{2, 3, 3, 2});
  auto* bn = new BatchNorm<double>(3, "bn", BatchNormOptions{0.99, 1e-3, Activation::relu});
  for (double& v : bn->moving_mean().mutable_value()) v = rng.uniform(-1, 1);
  for (double& v : bn->moving_variance().mutable_value()) v = rng.uniform(0.5, 2);
  for (double& v : bn->gamma().mutable_value()) v = rng.uniform(0.5, 2);
  add(bn, Shape{2, 4, 4, 3});
  auto* block = new ResidualBlock<double>("block");
  block->residual().add<Conv2D<double>>(3, 3, conv(3, 1, Padding::same), rng);
  block->residual().add<ActivationLayer<double>>(Activation::relu);
  block->shortcut().add<Conv2D<double>>(3, 3, conv(1, 1, Padding::valid), rng);
  add(block, Shape{2, 5, 5, 3});
  auto* seq = new Sequential<double>("seq");
  seq->add<Conv2D<double>>(3, 4, conv(3, 2, Padding::same), rng);
  seq->add<BatchNorm<double>>(4);
  seq->add<GlobalAveragePooling2D<double>>();
  seq->add<Dense<double>>(4, 2, Activation::linear, rng);
  add(seq, Shape{3, 6, 6, 3});
  add(new Doubler(), Shape{2, 3});  // no infer() of its own: recorded on the fallback tape

  Inference<double> inf;
  for (auto& [module, shape] : cases) {
    CAPTURE(module->name());
    const Tensor<double> x = testing::random_tensor<double>(shape, rng);
    const Tensor<double> expected = taped(*module, x);
    CHECK(same<double>(inf.run(*module, x.view()), expected.view()));
    CHECK(same<double>(inf.run(*module, x.view()), expected.view()));  // reused buffers
  }
}

TEST_CASE("tape-free layers reject inputs of the wrong shape by name") {
  Rng rng(1);
  Inference<float> inf;
  Dense<float> dense(5, 4, Activation::relu, rng, "d");
  Tensor<float> x(Shape{2, 6});
  CHECK_THROWS_WITH_AS(inf.run(dense, x.view()), doctest::Contains("cannot multiply input (2, 6)"),
                       ShapeError);
  Conv2D<float> conv(3, 2, Conv2DOptions(), rng);
  CHECK_THROWS_AS(inf.run(conv, Tensor<float>(Shape{1, 5, 5, 2}).view()), ShapeError);
  BatchNorm<float> bn(3, "bn3");
  CHECK_THROWS_WITH_AS(inf.run(bn, x.view()), doctest::Contains("bn3"), ShapeError);
}

TEST_CASE("partitioned networks infer exactly forward(x, mask) under every failure combination") {
  Rng rng(9);
  for (Variant v : {Variant::vanilla, Variant::dfg, Variant::resilinet, Variant::resilinet_plus}) {
    for (MergeRule rule : {MergeRule::mux, MergeRule::sum, MergeRule::mux_legacy, MergeRule::mux_batch_sum}) {
      if (v != Variant::resilinet && rule != MergeRule::mux) continue;
      CAPTURE(to_string(v));
      CAPTURE(int(rule));
      HealthMlpOptions o;
      o.variant = v;
      o.resilinet_rule = rule;
      o.hidden = 7;
      Rng init(2);
      auto net = build_health_mlp<double>(o, init);
      const Tensor<double> x = testing::random_tensor<double>(Shape{5, 23}, rng);
      Inference<double> inf;
      for (const FailureMask& mask : failure_combinations(net->num_failable())) {
        CAPTURE(to_string(mask));
        CHECK(same<double>(inf.run(*net, x.view(), mask), taped(*net, x, mask).view()));
      }
      CHECK(same<double>(inf.run(*net, x.view()), taped(*net, x).view()));
    }
  }
  // Input slots and 8 failable nodes: the camera ResiliNet on 2x2 views.
  CameraMlpOptions c;
  c.image_size = 2;
  c.hidden = 3;
  Rng init(5);
  auto camera = build_camera_mlp<double>(c, init);
  const Tensor<double> views = testing::random_tensor<double>(Shape{3, 6, 2, 2, 3}, rng);
  Inference<double> inf;
  std::size_t checked = 0;
  for (const FailureMask& mask : failure_combinations(camera->num_failable())) {
    CAPTURE(to_string(mask));
    checked += same<double>(inf.run(*camera, views.view(), mask), taped(*camera, views, mask).view());
  }
  CHECK(checked == 256);
}

TEST_CASE("the partitioned CNNs infer exactly forward(x, mask), skip convolutions and padding included") {
  Rng rng(4);
  for (bool mobilenet : {true, false}) {
    CAPTURE(mobilenet);
    std::unique_ptr<PartitionedNetwork<float>> net;
    Rng init(1);
    if (mobilenet) {
      PartitionedMobileNetOptions o;
      o.net.alpha = 0.25;
      net = build_partitioned_mobilenet<float>(o, init);
    } else {
      PartitionedResNetOptions o;
      net = build_partitioned_resnet<float>(o, init);
    }
    const Tensor<float> x = testing::random_tensor<float>(Shape{2, 32, 32, 3}, rng);
    Inference<float> inf;
    for (const FailureMask& mask : failure_combinations(net->num_failable())) {
      CAPTURE(to_string(mask));
      CHECK(same<float>(inf.run(*net, x.view(), mask), taped(*net, x, mask).view()));
    }
  }
}

TEST_CASE("tape-free inference allocates nothing once its buffers are sized") {
  Rng init(2);
  HealthMlpOptions o;
  auto net = build_health_mlp<float>(o, init);
  const Tensor<float> x = testing::random_tensor<float>(Shape{1, 23}, init);
  Inference<float> inf;
  const FailureMask edge_down{1, 1, 0};
  inf.run(*net, x.view());
  inf.run(*net, x.view(), edge_down);
  CHECK(testing::allocations_during([&] {
          for (int i = 0; i < 10; ++i) {
            inf.run(*net, x.view());
            inf.run(*net, x.view(), edge_down);
          }
        }) == 0);
  CHECK_THROWS_WITH_AS(inf.run(*net, x.view(), FailureMask{1, 0}),
                       doctest::Contains("failure mask of 2 bits for 3 failable nodes"), ShapeError);
}

TEST_CASE("threads share one network for inference, each with its own Inference") {
  // infer() is const and keeps no state of a pass on the network: node outputs and the shape
  // memo live in the Inference. Four threads run every failure combination of the same
  // networks (masked passes, the shared depth-first sweep, the zeros of a failed output node)
  // and must get bit-for-bit what one thread got. tsan_shared_inference runs this under
  // ThreadSanitizer.
  Rng init(5);
  PartitionedMobileNetOptions mo;
  mo.net.alpha = 0.25;
  const auto mobilenet = build_partitioned_mobilenet<float>(mo, init);
  HealthMlpOptions ho;
  ho.variant = Variant::dfg;
  const auto health = build_health_mlp<float>(ho, init);
  const Tensor<float> image = testing::random_tensor<float>(Shape{3, 32, 32, 3}, init);
  const Tensor<float> rows = testing::random_tensor<float>(Shape{5, 23}, init);

  // Every output of one pass over both networks, flattened.
  const auto pass = [&](Inference<float>& inf) {
    std::vector<float> all;
    const auto keep = [&](TensorView<const float> y) { all.insert(all.end(), y.begin(), y.end()); };
    for (const FailureMask& mask : failure_combinations(mobilenet->num_failable()))
      keep(inf.run(*mobilenet, image.view(), mask));
    for (const FailureMask& mask : failure_combinations(health->num_failable()))
      keep(inf.run(*health, rows.view(), mask));
    inf.reset();
    mobilenet->infer_combinations(image.view(), inf, [&](const FailureMask&, TensorView<const float> y) { keep(y); });
    return all;
  };
  Inference<float> alone;
  const std::vector<float> expected = pass(alone);
  REQUIRE(expected.size() > 0);

  constexpr int threads = 4, rounds = 3;
  std::vector<int> equal(threads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      Inference<float> inf;
      for (int r = 0; r < rounds; ++r) equal[t] += pass(inf) == expected;
    });
  for (auto& th : pool) th.join();
  for (int t = 0; t < threads; ++t) CHECK(equal[t] == rounds);
}
