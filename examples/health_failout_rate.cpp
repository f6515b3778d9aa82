// health_failout_rate: spec §5.2. The sweep is examples/common/sweeps.cpp's failout_rate().
#include "common/program.hpp"

int main(int argc, char** argv) {
  return examples::program_main(
      argc, argv,
      {examples::Kind::health, "health_failout_rate", "health_failout_rate{mx}",
       "ResiliNet health MLP expected accuracy per failout survival rate (mHealth)", 0.9, {0.95, 0.9, 0.7, 0.5}},
      examples::failout_rate);
}
