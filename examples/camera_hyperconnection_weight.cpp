// camera_hyperconnection_weight: spec §5.3. The sweep is examples/common/sweeps.cpp's hyperconnection_weight().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::camera, "camera_hyperconnection_weight", "camera_hyperconnection_weight{mx}",
       "ResiliNet camera MLP expected F1-micro per weight scheme (multi-view)", 0.8},
      examples::hyperconnection_weight);
}
