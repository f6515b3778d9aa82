// health_skiphyperconnection_sensitivity: spec §5.4. The sweep is examples/common/sweeps.cpp's skiphyperconnection_sensitivity().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::health, "health_skiphyperconnection_sensitivity", "health_skiphyperconnection_sensitivity{mx}",
       "ResiliNet health MLP per skip-hyperconnection pattern (mHealth)", 0.9},
      examples::skiphyperconnection_sensitivity);
}
