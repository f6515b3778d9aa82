#pragma once
// Command-line parsing shared by the programs: CLI11's errors and exit codes, plus the nearest
// flag when one is misspelt.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace examples {

/// Edit distance (insertions, deletions, substitutions) between `a` and `b`.
inline std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// The flag of `app` nearest to `word` (at most two edits away), or "" when none is.
inline std::string nearest_flag(const CLI::App& app, const std::string& word) {
  std::string best;
  std::size_t best_distance = 3;
  for (const CLI::Option* opt : app.get_options())
    for (const std::string& name : opt->get_lnames()) {
      const std::size_t d = edit_distance(word, "--" + name);
      if (d < best_distance) best = "--" + name, best_distance = d;
    }
  return best;
}

/// Parses the command line into `app`. Returns -1 when the program should go on, else the
/// exit code after printing CLI11's message (0 for --help), with "did you mean --x?" for an
/// unknown flag within two edits of a real one.
inline int parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    if (dynamic_cast<const CLI::ExtrasError*>(&e) == nullptr) return code;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i], word = arg.substr(0, arg.find('='));
      if (word.rfind("--", 0) != 0 || app.get_option_no_throw(word) != nullptr) continue;
      const std::string near = nearest_flag(app, word);
      if (!near.empty()) std::fprintf(stderr, "did you mean %s (not %s)?\n", near.c_str(), word.c_str());
    }
    return code;
  }
}

}  // namespace examples
