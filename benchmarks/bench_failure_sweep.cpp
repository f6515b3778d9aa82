// Failure sweeps: the accuracy of every failure combination computed with shared work
// (infer_combinations), with one tape-free pass per combination (failed nodes skipped), and
// the cost of as many full all-alive passes as there are combinations with information flow.
// For the camera ResiliNet (32x32 views, 256 combinations, 123 examples) and the health
// ResiliNet (8 combinations, 1073 examples: the test split's size).
// Run: ./bench_failure_sweep [--threads N] (Catch2 options also apply).
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_ENABLE_BENCHMARKING
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include <resilinet/resilinet.hpp>

#include "bench_main.hpp"

using namespace resilinet;

namespace {

/// Prints the best of three interleaved timings of the three ways to sweep `net` over `test`.
void compare_sweeps(const char* name, PartitionedNetwork<float>& net, const Dataset<float>& test) {
  set_num_threads(bench::threads);
  FailureEvaluationOptions shared, naive;
  shared.batch_size = naive.batch_size = 256;
  naive.share_work = false;
  std::size_t with_flow = 0;
  for (const FailureMask& m : failure_combinations(net.num_failable())) with_flow += net.has_information_flow(m);
  const auto time = [](auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const auto sweep = [&](const FailureEvaluationOptions& eo) {
    return time([&] { combination_accuracies(net, test, test.y, eo); });
  };
  Inference<float> inf;  // reused, like the sweeps' own (a fresh one pays its page faults)
  DatasetSource<float> source(test);
  const auto full_passes = [&] {
    return time([&] {
      for (std::size_t i = 0; i < with_flow; ++i)
        evaluate_with([&](TensorView<const float> v) { return inf.run(net, v); }, source, 256);
    });
  };
  sweep(shared);  // warm-up
  double best_shared = 1e9, best_naive = 1e9, best_full = 1e9;
  for (int r = 0; r < 3; ++r) {
    best_full = std::min(best_full, full_passes());
    best_naive = std::min(best_naive, sweep(naive));
    best_shared = std::min(best_shared, sweep(shared));
  }
  std::printf("%s sweep (%zu combinations, %zu with flow, %zu examples, %d thread%s): %zu full passes "
              "%.3f s, one pass per combination %.3f s, shared work %.3f s = %.2f of the full passes\n",
              name, std::size_t(1) << net.num_failable(), with_flow, test.size(), bench::threads,
              bench::threads == 1 ? "" : "s", with_flow, best_full, best_naive, best_shared,
              best_shared / best_full);
}

}  // namespace

TEST_CASE("camera failure sweep") {
  Rng rng(1);
  CameraMlpOptions o;
  auto net = build_camera_mlp<float>(o, rng);
  Dataset<float> test;
  test.x = Tensor<float>(Shape{123, 6, 32, 32, 3});
  for (float& v : test.x) v = float(rng.uniform());
  for (int i = 0; i < 123; ++i) test.y.push_back(i % 3);
  compare_sweeps("camera", *net, test);
  FailureEvaluationOptions shared;
  BENCHMARK("camera shared-work sweep") { return combination_accuracies(*net, test, test.y, shared); };
}

TEST_CASE("health failure sweep") {
  Rng rng(1);
  HealthMlpOptions o;
  auto net = build_health_mlp<float>(o, rng);
  Dataset<float> test;
  test.x = Tensor<float>(Shape{1073, 23});
  for (float& v : test.x) v = float(rng.uniform());
  for (int i = 0; i < 1073; ++i) test.y.push_back(1 + i % 12);
  compare_sweeps("health", *net, test);
}

int main(int argc, char** argv) { return bench::run(argc, argv); }
