// camera_skiphyperconnection_sensitivity: spec §5.4. The sweep is examples/common/sweeps.cpp's skiphyperconnection_sensitivity().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::camera, "camera_skiphyperconnection_sensitivity", "camera_skiphyperconnection_sensitivity{mx}",
       "ResiliNet camera MLP per skip-hyperconnection pattern (multi-view)", 0.8},
      examples::skiphyperconnection_sensitivity);
}
