// camera_average_accuracy: spec §5.1. The sweep is examples/common/sweeps.cpp's average_accuracy().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::camera, "camera_average_accuracy", "camera_average_accuracy{mx}",
       "expected accuracy (F1-micro) of ResiliNet, DFG and Vanilla camera MLPs (multi-view)", 0.8},
      examples::average_accuracy);
}
