// resilinet-report's reading of results CSVs and its verdicts on the paper's claims, against
// hand-computed tables.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "../examples/common/claims.hpp"

using namespace examples;

namespace {

const std::string kHead = "experiment,model,variant,setting,reliability,iteration,expected_accuracy,acc_00,acc_01\n";

/// A results table read from `rows` ("model;variant;setting;iteration;E" each) of experiment `name`.
ResultsTable table(const std::vector<std::string>& rows, const std::string& name = "x_average_accuracy") {
  std::string text = kHead;
  for (const auto& r : rows) {
    std::vector<std::string> f;
    std::size_t at = 0;
    for (std::size_t next; (next = r.find(';', at)) != std::string::npos; at = next + 1) f.push_back(r.substr(at, next - at));
    f.push_back(r.substr(at));
    REQUIRE(f.size() == 5);
    text += name + "," + f[0] + ",\"" + f[1] + "\"," + f[2] + ",\"[0.85, 0.8]\"," + f[3] + "," + f[4] + ",0.1,0.9\n";
  }
  const std::string path = "/tmp/resilinet_test_" + std::to_string(::getpid()) + "_claims.csv";
  std::ofstream(path) << text;
  ResultsTable t = read_results_csv(path);
  std::remove(path.c_str());
  return t;
}

/// Rows of `series` (model, variant) at hazardous with one value per iteration.
void add(std::vector<std::string>& rows, const std::string& model, const std::string& variant,
         const std::vector<std::string>& values) {
  for (std::size_t i = 0; i < values.size(); ++i)
    rows.push_back(model + ";" + variant + ";hazardous;" + std::to_string(i + 1) + ";" + values[i]);
}

std::vector<std::string> ordering_rows(const std::vector<std::string>& resilinet) {
  std::vector<std::string> rows;
  add(rows, "ResiliNet", "", resilinet);
  add(rows, "DFG", "", {"0.75", "0.77", "0.73"});     // 0.75 ± 0.02
  add(rows, "Vanilla", "", {"0.50", "0.52", "0.48"});  // 0.50 ± 0.02
  return rows;
}

}  // namespace

TEST_CASE("claims: ResiliNet >= DFG > Vanilla holds, within noise, or not") {
  // ResiliNet 0.80 ± 0.02: both margins (0.05, 0.25) exceed the larger std (0.02).
  auto c = check_ordering(table(ordering_rows({"0.80", "0.82", "0.78"})));
  CHECK(c.verdict == Verdict::holds);
  CHECK(c.evidence ==
        "hazardous: ResiliNet 0.8000 ± 0.0200, DFG 0.7500 ± 0.0200, Vanilla 0.5000 ± 0.0200; ResiliNet ≥ DFG in 3 of "
        "3 iteration(s); DFG > Vanilla in 3 of 3 iteration(s)");
  // ResiliNet 0.76 ± 0.02: ahead of DFG by 0.01, less than a std.
  c = check_ordering(table(ordering_rows({"0.76", "0.78", "0.74"})));
  CHECK(c.verdict == Verdict::within_noise);
  CHECK(c.evidence.find("ResiliNet ≥ DFG in 3 of 3") != std::string::npos);
  // ResiliNet 0.74: behind DFG in the mean (and in iterations 1 and 3: 0.73 < 0.75, 0.72 < 0.73).
  c = check_ordering(table(ordering_rows({"0.73", "0.78", "0.72"})));
  CHECK(c.verdict == Verdict::does_not_hold);
  CHECK(c.evidence.find("ResiliNet ≥ DFG in 1 of 3") != std::string::npos);
  // No Vanilla: DFG > Vanilla is not measured.
  std::vector<std::string> rows;
  add(rows, "ResiliNet", "", {"0.80"});
  add(rows, "DFG", "", {"0.75"});
  CHECK(check_ordering(table(rows)).verdict == Verdict::not_measured);
  // A ResiliNet+ run is checked as ResiliNet.
  rows.clear();
  add(rows, "ResiliNet+", "", {"0.80"});
  add(rows, "DFG", "", {"0.75"});
  add(rows, "Vanilla", "", {"0.5"});
  CHECK(check_ordering(table(rows)).verdict == Verdict::holds);
}

