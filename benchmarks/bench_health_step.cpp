// The health network of the paper (deepFogGuard variant, partition 1: edge ReLU 23→250 plus
// the linear IoT skip 23→250, nine ReLU 250→250 on fog2, fog1 and cloud, output 250→13, with
// every hyperconnection summed): Adam training steps at batch 1024, tape-free inference at
// batch 1024 and at batch 1. torch_reference.py --model health runs the same layers.
// Run: ./bench_health_step [--threads N] [--seconds S] (Catch2 options also apply);
// ./bench_health_step "[profile]" only trains, for --seconds, to run under `perf record`.
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_ENABLE_BENCHMARKING
#include <catch2/catch.hpp>

#include "bench_main.hpp"
#include "step_timer.hpp"

using namespace resilinet;

TEST_CASE("health network: training and inference") {
  set_num_threads(bench::threads);
  Rng rng(1);
  HealthMlpOptions o;
  o.variant = Variant::dfg;
  auto net = build_health_mlp<float>(o, rng);
  bench::print_rates("health", bench::threads,
                     bench::time_model(*net, Shape{23}, 13, 1024, bench::seconds));
  Tensor<float> x(Shape{1, 23}, 0.5f);
  Inference<float> inf;
  BENCHMARK("tape-free inference, batch 1") { return inf.run(*net, x.view())[0]; };
}

TEST_CASE("health network: training steps only, for a profiler", "[.profile]") {
  set_num_threads(bench::threads);
  Rng rng(1);
  HealthMlpOptions o;
  o.variant = Variant::dfg;
  auto net = build_health_mlp<float>(o, rng);
  Tensor<float> x(Shape{1024, 23});
  for (float& v : x) v = float(rng.uniform());
  std::vector<int> y(1024);
  for (int& v : y) v = int(rng.below(13));
  Adam<float> adam(net->parameters());
  Tape<float> tape;
  Context<float> ctx(Mode::train, 1);
  const double s = bench::seconds_per_call(
      [&] {
        tape.clear();
        auto loss = softmax_cross_entropy(net->forward(tape.input(x), ctx), y);
        adam.zero_grad();
        tape.backward(loss);
        adam.step();
      },
      2, bench::seconds);
  std::printf("training step: %.2f ms (%.0f samples/s)\n", 1e3 * s, 1024 / s);
}

int main(int argc, char** argv) { return bench::run(argc, argv); }
