#pragma once
// The paper's claims checked against a results table at its most failure-prone setting (the
// table's last, "hazardous"): each check compares means over iterations and says whether the
// claim holds, holds only within noise (a margin below the larger of the two standard
// deviations compared), does not hold, or is not measured by the table.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "results_table.hpp"

namespace examples {

/// A claim's verdict, from best to worst.
enum class Verdict { holds, within_noise, not_measured, does_not_hold };

/// The verdict as the report prints it.
inline std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::holds: return "holds";
    case Verdict::within_noise: return "holds within noise";
    case Verdict::does_not_hold: return "does not hold";
    default: return "not measured";
  }
}

/// A claim checked against one table: the verdict and the numbers it follows from.
struct ClaimCheck {
  /// The verdict.
  Verdict verdict = Verdict::not_measured;
  /// The numbers behind it, one sentence.
  std::string evidence;
};

/// "0.5480 ± 0.0297" (the std left out for one iteration).
inline std::string mean_std_text(const resilinet::MeanStd& m) {
  char buf[64];
  if (std::isnan(m.std))
    std::snprintf(buf, sizeof buf, "%.4f", m.mean);
  else
    std::snprintf(buf, sizeof buf, "%.4f ± %.4f", m.mean, m.std);
  return buf;
}

/// Over the iterations both `x` and `y` have: how many there are, and in how many x's value
/// exceeds y's (or equals it, with `or_equal`).
inline std::pair<int, int> paired_leads(const std::map<int, double>& x, const std::map<int, double>& y,
                                        bool or_equal) {
  int n = 0, k = 0;
  for (const auto& [it, v] : x) {
    const auto other = y.find(it);
    if (other == y.end()) continue;
    ++n;
    k += or_equal ? v >= other->second : v > other->second;
  }
  return {n, k};
}

/// One comparison of a claim: series `a` beats series `b` (or equals it, when `or_equal`) at
/// `setting`; its verdict, and in how many of the shared iterations it held.
struct Comparison {
  /// The series expected to lead and the one expected to follow.
  std::string a, b;
  /// Whether a tie satisfies the claim.
  bool or_equal = false;

  /// The verdict of this comparison in `t` at `setting`.
  Verdict verdict(const ResultsTable& t, const std::string& setting) const {
    if (!t.has(a, setting) || !t.has(b, setting)) return Verdict::not_measured;
    const auto x = t.stats(a, setting), y = t.stats(b, setting);
    const bool holds = or_equal ? x.mean >= y.mean : x.mean > y.mean;
    if (!holds) return Verdict::does_not_hold;
    return x.mean - y.mean < std::max(spread(x), spread(y)) ? Verdict::within_noise : Verdict::holds;
  }
  /// "a ≥ b in k of n iterations" over the iterations both have at `setting`.
  std::string iterations_text(const ResultsTable& t, const std::string& setting) const {
    const auto [n, k] = paired_leads(t.cell(a, setting), t.cell(b, setting), or_equal);
    return a + (or_equal ? " ≥ " : " > ") + b + " in " + std::to_string(k) + " of " + std::to_string(n) +
           " iteration(s)";
  }
};

/// The worst of several verdicts: does not hold, else not measured, else within noise.
inline Verdict worst(const std::vector<Verdict>& vs) {
  Verdict w = Verdict::holds;
  for (Verdict v : vs) w = std::max(w, v);
  return w;
}

/// The setting the claims are checked at: the table's last (hazardous in every program).
inline std::string claim_setting(const ResultsTable& t) { return t.settings.back().name; }

/// Checks `comparisons` in `t` and describes the series `shown` with them.
inline ClaimCheck check(const ResultsTable& t, const std::vector<Comparison>& comparisons,
                        const std::vector<std::string>& shown) {
  const std::string setting = claim_setting(t);
  ClaimCheck c;
  std::vector<Verdict> vs;
  for (const auto& cmp : comparisons) vs.push_back(cmp.verdict(t, setting));
  c.verdict = comparisons.empty() ? Verdict::not_measured : worst(vs);
  c.evidence = setting + ":";
  for (std::size_t i = 0; i < shown.size(); ++i)
    if (t.has(shown[i], setting)) c.evidence += (i ? ", " : " ") + shown[i] + " " + mean_std_text(t.stats(shown[i], setting));
  for (std::size_t i = 0; i < comparisons.size(); ++i)
    if (vs[i] != Verdict::not_measured) c.evidence += "; " + comparisons[i].iterations_text(t, setting);
  return c;
}

