// cifar_mobilenet_skiphyperconnection_sensitivity: spec §5.4. The sweep is examples/common/sweeps.cpp's skiphyperconnection_sensitivity().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::cifar_mobilenet, "cifar_mobilenet_skiphyperconnection_sensitivity", "cifar_skiphyperconnection_sensitivity_results{mx}",
       "ResiliNet MobileNet per skip-hyperconnection pattern (CIFAR-10)", 0.9},
      examples::skiphyperconnection_sensitivity);
}
