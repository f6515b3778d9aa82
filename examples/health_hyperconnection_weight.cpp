// health_hyperconnection_weight: spec §5.3. The sweep is examples/common/sweeps.cpp's hyperconnection_weight().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::health, "health_hyperconnection_weight", "health_hyperconnection_weight{mx}",
       "ResiliNet health MLP expected accuracy per weight scheme (mHealth)", 0.9},
      examples::hyperconnection_weight);
}
