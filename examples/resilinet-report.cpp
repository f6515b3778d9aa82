// resilinet-report: the reproduction report. Reads the results CSVs (and the .info beside each)
// of any set of experiment runs and writes <out>/index.md, with a table in the paper's layout
// and a figure per run, the runs' provenance and cost, and the paper's claims checked against
// the numbers shown (examples/common/claims.hpp). The same inputs give the same bytes.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <resilinet/io/atomic_file.hpp>
#include <resilinet/train/fit.hpp>

#include "common/claims.hpp"
#include "common/cli.hpp"
#include "common/run_record.hpp"

namespace {

using namespace examples;
namespace fs = std::filesystem;

const std::vector<std::string> kDatasets = {"health", "camera", "CIFAR MobileNet", "CIFAR ResNet", "ImageNet"};
const std::vector<std::string> kSweeps = {"average accuracy", "failout rate", "hyperconnection weight",
                                          "skip-hyperconnection sensitivity"};
const std::vector<std::string> kSections = {"§5.1", "§5.2", "§5.3", "§5.4"};  // of the spec

/// One results file and what the report knows of its run.
struct Run {
  /// The CSV's path as found under the folders given.
  std::string csv;
  /// The figure's file name in the report folder.
  std::string figure;
  /// Index into kDatasets and kSweeps.
  std::size_t dataset = 0, sweep = 0;
  /// The results.
  ResultsTable table;
  /// The .info beside the CSV, when there is one.
  std::optional<RunRecord> record;
};

/// The dataset of a results name (the programs' names begin with it), or npos.
std::size_t dataset_of(const std::string& experiment) {
  const std::vector<std::string> prefixes = {"health", "camera", "cifar_resnet", "cifar", "imagenet"};
  const std::vector<std::size_t> index = {0, 1, 3, 2, 4};
  for (std::size_t i = 0; i < prefixes.size(); ++i)
    if (experiment.rfind(prefixes[i], 0) == 0) return index[i];
  return std::string::npos;
}

/// The sweep of a results name, or npos.
std::size_t sweep_of(const std::string& experiment) {
  if (experiment.find("average_accuracy") != std::string::npos) return 0;
  if (experiment.find("failout") != std::string::npos) return 1;
  if (experiment.find("skiphyperconnection") != std::string::npos) return 3;
  if (experiment.find("hyperconnection") != std::string::npos) return 2;
  return std::string::npos;
}

/// The skip hyperconnections of a dataset, in configuration-vector order (spec §2.1).
std::vector<std::string> skip_names(std::size_t dataset) {
  if (dataset == 0) return {"fog2→cloud", "edge→fog1", "IoT→fog2"};
  if (dataset == 1) return {"fog2→cloud", "fog3→fog1", "fog4→fog1", "edge1→fog2", "edge2→fog2", "edge3→fog2", "edge4→fog2"};
  return {"edge→cloud", "IoT→fog"};
}

/// The claims, each checked on the runs of one sweep.
struct Claim {
  std::string text;
  std::size_t sweep;
  ClaimCheck (*check)(const ResultsTable&, std::size_t dataset);
};

const std::vector<Claim>& claims() {
  static const std::vector<Claim> c = {
      {"ResiliNet ≥ deepFogGuard > Vanilla", 0, [](const ResultsTable& t, std::size_t) { return check_ordering(t); }},
      {"failout at survival 0.7–0.9 beats no failout", 1,
       [](const ResultsTable& t, std::size_t) { return check_failout_beats(t, 1.0); }},
      {"failout at survival 0.7–0.9 beats 0.95", 1,
       [](const ResultsTable& t, std::size_t) { return check_failout_beats(t, 0.95); }},
      {"weight scheme 1 is as good as the others", 2, [](const ResultsTable& t, std::size_t) { return check_scheme_one(t); }},
      {"every skip hyperconnection helps", 3,
       [](const ResultsTable& t, std::size_t d) { return check_every_skip_helps(t, skip_names(d)); }},
  };
  return c;
}

/// The value after `key` in a run's settings line ("... seed 42 ..."), or "".
std::string setting_value(const std::string& settings, const std::string& key) {
  std::istringstream in(settings);
  for (std::string w, v; in >> w;)
    if (w == key && in >> v) return v;
  return "";
}

/// What a run changed beyond the paper's models ("ResiliNet+, standardized, early exits"), from its settings.
std::string variation(const Run& r) {
  if (!r.record) return "";
  std::string v;
  if (setting_value(r.record->settings, "plus") == "1") v += ", ResiliNet+";
  if (setting_value(r.record->settings, "standardize") == "1") v += ", standardized";
  const std::string exits = setting_value(r.record->settings, "exits");
  if (!exits.empty()) v += ", early exits (loss weight " + exits + ")";
  return v;
}

/// "profile medium, seed 42, 15 epochs, batch 64" (what the .info says), or that it is unknown.
std::string budget_text(const Run& r) {
  if (!r.record) return "profile not recorded";
  const std::string& s = r.record->settings;
  std::string text = "profile " + r.record->profile + ", seed " + setting_value(s, "seed") + ", " +
                     setting_value(s, "epochs") + " epochs, batch " + setting_value(s, "batch");
  const std::string subset = setting_value(s, "subset");
  if (!subset.empty() && subset != "0") text += ", " + subset + " training examples";
  return text + variation(r);
}

/// "quick, seed 7, 3 it." (short label of a run in the claims table).
std::string short_label(const Run& r) {
  const std::string seed = r.record ? ", seed " + setting_value(r.record->settings, "seed") : "";
  return (r.record ? r.record->profile : std::string("profile?")) + seed + ", " +
         std::to_string(r.table.iterations()) + " it." + variation(r);
}

/// The results CSVs under `dirs`, sorted; files that are not results tables are named and skipped.
std::vector<Run> find_runs(const std::vector<std::string>& dirs) {
  std::vector<std::string> paths;
  for (const auto& dir : dirs) {
    if (!fs::is_directory(dir)) throw resilinet::IoError("'" + dir + "' is not a folder");
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".csv") paths.push_back(e.path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Run> runs;
  for (const auto& p : paths) {
    std::ifstream in(p);
    std::string head;
    std::getline(in, head);
    if (head.rfind(results_csv_header(), 0) != 0) {
      std::printf("skipped '%s': not a results table\n", p.c_str());
      continue;
    }
    Run r;
    r.csv = p;
    r.table = read_results_csv(p);
    r.dataset = dataset_of(r.table.experiment);
    r.sweep = sweep_of(r.table.experiment);
    if (r.dataset == std::string::npos || r.sweep == std::string::npos)
      throw resilinet::ValueError("'" + p + "': experiment '" + r.table.experiment + "' is none of the programs'");
    const fs::path info = fs::path(p).replace_extension(".info");
    if (fs::exists(info)) {
      std::ifstream f(info);
      r.record = RunRecord::parse(std::string(std::istreambuf_iterator<char>(f), {}), info.string());
    }
    r.figure = fs::path(p).parent_path().filename().string() + "-" + r.table.experiment + ".svg";
    for (const auto& other : runs)
      if (other.figure == r.figure) r.figure = std::to_string(runs.size()) + "-" + r.figure;
    runs.push_back(std::move(r));
  }
  std::stable_sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) {
    return std::tie(a.dataset, a.sweep) < std::tie(b.dataset, b.sweep);
  });
  return runs;
}

