// Shared by the CNN step benchmarks: time training steps and inference of a model on random
// CIFAR-sized data, in one process, after warm-up, and print images/s.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include <resilinet/resilinet.hpp>

namespace bench {

/// Seconds per call of `f`, averaged over `reps` calls after `warmup` calls.
inline double seconds_per_call(const std::function<void()>& f, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) f();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

/// What one benchmark run measured.
struct StepRates {
  double train_images_per_s = 0;  ///< training, batch `batch`
  double infer_images_per_s = 0;  ///< inference, batch `batch`
  double infer_ms_batch1 = 0;     ///< inference latency at batch 1
};

/// Times Adam training steps and inference of `model` on random (batch, 32, 32, 3) inputs.
inline StepRates time_model(resilinet::Module<float>& model, std::size_t batch, int reps) {
  using namespace resilinet;
  Rng rng(7);
  Tensor<float> x(Shape{batch, 32, 32, 3}), x1(Shape{1, 32, 32, 3});
  for (float& v : x) v = float(rng.uniform());
  for (float& v : x1) v = float(rng.uniform());
  std::vector<int> y(batch);
  for (int& v : y) v = int(rng.below(10));
  Adam<float> adam(model.parameters());
  Tape<float> tape;
  Context<float> train(Mode::train, 1), infer(Mode::infer);
  StepRates r;
  const double train_s = seconds_per_call(
      [&] {
        tape.clear();
        auto loss = softmax_cross_entropy(model.forward(tape.input(x), train), y);
        adam.zero_grad();
        tape.backward(loss);
        adam.step();
      },
      2, reps);
  r.train_images_per_s = double(batch) / train_s;
  const double infer_s = seconds_per_call(
      [&] {
        tape.clear();
        model.forward(tape.input(x), infer);
      },
      2, reps * 2);
  r.infer_images_per_s = double(batch) / infer_s;
  r.infer_ms_batch1 = 1e3 * seconds_per_call(
                                [&] {
                                  tape.clear();
                                  model.forward(tape.input(x1), infer);
                                },
                                5, 50);
  return r;
}

/// Prints one line per measurement, in a form compare_pytorch.sh reads.
inline void print_rates(const char* model, int threads, const StepRates& r) {
  std::printf("resilinet %s threads=%d train_img_s=%.1f infer_img_s=%.1f infer_ms_b1=%.3f\n", model,
              threads, r.train_images_per_s, r.infer_images_per_s, r.infer_ms_batch1);
  std::fflush(stdout);
}

}  // namespace bench
