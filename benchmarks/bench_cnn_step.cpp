// One training step (Adam, batch 128) and inference (batch 128 and 1) of a CIFAR CNN: built
// as bench_mobilenet_step (MobileNet v1, alpha 0.75, 32x32, stride-1 stem) and, with
// RESILINET_BENCH_RESNET, as bench_resnet_step (ResNet-18 v2 of spec 3.3).
// Prints images/s. Run: ./bench_mobilenet_step [--threads N] [--seconds S] (Catch2 options apply).
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_ENABLE_BENCHMARKING
#include <catch2/catch.hpp>

#include "bench_main.hpp"
#include "step_timer.hpp"

using namespace resilinet;

namespace {
#ifdef RESILINET_BENCH_RESNET
const char* const kModel = "resnet";
std::unique_ptr<Sequential<float>> build(Rng& rng) { return build_resnet<float>(ResNetOptions{}, rng); }
#else
const char* const kModel = "mobilenet";
std::unique_ptr<Sequential<float>> build(Rng& rng) { return build_mobilenet<float>(MobileNetOptions{}, rng); }
#endif
}  // namespace

TEST_CASE("training and inference steps") {
  set_num_threads(bench::threads);
  Rng rng(1);
  auto model = build(rng);
  bench::print_rates(kModel, bench::threads,
                     bench::time_model(*model, Shape{32, 32, 3}, 10, 128, bench::seconds));
  Tensor<float> x(Shape{128, 32, 32, 3}, 0.5f);
  std::vector<int> y(128, 3);
  Adam<float> adam(model->parameters());
  Tape<float> tape;
  Context<float> ctx(Mode::train, 1);
  BENCHMARK("train step, batch 128") {
    tape.clear();
    auto loss = softmax_cross_entropy(model->forward(tape.input(x), ctx), y);
    adam.zero_grad();
    tape.backward(loss);
    adam.step();
    return loss.value()[0];
  };
}

int main(int argc, char** argv) { return bench::run(argc, argv); }
