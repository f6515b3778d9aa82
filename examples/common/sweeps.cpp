// The four experiments of spec §5, written once for every dataset: average accuracy (§5.1),
// failout rate (§5.2), hyperconnection weight (§5.3) and skip-hyperconnection sensitivity
// (§5.4). Each writes the reference script's lines (spec §7) for its dataset. Experiment::run()
// calls a sweep twice: the first pass lists its trainings (the plan, whose trainings may run
// in other processes or on other machines), the second writes the report from their results.

#include <map>
#include <string>
#include <vector>

#include "experiment.hpp"

namespace examples {

namespace {

/// "[1, 0, 1]": an on/off vector as the reference prints it.
std::string bits_text(const std::vector<bool>& bits) {
  std::string s = "[";
  for (std::size_t i = 0; i < bits.size(); ++i) s += (i ? ", " : "") + std::to_string(int(bits[i]));
  return s + "]";
}

/// Mean and std of every (series, setting) cell as the reference's summary lines; `line`
/// formats one line from the setting, the series and the value (`std` says which).
void summarize(Experiment& ex, const std::vector<std::string>& series,
                      std::map<std::string, std::map<std::string, std::vector<double>>>& cells,
                      const std::function<std::string(const Setting&, const std::string&, bool, double)>& line) {
  for (const auto& s : ex.settings())
    for (const auto& name : series) {
      const auto ms = resilinet::mean_std(cells[name][s.name]);
      ex.report().line(line(s, name, false, ms.mean));
      ex.report().line(line(s, name, true, ms.std));
    }
}

}  // namespace

/// §5.1: Vanilla, DFG and ResiliNet (health and ImageNet train ResiliNet first, CIFAR
/// Vanilla first), evaluated at the four settings.
void average_accuracy(Experiment& ex) {
  using resilinet::Variant;
  const bool resilinet_first = ex.mlp_style() || ex.program().kind == Kind::imagenet;
  const std::vector<Variant> order = resilinet_first
      ? std::vector<Variant>{Variant::resilinet, Variant::dfg, Variant::vanilla}
      : std::vector<Variant>{Variant::vanilla, Variant::dfg, Variant::resilinet};
  // The reference's CIFAR scripts print the setting before each evaluation, the others the
  // model name and an ITERATION header.
  const bool cifar = !resilinet_first;
  std::map<std::string, std::map<std::string, std::vector<double>>> results;
  std::vector<std::string> names;
  for (int it = 1; it <= ex.args().iterations; ++it) {
    ex.start_iteration(it);
    if (!cifar) ex.report().line("ITERATION " + std::to_string(it));
    for (Variant v : order) {
      const auto o = ex.options(v);
      const std::string name = resilinet::to_string(o.variant);
      if (it == 1) names.push_back(name);
      const bool plus = o.variant == Variant::resilinet_plus;
      const auto acc = ex.result(o, ex.model_prefix() + std::to_string(it) + (plus ? ex.suffix() : "") +
                                        "average_accuracy_" + name);
      bool first = true;
      for (const auto& s : ex.settings()) {
        ex.report().line(cifar ? s.text : name);
        results[name][s.name].push_back(ex.evaluate(name, "", s, it, acc, first));
        first = false;
      }
    }
  }
  summarize(ex, names, results, [](const Setting& s, const std::string& name, bool std, double v) {
    return s.text + " " + name + (std ? " std: " : " accuracy: ") + py(v);
  });
}

/// §5.2: ResiliNet with failout survival equal to each reliability setting ("variable",
/// evaluated at that setting only; no_failure recorded as 0) and with the fixed rates of
/// --failout-rates (the reference's by default).
void failout_rate(Experiment& ex) {
  using resilinet::Variant;
  const std::vector<double>& fixed_rates = ex.args().failout_rates;
  const std::string name = ex.file_stem();
  std::map<std::string, std::vector<double>> variable;                  // setting → E per iteration
  std::map<double, std::map<std::string, std::vector<double>>> fixed;  // rate → setting → E
  for (int it = 1; it <= ex.args().iterations; ++it) {
    ex.start_iteration(it);
    ex.report().line("ITERATION " + std::to_string(it));
    ex.report().line("ResiliNet");
    for (const auto& s : ex.settings()) {
      if (s.name == "no_failure") {
        variable[s.name].push_back(0.0);  // the reference records 0 for no_failure
        continue;
      }
      auto o = ex.options(Variant::resilinet);
      o.survival = s.reliability;
      const auto acc = ex.result(o, std::to_string(it) + " " + ex.suffix() + s.text + name + "_failout_rate");
      variable[s.name].push_back(ex.evaluate("ResiliNet", "variable failout", s, it, acc, true));
    }
    for (double rate : fixed_rates) {
      auto o = ex.options(Variant::resilinet);
      o.survival.assign(ex.failable(), rate);
      const std::string rate_text = py(o.survival);
      const auto acc = ex.result(o, std::to_string(it) + " " + ex.suffix() + rate_text + name + "_failout_rate");
      bool first = true;
      for (const auto& s : ex.settings()) {
        ex.report().line(s.text);
        fixed[rate][s.name].push_back(ex.evaluate("ResiliNet", "failout " + py(rate), s, it, acc, first));
        first = false;
      }
    }
  }
  for (const auto& s : ex.settings()) {
    const auto v = resilinet::mean_std(variable[s.name]);
    ex.report().line(s.text + " Variable Failout 1x: " + py(v.mean));
    ex.report().line(s.text + " Variable Failout 1x std: " + py(v.std));
    for (double rate : fixed_rates) {
      const auto f = resilinet::mean_std(fixed[rate][s.name]);
      ex.report().line(py(rate) + s.text + " Fixed Failout: " + py(f.mean));
      ex.report().line(s.text + " Fixed Failout std: " + py(f.std));
    }
  }
}

/// §5.3: ResiliNet with weight schemes 1–4; schemes 2 and 3 train one model per setting
/// (evaluated there only), schemes 1 and 4 one model evaluated at every setting. Scheme 5 is
/// reported as 0.
void hyperconnection_weight(Experiment& ex) {
  using resilinet::Variant;
  const auto settings = ex.settings();
  const std::string name = ex.file_stem();
  const std::string ones = py(std::vector<double>(ex.failable(), 1.0));
  std::map<int, std::map<std::string, std::vector<double>>> results;  // scheme → setting → E
  for (int it = 1; it <= ex.args().iterations; ++it) {
    ex.start_iteration(it);
    if (ex.mlp_style()) ex.report().line("ITERATION " + std::to_string(it));
    for (int scheme : {1, 2, 3, 4}) {
      const bool per_setting = scheme == 2 || scheme == 3;
      std::vector<double> acc;
      bool first = true;
      for (const auto& s : settings) {
        if (per_setting || acc.empty()) {
          auto o = ex.options(Variant::resilinet);
          o.scheme = resilinet::weight_scheme(scheme);
          if (per_setting) o.weight_reliability = s.reliability;
          acc = ex.result(o, std::to_string(it) + "_" + ex.suffix() + (per_setting ? s.text : ones) + "_" +
                                 std::to_string(scheme) + name + "_hyperconnection_ResiliNet");
          first = true;
        }
        ex.report().line(s.text + std::to_string(scheme));
        results[scheme][s.name].push_back(
            ex.evaluate("ResiliNet", "scheme " + std::to_string(scheme), s, it, acc, first));
        first = false;
      }
    }
  }
  for (const auto& s : settings)
    for (int scheme : {1, 2, 3, 4, 5}) {
      const auto ms = scheme == 5 ? resilinet::MeanStd{0, 0} : resilinet::mean_std(results[scheme][s.name]);
      const std::string head = s.text + std::to_string(scheme);
      if (ex.mlp_style()) {
        ex.report().line(head + " ResiliNet Hyperconnection Weight: " + py(ms.mean));
        ex.report().line(head + " ResiliNet Hyperconnection Weight std: " + py(ms.std));
      } else {
        ex.report().line(head + py(ms.mean));
        ex.report().line(head + py(ms.std));
      }
    }
}

/// §5.4: ResiliNet with each on/off pattern of the skip hyperconnections (health: 8 patterns
/// of [f2→c, e→f1, IoT→f2]; CNN: 4 of [e→c, IoT→f]; camera: the 8 hand-picked patterns of the
/// 7 skips), each with its own no-flow map.
void skiphyperconnection_sensitivity(Experiment& ex) {
  using resilinet::Variant;
  std::vector<std::vector<bool>> configs;
  if (ex.program().kind == Kind::camera) {
    for (const char* bits : {"1111000", "1000001", "1000100", "0000101", "0000001", "0000011", "1111001", "1111111"}) {
      configs.emplace_back();
      for (const char* b = bits; *b; ++b) configs.back().push_back(*b == '1');
    }
  } else if (ex.failable() == 3) {
    configs = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {1, 0, 1}, {0, 1, 1}, {1, 1, 1}};
  } else {
    configs = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};
  }
  const std::string name = ex.file_stem();
  std::map<std::string, std::map<std::string, std::vector<double>>> results;  // cfg → setting → E
  std::vector<std::string> texts;
  for (const auto& cfg : configs) texts.push_back(bits_text(cfg));
  for (int it = 1; it <= ex.args().iterations; ++it) {
    ex.start_iteration(it);
    if (ex.mlp_style()) ex.report().line("ITERATION " + std::to_string(it));
    for (std::size_t c = 0; c < configs.size(); ++c) {
      auto o = ex.options(Variant::resilinet);
      o.skips = configs[c];
      const auto acc = ex.result(o, std::to_string(it) + " " + ex.suffix() + texts[c] + " " + name +
                                        "_skiphyperconnection_sensitivity_ResiliNet");
      bool first = true;
      for (const auto& s : ex.settings()) {
        if (ex.program().kind == Kind::camera) ex.report().line("ResiliNet" + texts[c]);
        if (ex.program().kind == Kind::health) ex.report().line("ResiliNet");
        ex.report().line(s.text);
        results[texts[c]][s.name].push_back(ex.evaluate("ResiliNet", "skips " + texts[c], s, it, acc, first));
        first = false;
      }
    }
  }
  const bool mlp = ex.mlp_style();
  summarize(ex, texts, results, [mlp](const Setting& s, const std::string& cfg, bool std, double v) {
    if (mlp) return s.text + " " + cfg + (std ? " std: " : " accuracy: ") + py(v);
    return s.text + cfg + py(v);
  });
}

}  // namespace examples
