// cifar_mobilenet_failout_rate: spec §5.2. The sweep is examples/common/sweeps.cpp's failout_rate().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::cifar_mobilenet, "cifar_mobilenet_failout_rate", "cifar_failout_results{mx}",
       "ResiliNet MobileNet expected accuracy per failout survival rate (CIFAR-10)", 0.9, {0.95, 0.9, 0.7, 0.5}},
      examples::failout_rate);
}