/// The ResiliNet series of a table: "ResiliNet", else "ResiliNet+" (the --resilinet-plus runs).
inline std::string resilinet_series(const ResultsTable& t) {
  const auto has = [&](const std::string& s) { return std::find(t.series.begin(), t.series.end(), s) != t.series.end(); };
  return has("ResiliNet") || !has("ResiliNet+") ? "ResiliNet" : "ResiliNet+";
}

/// §5.1's claim in an average-accuracy table: ResiliNet ≥ DFG > Vanilla.
inline ClaimCheck check_ordering(const ResultsTable& t) {
  const std::string r = resilinet_series(t);
  return check(t, {{r, "DFG", true}, {"DFG", "Vanilla", false}}, {r, "DFG", "Vanilla"});
}

/// The failout survival rate of a failout-rate series ("ResiliNet failout 0.9" → 0.9), else -1.
inline double failout_rate_of(const std::string& series) {
  const auto at = series.rfind(" failout ");
  if (at == std::string::npos) return -1;
  char* end = nullptr;
  const double r = std::strtod(series.c_str() + at + 9, &end);
  return *end == '\0' ? r : -1;
}

/// §5.2's claim in a failout-rate table: every fixed survival rate in 0.7–0.9 beats the
/// fixed rate `baseline` (1: no failout; or 0.95).
inline ClaimCheck check_failout_beats(const ResultsTable& t, double baseline) {
  std::string base;
  std::vector<std::string> mid;
  for (const auto& s : t.series) {
    const double r = failout_rate_of(s);
    if (r == baseline) base = s;
    if (r >= 0.7 && r <= 0.9) mid.push_back(s);
  }
  std::vector<Comparison> cmp;
  if (!base.empty())
    for (const auto& s : mid) cmp.push_back({s, base, false});
  std::vector<std::string> shown = mid;
  if (!base.empty()) shown.push_back(base);
  ClaimCheck c = check(t, cmp, shown);
  if (cmp.empty()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", baseline);
    c.evidence = base.empty() ? std::string("no run at survival ") + buf : "no run at survival 0.7–0.9";
  }
  return c;
}

/// The on/off pattern of a skip-sensitivity series ("ResiliNet skips [1, 0, 1]"); empty if none.
inline std::vector<bool> skip_pattern_of(const std::string& series) {
  const auto at = series.rfind(" skips [");
  std::vector<bool> bits;
  if (at == std::string::npos) return bits;
  for (std::size_t i = at + 8; i < series.size() && series[i] != ']'; ++i)
    if (series[i] == '0' || series[i] == '1') bits.push_back(series[i] == '1');
  return bits;
}

