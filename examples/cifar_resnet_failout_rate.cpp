// cifar_resnet_failout_rate: spec §5.2. The sweep is examples/common/sweeps.cpp's failout_rate().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::cifar_resnet, "cifar_resnet_failout_rate", "cifar_resnet_failout_results{mx}",
       "ResiliNet ResNet-18 expected accuracy per failout survival rate (CIFAR-10)", 0.9, {0.95, 0.9, 0.7, 0.5}},
      examples::failout_rate);
}
