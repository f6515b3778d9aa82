#pragma once
// A sweep as a plan of independent trainings: what each one trains, which process runs it
// (--shard i/n, MPI ranks) and the partial results file a shard leaves for --merge.

#include <cstdlib>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <resilinet/resilinet.hpp>

#include "report.hpp"
#include "run_record.hpp"

namespace examples {

/// One training of a sweep: the model's options, its file name and the iteration it belongs to.
struct Training {
  /// Iteration of the sweep (from 1).
  int iteration = 1;
  /// What is trained.
  resilinet::ResilienceOptions options;
  /// Model file name without extension.
  std::string file;
};

/// The n-th generator (n >= 1) forked from one seeded with `seed`.
inline resilinet::Rng nth_fork(std::uint64_t seed, std::size_t n) {
  resilinet::Rng forks(seed), r = forks.fork();
  for (std::size_t k = 1; k < n; ++k) r = forks.fork();
  return r;
}

/// The generator of the health split of iteration `it` (from 1; --split seeded uses the first's).
inline resilinet::Rng iteration_split_rng(std::uint64_t seed, int it) { return nth_fork(seed, std::size_t(it)); }

/// The generator of the plan's `index`-th training (model initialisation, training, failure
/// evaluation), so a training draws the same numbers whichever process runs it and whatever ran
/// before; "plan-job" keeps its stream apart from the splits'.
inline resilinet::Rng training_rng(std::uint64_t seed, std::size_t index) {
  return nth_fork(seed ^ 0x706c616e2d6a6f62ULL, index + 1);
}

/// Which of a plan's trainings a process runs: shard `shard` of `shards` (--shard), then
/// group `group` of `groups` (MPI ranks, or groups of --ranks-per-model ranks).
struct Share {
  /// This shard (from 0) and the number of shards.
  std::size_t shard = 0, shards = 1;
  /// This process's group (from 0) and the number of groups.
  std::size_t group = 0, groups = 1;
  /// Whether training `index` belongs to this shard.
  bool in_shard(std::size_t index) const { return index % shards == shard; }
  /// Whether this process's group runs training `index`: the shard's trainings dealt in turn.
  bool runs(std::size_t index) const { return in_shard(index) && (index / shards) % groups == group; }
};

/// Parses --shard's "i/n" (1 <= i <= n) into a zero-based shard; "" when `text` is not one.
inline std::string parse_shard(const std::string& text, Share& share) {
  const auto slash = text.find('/');
  char* end = nullptr;
  const long i = slash == std::string::npos ? 0 : std::strtol(text.c_str(), &end, 10);
  const bool i_ok = slash != std::string::npos && end == text.c_str() + slash;
  const long n = i_ok ? std::strtol(text.c_str() + slash + 1, &end, 10) : 0;
  if (!i_ok || *end != '\0' || slash + 1 == text.size() || n < 1 || i < 1 || i > n || n > 100000)
    return text + " is not i/n with 1 <= i <= n";
  share.shard = std::size_t(i - 1);
  share.shards = std::size_t(n);
  return "";
}

/// Name of the partial results file of shard `share` of `experiment`.
inline std::string partial_name(const std::string& experiment, const Share& share) {
  return experiment + ".shard-" + std::to_string(share.shard + 1) + "-of-" + std::to_string(share.shards) + ".part";
}

/// Writes a shard's results: the run's settings (`run`), the shard's cost when known ("cost
/// <wall seconds> <CPU seconds> <machine>", from `record`), then one line per training it ran
/// ("<index> <file> <accuracy of each failure combination>").
inline std::string write_partial(const std::string& dir, const std::string& experiment, const Share& share,
                                 const std::string& run, const RunRecord& record, const std::vector<Training>& plan,
                                 const std::vector<std::vector<double>>& results) {
  std::string text = "resilinet shard " + std::to_string(share.shard + 1) + "/" + std::to_string(share.shards) +
                     " of " + std::to_string(plan.size()) + " trainings\nrun " + run + "\n";
  if (record.cpu_seconds >= 0)  // not after --resume: the merge then records no cost
    text += "cost " + py(record.wall_seconds) + " " + py(record.cpu_seconds) + " " + record.machine + "\n";
  for (std::size_t j = 0; j < plan.size(); ++j) {
    if (!share.in_shard(j)) continue;
    text += std::to_string(j) + " " + plan[j].file;
    for (double a : results[j]) text += " " + py(a);
    text += "\n";
  }
  const std::string path = dir + "/" + partial_name(experiment, share);
  resilinet::write_text_file(path, text);
  return path;
}

/// Adds a partial file's "cost <wall> <cpu> <machine>" line to `cost` (whose costs stay
/// negative, not recorded, once a shard's were not).
inline void add_shard_cost(const std::string& line, const std::string& path, RunRecord& cost) {
  std::istringstream words(line.substr(5));
  double wall = -1, cpu = -1;
  std::string machine;
  words >> wall >> cpu;
  std::getline(words >> std::ws, machine);
  if (words.fail() || !(wall >= 0 && cpu >= 0))
    throw resilinet::ValueError("--merge: '" + path + "' line 3 is not 'cost <wall seconds> <CPU seconds> <machine>': " +
                                resilinet::quoted(line, 120));
  if (cost.cpu_seconds >= 0) {
    cost.wall_seconds = std::max(cost.wall_seconds, wall);
    cost.cpu_seconds += cpu;
  }
  if (("; " + cost.machine + "; ").find("; " + machine + "; ") == std::string::npos)
    cost.machine += (cost.machine.empty() ? "" : "; ") + machine;
}

/// Reads every shard's partial results file of `experiment` in `dirs` into one result per
/// training of `plan`; refuses files of another run, trainings missing or given twice. Adds
/// the shards' costs to `cost` (CPU seconds summed, the longest wall time, their machines;
/// the costs -1 when a shard's file has none).
inline std::vector<std::vector<double>> read_partials(const std::vector<std::string>& dirs, const std::string& experiment,
                                                      const std::string& run, const std::vector<Training>& plan,
                                                      std::size_t combinations, RunRecord& cost) {
  using resilinet::ValueError;
  std::vector<std::vector<double>> results(plan.size());
  std::vector<std::string> from(plan.size());
  const std::string prefix = experiment + ".shard-";
  std::size_t files = 0;
  for (const auto& dir : dirs) {
    std::vector<std::string> names;
    try {
      names = resilinet::detail::list_dir(dir, false);  // sorted
    } catch (const resilinet::IoError& e) {
      throw resilinet::IoError(std::string("--merge: ") + e.what());
    }
    for (const auto& name : names) {
      if (name.rfind(prefix, 0) != 0 || name.size() <= 5 || name.compare(name.size() - 5, 5, ".part") != 0) continue;
      const std::string path = dir + "/" + name;
      std::ifstream in(path);
      std::string head, run_line, line;
      std::getline(in, head);
      std::getline(in, run_line);
      if (run_line != "run " + run)
        throw ValueError("--merge: '" + path + "' comes from a run with other settings: " +
                         resilinet::quoted(run_line, 300) + "; this run: run " + run);
      for (std::size_t at = 3; std::getline(in, line); ++at) {
        if (at == 3 && line.rfind("cost ", 0) == 0) {
          add_shard_cost(line, path, cost);
          continue;
        }
        if (at == 3) cost.wall_seconds = cost.cpu_seconds = -1;  // written before 2026-12-04
        // "<index> <file> <accuracies>": the file (a model's name) may hold spaces, so it is
        // matched against the plan's rather than read as one word.
        const char* const text = line.c_str();
        char* end = nullptr;
        const std::size_t j = std::strtoul(text, &end, 10);
        const std::string where = "'" + path + "' line " + std::to_string(at);
        const std::size_t rest = std::size_t(end - text) + 1;  // where the file begins
        const bool named = end != text && *end == ' ' && j < plan.size() &&
                           line.compare(rest, plan[j].file.size(), plan[j].file) == 0 &&
                           (line.size() == rest + plan[j].file.size() || line[rest + plan[j].file.size()] == ' ');
        if (!named) throw ValueError("--merge: " + where + " names no training of this plan: " + resilinet::quoted(line, 120));
        const std::string& file = plan[j].file;
        if (!from[j].empty()) throw ValueError("--merge: training " + std::to_string(j) + " (" + file + ") is in both " + from[j] + " and " + where);
        std::istringstream words(line.substr(rest + file.size()));
        std::vector<double> acc;
        for (std::string w; words >> w;) {
          char* stop = nullptr;
          acc.push_back(std::strtod(w.c_str(), &stop));
          if (*stop != '\0') throw ValueError("--merge: " + where + ": '" + w + "' is not a number");
        }
        if (acc.size() != combinations)
          throw ValueError("--merge: " + where + " has " + std::to_string(acc.size()) + " accuracies, expected " +
                           std::to_string(combinations));
        results[j] = std::move(acc);
        from[j] = where;
      }
      ++files;
    }
  }
  if (files == 0) throw ValueError("--merge: no " + prefix + "*.part file in the given folders");
  for (std::size_t j = 0; j < plan.size(); ++j)
    if (from[j].empty())
      throw ValueError("--merge: training " + std::to_string(j) + " (" + plan[j].file + ") is in no shard's file");
  return results;
}

}  // namespace examples
