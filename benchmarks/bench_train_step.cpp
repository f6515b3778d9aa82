// One training step of the health-sized MLP (23 → 250 ×11 → 13, batch 1024, Adam).
// Prints samples/s. Run: ./bench_train_step [--threads N] (Catch2 options also apply).
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_ENABLE_BENCHMARKING
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include <resilinet/resilinet.hpp>

#include "bench_main.hpp"

using namespace resilinet;

namespace {

struct HealthMlp {
  Sequential<float> net{"health_mlp"};
  explicit HealthMlp(Rng& rng) {
    std::size_t in = 23;
    for (int i = 0; i < 11; ++i, in = 250)
      net.add<Dense<float>>(in, 250, Activation::relu, rng, "hidden" + std::to_string(i));
    net.add<Dense<float>>(250, 13, Activation::linear, rng, "output");
  }
};

}  // namespace

TEST_CASE("health MLP training step") {
  set_num_threads(bench::threads);
  Rng rng(1);
  HealthMlp model(rng);
  Adam<float> adam(model.net.parameters());
  const std::size_t batch = 1024;
  Tensor<float> x(Shape{batch, 23});
  for (float& v : x) v = float(rng.uniform(-1, 1));
  std::vector<int> y(batch);
  for (int& v : y) v = int(rng.below(13));
  Tape<float> tape;
  Context<float> ctx(Mode::train, 2);
  auto step = [&] {
    tape.clear();
    auto loss = softmax_cross_entropy(model.net(tape.input(x), ctx), y);
    adam.zero_grad();
    tape.backward(loss);
    adam.step();
    return loss.value()[0];
  };
  for (int i = 0; i < 5; ++i) step();  // warm-up: buffers reach steady state
  const int steps = 50;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("health MLP (23->250x11->13, batch %zu, Adam, %d thread%s): %.0f samples/s\n",
              batch, bench::threads, bench::threads == 1 ? "" : "s", double(steps * batch) / s);
  BENCHMARK("train step, batch 1024") { return step(); };
}

int main(int argc, char** argv) { return bench::run(argc, argv); }
