// The failure sweep of the camera experiment: accuracy of all 256 combinations of the camera
// ResiliNet (32x32 views, 32 units) on 123 examples, computed with shared work
// (forward_combinations) and with one forward pass per combination. Prints both times and
// their ratio. Run: ./bench_failure_sweep [--threads N] (Catch2 options also apply).
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_ENABLE_BENCHMARKING
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include <resilinet/resilinet.hpp>

#include "bench_main.hpp"

using namespace resilinet;

TEST_CASE("camera failure sweep: shared work against one pass per combination") {
  set_num_threads(bench::threads);
  Rng rng(1);
  CameraMlpOptions o;
  auto net = build_camera_mlp<float>(o, rng);
  Dataset<float> test;
  test.x = Tensor<float>(Shape{123, 6, 32, 32, 3});
  for (float& v : test.x) v = float(rng.uniform());
  for (int i = 0; i < 123; ++i) test.y.push_back(i % 3);
  FailureEvaluationOptions shared, naive;
  shared.batch_size = naive.batch_size = 256;
  naive.share_work = false;
  auto seconds = [&](const FailureEvaluationOptions& eo) {
    const auto t0 = std::chrono::steady_clock::now();
    combination_accuracies(*net, test, test.y, eo);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  seconds(shared);  // warm-up
  double best_shared = 1e9, best_naive = 1e9;
  for (int r = 0; r < 3; ++r) {  // interleaved, best of three
    best_naive = std::min(best_naive, seconds(naive));
    best_shared = std::min(best_shared, seconds(shared));
  }
  std::printf("camera sweep (256 combinations, 157 with flow, 123 examples, %d thread%s): "
              "one pass per combination %.3f s, shared work %.3f s, ratio %.2fx\n",
              bench::threads, bench::threads == 1 ? "" : "s", best_naive, best_shared, best_naive / best_shared);
  BENCHMARK("shared-work sweep") { return combination_accuracies(*net, test, test.y, shared); };
}

int main(int argc, char** argv) { return bench::run(argc, argv); }