TEST_CASE("claims: failout at 0.7-0.9 against no failout and 0.95") {
  std::vector<std::string> rows;
  add(rows, "ResiliNet", "variable failout", {"0.9", "0.9", "0.9"});  // not a fixed rate: ignored
  add(rows, "ResiliNet", "failout 1.0", {"0.48", "0.49", "0.47"});
  add(rows, "ResiliNet", "failout 0.9", {"0.52", "0.53", "0.51"});
  add(rows, "ResiliNet", "failout 0.5", {"0.1", "0.1", "0.1"});  // outside 0.7–0.9: ignored
  auto t = table(rows, "x_failout_rate");
  CHECK(check_failout_beats(t, 1.0).verdict == Verdict::holds);
  const auto none = check_failout_beats(t, 0.95);
  CHECK(none.verdict == Verdict::not_measured);
  CHECK(none.evidence == "no run at survival 0.95");
  // 0.7 at 0.48 ties no failout's mean: not beaten.
  add(rows, "ResiliNet", "failout 0.7", {"0.50", "0.46", "0.48"});
  CHECK(check_failout_beats(table(rows, "x_failout_rate"), 1.0).verdict == Verdict::does_not_hold);
}

TEST_CASE("claims: each skip's effect is the mean with it less the mean without it") {
  std::vector<std::string> rows;
  add(rows, "ResiliNet", "skips [0, 0]", {"0.30"});
  add(rows, "ResiliNet", "skips [1, 0]", {"0.40"});
  add(rows, "ResiliNet", "skips [0, 1]", {"0.34"});
  add(rows, "ResiliNet", "skips [1, 1]", {"0.50"});
  // edge→cloud: (0.40 + 0.50) / 2 - (0.30 + 0.34) / 2 = 0.13; IoT→fog: 0.42 - 0.35 = 0.07.
  auto c = check_every_skip_helps(table(rows, "x_skiphyperconnection"), {"edge→cloud", "IoT→fog"});
  CHECK(c.verdict == Verdict::holds);
  CHECK(c.evidence ==
        "hazardous, effect of each skip: edge→cloud +0.1300, IoT→fog +0.0700 (largest pattern std 0.0000); matters "
        "most: edge→cloud");
  rows[2] = "ResiliNet;skips [0, 1];hazardous;1;0.20";  // IoT→fog: (0.20 + 0.50) / 2 - 0.35 = 0
  c = check_every_skip_helps(table(rows, "x_skiphyperconnection"), {"edge→cloud", "IoT→fog"});
  CHECK(c.verdict == Verdict::does_not_hold);
  CHECK(c.evidence.find("IoT→fog +0.0000") != std::string::npos);
  // Patterns of another length (health's 3 skips) measure nothing here.
  CHECK(check_every_skip_helps(table(rows, "x_skiphyperconnection"), {"a", "b", "c"}).verdict == Verdict::not_measured);
}

TEST_CASE("claims: skips switched together in every pattern share the place of the one that matters most") {
  std::vector<std::string> rows;
  add(rows, "ResiliNet", "skips [0, 0, 0]", {"0.30"});
  add(rows, "ResiliNet", "skips [1, 1, 0]", {"0.50"});
  add(rows, "ResiliNet", "skips [0, 0, 1]", {"0.34"});
  add(rows, "ResiliNet", "skips [1, 1, 1]", {"0.56"});
  // a and b: (0.50 + 0.56) / 2 - (0.30 + 0.34) / 2 = 0.21 each; c: 0.45 - 0.40 = 0.05.
  const auto c = check_every_skip_helps(table(rows, "x_skiphyperconnection"), {"a", "b", "c"});
  CHECK(c.verdict == Verdict::holds);
  CHECK(c.evidence ==
        "hazardous, effect of each skip: a +0.2100, b +0.2100, c +0.0500 (largest pattern std 0.0000); matters most: "
        "a, b (switched together in every pattern)");
}

