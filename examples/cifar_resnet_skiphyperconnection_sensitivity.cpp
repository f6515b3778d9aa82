// cifar_resnet_skiphyperconnection_sensitivity: spec §5.4. The sweep is examples/common/sweeps.cpp's skiphyperconnection_sensitivity().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::cifar_resnet, "cifar_resnet_skiphyperconnection_sensitivity", "cifar_resnet_skiphyperconnection_sensitivity_results{mx}",
       "ResiliNet ResNet-18 per skip-hyperconnection pattern, failout 0.95 (CIFAR-10)", 0.95},
      examples::skiphyperconnection_sensitivity);
}