/// §5.4's claim in a skip-sensitivity table: every skip hyperconnection helps. A skip's
/// effect is the mean over the patterns with it of their mean expected accuracy, less that
/// over the patterns without it; it helps when positive, within noise when below the largest
/// standard deviation of the patterns; skips switched together in every pattern share the
/// place of the one that matters most. `names` names the skips in pattern order.
inline ClaimCheck check_every_skip_helps(const ResultsTable& t, const std::vector<std::string>& names) {
  const std::string setting = claim_setting(t);
  ClaimCheck c;
  std::vector<std::pair<std::vector<bool>, resilinet::MeanStd>> patterns;
  double noise = 0;
  for (const auto& s : t.series) {
    const auto bits = skip_pattern_of(s);
    if (bits.size() != names.size() || !t.has(s, setting)) continue;
    patterns.emplace_back(bits, t.stats(s, setting));
    noise = std::max(noise, spread(patterns.back().second));
  }
  if (patterns.empty()) {
    c.evidence = "no skip patterns of " + std::to_string(names.size()) + " skips";
    return c;
  }
  std::vector<Verdict> vs;
  std::size_t best = names.size();
  double best_effect = -1e9;
  c.evidence = setting + ", effect of each skip:";
  for (std::size_t k = 0; k < names.size(); ++k) {
    double with = 0, without = 0;
    int n_with = 0, n_without = 0;
    for (const auto& [bits, m] : patterns) {
      (bits[k] ? with : without) += m.mean;
      ++(bits[k] ? n_with : n_without);
    }
    if (n_with == 0 || n_without == 0) {
      vs.push_back(Verdict::not_measured);
      c.evidence += std::string(k ? "," : "") + " " + names[k] + " not varied";
      continue;
    }
    const double effect = with / n_with - without / n_without;
    vs.push_back(effect <= 0 ? Verdict::does_not_hold : effect < noise ? Verdict::within_noise : Verdict::holds);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.4f", effect);
    c.evidence += std::string(k ? "," : "") + " " + names[k] + " " + buf;
    if (effect > best_effect) best_effect = effect, best = k;
  }
  c.verdict = worst(vs);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", noise);
  c.evidence += " (largest pattern std " + std::string(buf) + ")";
  if (best == names.size()) return c;
  // Skips switched on and off together in every pattern have one effect: name them all.
  std::string most = names[best];
  const auto together = [&](std::size_t k) {
    return std::all_of(patterns.begin(), patterns.end(), [&](const auto& p) { return p.first[k] == p.first[best]; });
  };
  int tied = 1;
  for (std::size_t k = 0; k < names.size(); ++k)
    if (k != best && together(k)) most += ", " + names[k], ++tied;
  c.evidence += "; matters most: " + most + (tied > 1 ? " (switched together in every pattern)" : "");
  return c;
}

/// §5.3's claim in a weight-scheme table: scheme 1 is as good as the others (at least the
/// best of schemes 2–4; within noise when below it by less than the larger std).
inline ClaimCheck check_scheme_one(const ResultsTable& t) {
  const std::string setting = claim_setting(t);
  const std::string r = resilinet_series(t), one = r + " scheme 1";
  std::string best;
  for (int k = 2; k <= 4; ++k) {
    const std::string s = r + " scheme " + std::to_string(k);
    if (t.has(s, setting) && (best.empty() || t.stats(s, setting).mean > t.stats(best, setting).mean)) best = s;
  }
  ClaimCheck c;
  if (best.empty() || !t.has(one, setting)) {
    c.evidence = "no scheme 1 or no other scheme at " + setting;
    return c;
  }
  c = check(t, {{one, best, true}}, {one, r + " scheme 2", r + " scheme 3", r + " scheme 4"});
  if (c.verdict == Verdict::does_not_hold) {
    const auto x = t.stats(one, setting), y = t.stats(best, setting);
    if (y.mean - x.mean < std::max(spread(x), spread(y))) c.verdict = Verdict::within_noise;
  }
  return c;
}

/// A change beyond the paper (ResiliNet+, standardized features, early exits) measured at one setting as
/// series `with` of one run against series `without` of a run that differs only in that change.
struct ChangeCheck {
  /// Mean and standard deviation over the iterations, without and with the change.
  resilinet::MeanStd without, with;
  /// The change of the means (with less without).
  double difference = 0;
  /// Whether the difference is smaller than the larger of the two standard deviations.
  bool within_noise = false;
  /// The iterations both runs have, and in how many of them the change raised the value.
  int paired = 0, raised = 0;
};

/// `with_series` of `with_table` against `without_series` of `without_table` at `setting`
/// (both must have it); iterations pair by number (the same seed draws the same splits).
inline ChangeCheck check_change(const ResultsTable& without_table, const std::string& without_series,
                                const ResultsTable& with_table, const std::string& with_series,
                                const std::string& setting) {
  ChangeCheck c;
  c.without = without_table.stats(without_series, setting);
  c.with = with_table.stats(with_series, setting);
  c.difference = c.with.mean - c.without.mean;
  c.within_noise = std::abs(c.difference) < std::max(spread(c.without), spread(c.with));
  std::tie(c.paired, c.raised) =
      paired_leads(with_table.cell(with_series, setting), without_table.cell(without_series, setting), false);
  return c;
}

}  // namespace examples
