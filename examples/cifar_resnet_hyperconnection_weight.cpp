// cifar_resnet_hyperconnection_weight: spec §5.3. The sweep is examples/common/sweeps.cpp's hyperconnection_weight().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::cifar_resnet, "cifar_resnet_hyperconnection_weight", "cifar_resnet_hyperconnection_weight_results{mx}",
       "ResiliNet ResNet-18 expected accuracy per weight scheme, failout 0.95 (CIFAR-10)", 0.95},
      examples::hyperconnection_weight);
}