/// The run's table in the paper's layout: series × settings, mean ± std over iterations.
std::string table_text(const ResultsTable& t) {
  std::string s = "| |";
  for (const auto& setting : t.settings) s += " " + setting.name + " " + setting.text + " |";
  s += "\n|---|";
  for (std::size_t i = 0; i < t.settings.size(); ++i) s += "---|";
  s += "\n";
  for (const auto& series : t.series) {
    s += "| " + series + " |";
    for (const auto& setting : t.settings)
      s += " " + (t.has(series, setting.name) ? mean_std_text(t.stats(series, setting.name)) : std::string("—")) + " |";
    s += "\n";
  }
  return s;
}

/// The run's figure: the programs' own bar chart, redrawn from the CSV's means.
std::string figure_svg(const ResultsTable& t) {
  Report plot(t.experiment, false);
  for (const auto& series : t.series) {
    const auto space = series.find(' ');
    const std::string model = series.substr(0, space), variant = space == std::string::npos ? "" : series.substr(space + 1);
    for (const auto& setting : t.settings)
      for (const auto& [it, e] : t.cell(series, setting.name)) plot.row(model, variant, setting, it, e, {});
  }
  return plot.svg(t.settings);
}

/// A field of the run's .info, or "not recorded" without one.
std::string recorded(const Run& r, std::string RunRecord::*field, bool code = false) {
  if (!r.record) return "not recorded";
  return code ? "`" + (*r.record).*field + "`" : (*r.record).*field;
}

