// libFuzzer target: model files (load_parameters into a small health MLP, which also checks the
// stored network description, and load_network, which rebuilds the network from it).
#include <resilinet/io/load_network.hpp>
#include <resilinet/io/model_file.hpp>
#include <resilinet/models/health_mlp.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto net = [] {
    resilinet::HealthMlpOptions o;
    o.in_features = 3;
    o.hidden = 4;
    o.classes = 2;
    resilinet::Rng rng(1);
    return resilinet::build_health_mlp<float>(o, rng);
  }();
  const std::string path = fuzz::write_input(data, size, "input.rsln");
  fuzz::expect_clean([&] { resilinet::load_parameters(*net, path); });
  fuzz::expect_clean([&] { resilinet::load_network<float>(path); });
  return 0;
}
