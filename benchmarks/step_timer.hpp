// Shared by the step benchmarks: time Adam training steps, tape-free inference at the
// training batch and at batch 1 (plus batch 1 through the tape, for comparison) of a model
// on random data, in one process after warm-up, and print one line compare_pytorch.sh reads.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

#include <resilinet/resilinet.hpp>

namespace bench {

/// Seconds per call of `f`, averaged over as many calls as fit in `budget` seconds (at least
/// three) after `warmup` calls.
inline double seconds_per_call(const std::function<void()>& f, int warmup, double budget) {
  for (int i = 0; i < warmup; ++i) f();
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  long calls = 0;
  while (calls < 3 || elapsed < budget) {
    f();
    ++calls;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return elapsed / double(calls);
}

/// What one benchmark run measured.
struct StepRates {
  double train_per_s = 0;  ///< examples/s of Adam training steps at the benchmark's batch
  double infer_per_s = 0;  ///< examples/s of tape-free inference at the same batch
  double infer_us_b1 = 0;  ///< tape-free inference latency at batch 1, microseconds
  double tape_us_b1 = 0;   ///< the same through forward() on a tape, microseconds
  double gemm_us_b1 = 0;   ///< the batch-1 products of every dense kernel alone, microseconds
};

/// Times `model` on random inputs of shape (batch, example...) with labels below `classes`;
/// each measurement runs for about `budget` seconds.
inline StepRates time_model(resilinet::Module<float>& model, const resilinet::Shape& example,
                            std::size_t classes, std::size_t batch, double budget) {
  using namespace resilinet;
  Rng rng(7);
  Tensor<float> x(example.prepend(batch)), x1(example.prepend(1));
  for (float& v : x) v = float(rng.uniform());
  for (float& v : x1) v = float(rng.uniform());
  std::vector<int> y(batch);
  for (int& v : y) v = int(rng.below(classes));
  Adam<float> adam(model.parameters());
  Tape<float> tape;
  Context<float> train(Mode::train, 1), infer(Mode::infer);
  Inference<float> inf;
  StepRates r;
  r.train_per_s = double(batch) / seconds_per_call(
                                      [&] {
                                        tape.clear();
                                        auto loss = softmax_cross_entropy(
                                            model.forward(tape.input(x), train), y);
                                        adam.zero_grad();
                                        tape.backward(loss);
                                        adam.step();
                                      },
                                      2, budget);
  r.infer_per_s = double(batch) / seconds_per_call([&] { inf.run(model, x.view()); }, 2, budget);
  r.infer_us_b1 = 1e6 * seconds_per_call([&] { inf.run(model, x1.view()); }, 20, budget);
  r.tape_us_b1 = 1e6 * seconds_per_call(
                           [&] {
                             tape.clear();
                             model.forward(tape.input(x1), infer);
                           },
                           20, budget);
  // The floor of batch-1 inference for a dense network: one row times every rank-2 kernel,
  // nothing else (reading the weights is most of the latency).
  std::vector<const Tensor<float>*> kernels;
  std::size_t widest = 1;
  for (Parameter<float>* p : model.parameters())
    if (p->value().rank() == 2) {
      kernels.push_back(&p->value());
      widest = std::max({widest, p->value().dim(0), p->value().dim(1)});
    }
  std::vector<float> in(widest, 0.5f), out(widest);
  r.gemm_us_b1 = 1e6 * seconds_per_call(
                           [&] {
                             for (const Tensor<float>* k : kernels)
                               gemm(Trans::no, Trans::no, 1, k->dim(1), k->dim(0), 1.0f, in.data(),
                                    k->dim(0), k->data(), k->dim(1), 0.0f, out.data(), k->dim(1));
                           },
                           20, budget);
  return r;
}

/// Prints one line per measurement, in a form compare_pytorch.sh reads.
inline void print_rates(const char* model, int threads, const StepRates& r) {
  std::printf("resilinet %s threads=%d train_ex_s=%.1f infer_ex_s=%.1f infer_us_b1=%.1f "
              "tape_us_b1=%.1f gemm_us_b1=%.1f\n",
              model, threads, r.train_per_s, r.infer_per_s, r.infer_us_b1, r.tape_us_b1, r.gemm_us_b1);
  std::fflush(stdout);
}

}  // namespace bench
