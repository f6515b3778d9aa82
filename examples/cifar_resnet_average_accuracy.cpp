// cifar_resnet_average_accuracy: spec §5.1. The sweep is examples/common/sweeps.cpp's average_accuracy().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::cifar_resnet, "cifar_resnet_average_accuracy", "cifar_resnet_average_accuracy_results",
       "expected accuracy of Vanilla, DFG and ResiliNet ResNet-18s (CIFAR-10)", 0.9},
      examples::average_accuracy);
}