/// A change beyond the paper a run's settings may record: the key, its value without the change
/// ("" when the key is then absent), its name, and the series it renames from the run without
/// it (`renamed` ← `original`; empty when every series is compared under its own name).
struct Change {
  std::string key, off, name, renamed, original;
};

const std::vector<Change> kChanges = {
    {"plus", "0", "ResiliNet+ (the mux adds its inputs)", "ResiliNet+", "ResiliNet"},
    {"standardize", "", "standardized features", "", ""},
    {"exits", "", "early exits instead of a random guess", "", ""}};

/// The words of a settings line.
std::vector<std::string> words_of(const std::string& settings) {
  std::istringstream in(settings);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

/// The words of a settings line with `key`'s value set to `value` ("" drops the key).
std::vector<std::string> settings_with(const std::string& settings, const std::string& key, const std::string& value) {
  std::vector<std::string> words = words_of(settings);
  const auto at = std::find(words.begin() + std::min<std::size_t>(1, words.size()), words.end(), key);
  if (at == words.end()) {
    if (!value.empty()) words.insert(words.end(), {key, value});
  } else if (value.empty()) {
    words.erase(at, at + std::min<std::ptrdiff_t>(2, words.end() - at));
  } else if (at + 1 != words.end()) {
    at[1] = value;
  }
  return words;
}

/// "a → b" of two cells.
std::string arrow(const resilinet::MeanStd& a, const resilinet::MeanStd& b) {
  return mean_std_text(a) + " → " + mean_std_text(b);
}

/// The section measuring the changes beyond the paper: each run with a change against the run
/// that differs from it only in that change.
std::string changes_text(const std::vector<Run>& runs) {
  std::ostringstream md, unpaired, other_commit;
  md << "## Beyond the paper\n\nEach change is measured against a run that differs from it only in that change "
        "(the same program, seed, budget and settings, so iterations pair by number): per series the expected "
        "accuracy with every node alive and at hazardous, without → with the change, the change of the hazardous "
        "means (*within noise* when smaller than the larger of the two standard deviations) and in how many paired "
        "iterations the change raised it.\n\n"
        "| Change | Run with the change | Series | no failure | hazardous | hazardous change | raised in |\n"
        "|---|---|---|---|---|---|---|\n";
  int rows = 0;
  for (const auto& change : kChanges)
    for (const auto& r : runs) {
      const std::string value = r.record ? setting_value(r.record->settings, change.key) : "";
      if (value.empty() || value == change.off) continue;
      const auto wanted = settings_with(r.record->settings, change.key, change.off);
      const auto base = std::find_if(runs.begin(), runs.end(), [&](const Run& b) {
        return b.record && words_of(b.record->settings) == wanted;
      });
      if (base == runs.end()) {
        unpaired << "- `" << r.csv << "` (" << change.name << "): no run with the same settings without it.\n";
        continue;
      }
      const bool same_commit = r.record->commit == base->record->commit;
      if (!same_commit)
        other_commit << "- `" << r.csv << "` was built at `" << r.record->commit << "`, its counterpart `" << base->csv
                     << "` at `" << base->record->commit << "`.\n";
      for (const auto& s : r.table.series) {
        if (!change.renamed.empty() && s.find(change.renamed) == std::string::npos) continue;
        std::string b = s;
        if (!change.renamed.empty()) b.replace(b.find(change.renamed), change.renamed.size(), change.original);
        const std::string first = r.table.settings.front().name, last = claim_setting(r.table);
        if (!base->table.has(b, first) || !base->table.has(b, last) || !r.table.has(s, first) || !r.table.has(s, last))
          continue;
        const ChangeCheck no_failure = check_change(base->table, b, r.table, s, first);
        const ChangeCheck hazardous = check_change(base->table, b, r.table, s, last);
        char diff[32];
        std::snprintf(diff, sizeof diff, "%+.4f", hazardous.difference);
        md << "| " << change.name << " | " << kDatasets[r.dataset] << " " << kSweeps[r.sweep] << ", " << budget_text(r)
           << (same_commit ? "" : " †") << " | " << (b == s ? s : b + " → " + s) << " | "
           << arrow(no_failure.without, no_failure.with) << " | "
           << arrow(hazardous.without, hazardous.with) << " | " << diff << (hazardous.within_noise ? " (within noise)" : "")
           << " | " << hazardous.raised << " of " << hazardous.paired << " |\n";
        ++rows;
      }
    }
  if (rows == 0) md << "| — | no run pairs with a run without its change | | | | | |\n";
  if (!other_commit.str().empty())
    md << "\n† Built from a different commit than its counterpart, so a change to the library between the two "
          "(a kernel's summation order, say) is part of the difference:\n\n"
       << other_commit.str();
  if (!unpaired.str().empty()) md << "\nNot measured, for want of a counterpart:\n\n" << unpaired.str();
  return md.str() + "\n";
}

/// "<wall time> | <CPU-hours>" of the run's .info, each "not recorded" when absent.
std::string cost_text(const Run& r) {
  std::string wall = "not recorded", cpu = "not recorded";
  if (r.record && r.record->wall_seconds >= 0) wall = resilinet::detail::duration_text(r.record->wall_seconds);
  if (r.record && r.record->cpu_seconds >= 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", r.record->cpu_seconds / 3600.0);
    cpu = buf;
  }
  return wall + " | " + cpu;
}

std::string index_text(const std::vector<Run>& runs, const std::vector<std::string>& dirs) {
  std::ostringstream md;
  md << "# Reproduction report\n\nWritten by `resilinet-report";
  for (const auto& d : dirs) md << " " << d;
  md << " --out <folder>` from the " << runs.size()
     << " results file(s) below; the same files give the same report, byte for byte. Every number is a mean ± "
        "standard deviation over a run's iterations of the expected accuracy (the camera: expected F1-micro) in its "
        "CSV.\n\n";
  md << "## The paper's claims\n\nEach claim is checked on every run of the experiment that measures it, at the most "
        "failure-prone setting (hazardous), from the means shown in that run's section: it **holds** when the means "
        "are ordered as claimed, **holds within noise** when they are but a margin is smaller than the larger of the "
        "two standard deviations compared, **does not hold** otherwise, and is **not measured** without a run.\n\n";
  md << "| Claim |";
  for (const auto& d : kDatasets) md << " " << d << " |";
  md << "\n|---|";
  for (std::size_t i = 0; i < kDatasets.size(); ++i) md << "---|";
  md << "\n";
  for (const auto& claim : claims()) {
    md << "| " << claim.text << " (" << kSweeps[claim.sweep] << ", " << kSections[claim.sweep] << ") |";
    for (std::size_t d = 0; d < kDatasets.size(); ++d) {
      std::string cell;
      for (const auto& r : runs)
        if (r.dataset == d && r.sweep == claim.sweep)
          cell += (cell.empty() ? "" : "<br>") + to_string(claim.check(r.table, d).verdict) + " (" + short_label(r) + ")";
      if (cell.empty()) cell = d == 4 && claim.sweep != 0 ? "— (no such experiment)" : "not measured";
      md << " " << cell << " |";
    }
    md << "\n";
  }
  md << "\n" << changes_text(runs);
  md << "## The seventeen experiments\n\n| Dataset |";
  for (std::size_t s = 0; s < kSweeps.size(); ++s) md << " " << kSweeps[s] << " (" << kSections[s] << ") |";
  md << "\n|---|---|---|---|---|\n";
  for (std::size_t d = 0; d < kDatasets.size(); ++d) {
    md << "| " << kDatasets[d] << " |";
    for (std::size_t s = 0; s < kSweeps.size(); ++s) {
      std::string cell;
      for (const auto& r : runs)
        if (r.dataset == d && r.sweep == s) cell += (cell.empty() ? "" : "<br>") + short_label(r);
      md << " " << (d == 4 && s != 0 ? "—" : cell.empty() ? "not run" : cell) << " |";
    }
    md << "\n";
  }
  md << "\n## Runs\n\n| Results | Budget | Iterations | Commit | Machine | How it ran | Wall time | CPU-hours |\n"
        "|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : runs) {
    md << "| `" << r.csv << "` | " << budget_text(r) << " | " << r.table.iterations() << " | "
       << recorded(r, &RunRecord::commit, true) << " | " << recorded(r, &RunRecord::machine) << " | "
       << recorded(r, &RunRecord::mode) << " | " << cost_text(r) << " |\n";
  }
  for (const auto& r : runs) {
    md << "\n## " << kDatasets[r.dataset] << ": " << kSweeps[r.sweep] << " (" << kSections[r.sweep] << ")\n\n`" << r.csv << "`: " << budget_text(r)
       << ", " << r.table.iterations() << " iteration(s).\n\n"
       << table_text(r.table) << "\n![" << r.table.experiment << "](" << r.figure << ")\n\n";
    for (const auto& claim : claims())
      if (claim.sweep == r.sweep) {
        const ClaimCheck c = claim.check(r.table, r.dataset);
        md << "- " << claim.text << ": **" << to_string(c.verdict) << "**. " << c.evidence << ".\n";
      }
  }
  return md.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"resilinet-report: the reproduction report (index.md and SVG figures) from the results CSVs of experiment runs"};
  std::vector<std::string> dirs;
  std::string out;
  app.add_option("results", dirs, "folders searched (recursively) for the programs' results .csv files and the .info beside each");
  app.add_option("--out", out, "folder the report is written to (index.md and one .svg per run)")->required();
  if (const int code = parse_command_line(app, argc, argv); code >= 0) return code;
  try {
    require_writable_folder("--out", out);
    resilinet::require(!dirs.empty(), "no results folder given (resilinet-report RESULTS_DIR... --out DIR)");
    const std::vector<Run> runs = find_runs(dirs);
    if (runs.empty()) throw resilinet::ValueError("no results .csv file under the folders given");
    make_directories(out);
    for (const auto& r : runs) resilinet::write_text_file(out + "/" + r.figure, figure_svg(r.table));
    resilinet::write_text_file(out + "/index.md", index_text(runs, dirs));
    std::printf("wrote %s/index.md and %zu figure(s) from %zu results file(s)\n", out.c_str(), runs.size(), runs.size());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "resilinet-report: %s\n", e.what());
    return 1;
  }
}