TEST_CASE("claims: weight scheme 1 against the best of the others") {
  std::vector<std::string> rows;
  add(rows, "ResiliNet", "scheme 1", {"0.60", "0.63", "0.57"});  // 0.60 ± 0.03
  add(rows, "ResiliNet", "scheme 2", {"0.62", "0.62", "0.62"});  // 0.62 ± 0
  add(rows, "ResiliNet", "scheme 3", {"0.55", "0.55", "0.55"});
  auto c = check_scheme_one(table(rows, "x_hyperconnection_weight"));
  CHECK(c.verdict == Verdict::within_noise);  // 0.02 behind, less than 0.03
  CHECK(c.evidence.find("ResiliNet scheme 1 ≥ ResiliNet scheme 2 in 1 of 3") != std::string::npos);
  rows[3] = "ResiliNet;scheme 2;hazardous;1;0.75";
  rows[4] = "ResiliNet;scheme 2;hazardous;2;0.75";
  rows[5] = "ResiliNet;scheme 2;hazardous;3;0.75";
  CHECK(check_scheme_one(table(rows, "x_hyperconnection_weight")).verdict == Verdict::does_not_hold);
  rows.resize(3);
  CHECK(check_scheme_one(table(rows, "x_hyperconnection_weight")).verdict == Verdict::not_measured);
}

TEST_CASE("results CSV: settings in the programs' order, malformed files refused by line") {
  const std::string path = "/tmp/resilinet_test_" + std::to_string(::getpid()) + "_bad.csv";
  const auto refused = [&](const std::string& text, const std::string& message) {
    std::ofstream(path) << text;
    CHECK_THROWS_WITH_AS(read_results_csv(path), doctest::Contains(message.c_str()), resilinet::Error);
  };
  const std::string row = "e,ResiliNet,\"\",hazardous,\"[0.85, 0.8]\",1,0.5,0.1,0.9\n";
  refused("model,setting\n", "is not a results table");
  refused(kHead, "has a header but no results");
  refused(kHead + "e,ResiliNet,\"\",hazardous,\"[0.85, 0.8]\",1,0.5\n", "line 2 has 7 fields, the header 9");
  refused(kHead + "e,ResiliNet,\"\",hazardous,\"[0.85, 0.8]\",0,0.5,0.1,0.9\n", "iteration '0' is not a number from 1");
  refused(kHead + "e,ResiliNet,\"\",hazardous,\"[0.85, 0.8]\",1,1.5,0.1,0.9\n", "'1.5' is not in [0, 1]");
  refused(kHead + row + row, "line 3 repeats ResiliNet at hazardous in iteration 1");
  refused(kHead + row + "f" + row.substr(1), "line 3 is of experiment 'f'");
  std::remove(path.c_str());
  std::vector<std::string> rows = {"ResiliNet;;poor;1;0.6", "ResiliNet;;normal;1;0.7", "ResiliNet;;no_failure;1;0.8"};
  add(rows, "ResiliNet", "", {"0.5"});
  const auto t = table(rows);
  REQUIRE(t.settings.size() == 4);
  CHECK(t.settings[0].name == "no_failure");
  CHECK(t.settings[3].name == "hazardous");
  CHECK(t.settings[3].text == "[0.85, 0.8]");
  CHECK(claim_setting(t) == "hazardous");
}

TEST_CASE("claims: a change beyond the paper against the run without it, iterations paired") {
  std::vector<std::string> without, with;
  add(without, "ResiliNet", "", {"0.70", "0.80", "0.75"});  // 0.75 ± 0.05
  add(with, "ResiliNet+", "", {"0.78", "0.79", "0.81"});    // 0.7933 ± 0.0153; raised in iterations 1 and 3
  const ChangeCheck c = check_change(table(without), "ResiliNet", table(with), "ResiliNet+", "hazardous");
  CHECK(c.without.mean == doctest::Approx(0.75));
  CHECK(c.with.mean == doctest::Approx(0.7933333333));
  CHECK(c.difference == doctest::Approx(0.0433333333));
  CHECK(c.within_noise);  // 0.0433 < 0.05, the larger std
  CHECK(c.paired == 3);
  CHECK(c.raised == 2);
  // A larger rise is beyond the noise; an iteration only one run has is not paired.
  with.clear();
  add(with, "ResiliNet+", "", {"0.85", "0.86", "0.87", "0.90"});
  const ChangeCheck d = check_change(table(without), "ResiliNet", table(with), "ResiliNet+", "hazardous");
  CHECK_FALSE(d.within_noise);
  CHECK(d.paired == 3);
  CHECK(d.raised == 3);
  CHECK(d.difference == doctest::Approx(0.12));  // 0.87 - 0.75
  // A fall is a negative difference.
  const ChangeCheck e = check_change(table(with), "ResiliNet+", table(without), "ResiliNet", "hazardous");
  CHECK(e.difference == doctest::Approx(-0.12));
  CHECK(e.raised == 0);
}
