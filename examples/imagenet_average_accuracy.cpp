// imagenet_average_accuracy: spec §5.1. The sweep is examples/common/sweeps.cpp's average_accuracy().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::imagenet, "imagenet_average_accuracy", "imagenet_average_accuracy_results",
       "expected accuracy of ResiliNet, DFG and Vanilla MobileNets (ImageNet)", 0.9},
      examples::average_accuracy);
}
