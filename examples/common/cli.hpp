#pragma once
// Command-line parsing shared by the programs: CLI11's errors and exit codes, the nearest flag
// when one is misspelt, and the checks of an output folder flag.

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <resilinet/core/error.hpp>

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

/// Fails early (before the data loads) unless the folder `dir` given to `flag` is writable:
/// it exists as a directory a file can be created in, or is absent below one.
inline void require_writable_folder(const std::string& flag, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  resilinet::require<resilinet::IoError>(!fs::exists(status) || fs::is_directory(status), flag, " '", dir,
                                         "' exists and is not a directory");
  fs::path probe_dir = dir;  // the folder the run's first file or folder goes into
  while (!fs::exists(probe_dir, ec)) probe_dir = probe_dir.has_parent_path() ? probe_dir.parent_path() : ".";
  std::string probe = (probe_dir / ".resilinet-write-test-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  resilinet::require<resilinet::IoError>(fd >= 0, flag, " '", dir, "': cannot create files in '", probe_dir.string(),
                                         "': ", resilinet::detail::os_reason());
  ::close(fd);
  ::unlink(probe.c_str());
}

/// mkdir -p: creates `dir` and any missing parents.
inline void make_directories(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw resilinet::IoError("cannot create directory '" + dir + "': " + ec.message());
}

}  // namespace examples
