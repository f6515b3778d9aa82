// camera_failout_rate: spec §5.2. The sweep is examples/common/sweeps.cpp's failout_rate().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::camera, "camera_failout_rate", "camera_failout_rate{mx}",
       "ResiliNet camera MLP expected F1-micro per failout survival rate (multi-view)", 0.8, {0.95, 0.9, 0.7, 0.5, 0.3}},
      examples::failout_rate);
}
