#pragma once
// What an experiment program is and the one call its main() makes. Everything behind it (the
// driver in experiment.hpp, the sweeps in sweeps.cpp, program_main in program.cpp) is
// compiled once into the resilinet_experiments library that the seventeen programs link.

#include <functional>
#include <string>
#include <vector>

namespace examples {

/// The dataset and architecture of a program.
enum class Kind { health, cifar_mobilenet, cifar_resnet, imagenet, camera };

/// A program: what it runs and where its results go.
struct Program {
  /// Dataset and architecture.
  Kind kind;
  /// Executable name.
  std::string name;
  /// Results file name without extension (the reference's, spec §7; "{mx}" is replaced by
  /// the ResiliNet+ suffix).
  std::string results;
  /// One-line description for --help.
  std::string description;
  /// Default failout survival rate of every failable node.
  double survival = 0.9;
  /// The failout-rate sweep's fixed survival rates (spec §5.2); empty for the other sweeps.
  std::vector<double> failout_rates{};
};

class Experiment;

/// The whole main() of a program: parses the flags, loads the data and runs `sweep` through
/// Experiment::run(), turning errors into one line on stderr and exit code 1.
int program_main(int argc, char** argv, const Program& program, const std::function<void(Experiment&)>& sweep);

/// §5.1: Vanilla, DFG and ResiliNet evaluated at the four reliability settings.
void average_accuracy(Experiment& ex);
/// §5.2: ResiliNet trained with variable and fixed failout survival rates.
void failout_rate(Experiment& ex);
/// §5.3: ResiliNet with each hyperconnection weight scheme.
void hyperconnection_weight(Experiment& ex);
/// §5.4: ResiliNet with each pattern of skip hyperconnections.
void skiphyperconnection_sensitivity(Experiment& ex);

}  // namespace examples
