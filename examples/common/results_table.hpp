#pragma once
// An experiment program's results CSV read back: expected accuracy per series (model and
// variant), reliability setting and iteration, for resilinet-report and its claims.

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <resilinet/core/error.hpp>
#include <resilinet/eval/expected_accuracy.hpp>

#include "report.hpp"

namespace examples {

/// The expected accuracies of one results CSV.
struct ResultsTable {
  /// The CSV's experiment column (the results name, e.g. "cifar_resnet_failout_results").
  std::string experiment;
  /// Settings from no failure to hazardous (name and reliability text; no values).
  std::vector<Setting> settings;
  /// Series ("<model>" or "<model> <variant>") in the order the CSV first names them.
  std::vector<std::string> series;
  /// Expected accuracy per series, setting name and iteration.
  std::map<std::string, std::map<std::string, std::map<int, double>>> values;

  /// Whether `series` has a value at `setting`.
  bool has(const std::string& s, const std::string& setting) const {
    const auto it = values.find(s);
    return it != values.end() && it->second.count(setting) != 0;
  }
  /// The iterations' values of `series` at `setting` (empty when it has none).
  std::map<int, double> cell(const std::string& s, const std::string& setting) const {
    return has(s, setting) ? values.at(s).at(setting) : std::map<int, double>{};
  }
  /// Mean and standard deviation over the iterations of `series` at `setting`.
  resilinet::MeanStd stats(const std::string& s, const std::string& setting) const {
    std::vector<double> v;
    for (const auto& [it, x] : cell(s, setting)) v.push_back(x);
    return resilinet::mean_std(v);
  }
  /// The largest iteration number of any cell.
  int iterations() const {
    int n = 0;
    for (const auto& [s, cells] : values)
      for (const auto& [setting, its] : cells) n = std::max(n, its.rbegin()->first);
    return n;
  }
};

/// The fields of one CSV line; fields in double quotes may hold commas.
inline std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      fields.emplace_back();
    else
      fields.back() += c;
  }
  return fields;
}

/// The header every results CSV begins with (Report::row).
inline const std::string& results_csv_header() {
  static const std::string h = "experiment,model,variant,setting,reliability,iteration,expected_accuracy";
  return h;
}

/// Reads a results CSV written by an experiment program; a malformed one is refused by line.
inline ResultsTable read_results_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw resilinet::IoError("cannot open '" + path + "'");
  std::string line;
  std::getline(in, line);
  if (line.rfind(results_csv_header(), 0) != 0)
    throw resilinet::ValueError("'" + path + "' is not a results table: its first line is not '" +
                                results_csv_header() + ",…'");
  const std::size_t columns = csv_fields(line).size();
  ResultsTable t;
  for (int at = 2; std::getline(in, line); ++at) {
    const std::string where = "'" + path + "' line " + std::to_string(at);
    const auto f = csv_fields(line);
    if (f.size() != columns)
      throw resilinet::ValueError(where + " has " + std::to_string(f.size()) + " fields, the header " +
                                  std::to_string(columns));
    char* end = nullptr;
    const long iteration = std::strtol(f[5].c_str(), &end, 10);
    if (f[5].empty() || *end != '\0' || iteration < 1 || iteration > 100000)
      throw resilinet::ValueError(where + ": iteration '" + f[5] + "' is not a number from 1");
    const double e = std::strtod(f[6].c_str(), &end);
    if (f[6].empty() || *end != '\0' || !(e >= 0 && e <= 1))
      throw resilinet::ValueError(where + ": expected accuracy '" + f[6] + "' is not in [0, 1]");
    if (t.experiment.empty()) t.experiment = f[0];
    if (f[0] != t.experiment)
      throw resilinet::ValueError(where + " is of experiment '" + f[0] + "', the file's of '" + t.experiment + "'");
    const std::string series = f[2].empty() ? f[1] : f[1] + " " + f[2];
    if (t.values.count(series) == 0) t.series.push_back(series);
    bool known = false;
    for (const auto& s : t.settings) known = known || s.name == f[3];
    if (!known) t.settings.push_back({f[3], {}, f[4]});
    if (!t.values[series][f[3]].emplace(int(iteration), e).second)
      throw resilinet::ValueError(where + " repeats " + series + " at " + f[3] + " in iteration " + f[5]);
  }
  if (t.series.empty()) throw resilinet::ValueError("'" + path + "' has a header but no results");
  // The programs' order of settings (a failout sweep's first rows lack no_failure).
  const auto rank = [](const Setting& s) {
    const char* order[] = {"no_failure", "normal", "poor", "hazardous"};
    return std::find(std::begin(order), std::end(order), s.name) - std::begin(order);
  };
  std::stable_sort(t.settings.begin(), t.settings.end(), [&](const Setting& a, const Setting& b) { return rank(a) < rank(b); });
  return t;
}

}  // namespace examples
