// health_average_accuracy: spec §5.1. The sweep is examples/common/sweeps.cpp's average_accuracy().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::health, "health_average_accuracy", "health_average_accuracy{mx}",
       "expected accuracy of ResiliNet, DFG and Vanilla health MLPs (mHealth)", 0.9},
      examples::average_accuracy);
}
