// cifar_mobilenet_hyperconnection_weight: spec §5.3. The sweep is examples/common/sweeps.cpp's hyperconnection_weight().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::cifar_mobilenet, "cifar_mobilenet_hyperconnection_weight", "cifar_hyperconnection_weight_results{mx}",
       "ResiliNet MobileNet expected accuracy per weight scheme (CIFAR-10)", 0.9},
      examples::hyperconnection_weight);
}
