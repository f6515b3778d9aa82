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

/// Results per series (model, rate, scheme or pattern), per setting name, per iteration.
using Cells = std::map<std::string, std::map<std::string, std::vector<double>>>;

}  // namespace

/// §5.1: Vanilla, DFG and ResiliNet (health, camera and ImageNet train ResiliNet first, CIFAR
/// Vanilla first), evaluated setting by setting, each setting for the three models in turn.
void average_accuracy(Experiment& ex) {
  using resilinet::Variant;
  const bool resilinet_first = ex.mlp_style() || ex.program().kind == Kind::imagenet;
  const std::vector<Variant> order = resilinet_first
      ? std::vector<Variant>{Variant::resilinet, Variant::dfg, Variant::vanilla}
      : std::vector<Variant>{Variant::vanilla, Variant::dfg, Variant::resilinet};
  // The reference's CIFAR scripts print the setting before each setting's evaluations and
  // summaries, the others an ITERATION header and the model's name before each evaluation.
  const bool cifar = !resilinet_first;
  // The reference's names in text and model files ("ResiliNet" with ResiliNet+ too, whose
  // files get the "mux_adds" suffix) and the CSV's (the variant trained: "ResiliNet+").
  std::vector<std::string> names, csv_names;
  for (Variant v : order) {
    names.push_back(resilinet::to_string(v));
    csv_names.push_back(resilinet::to_string(ex.options(v).variant));
  }
  Cells results;
  for (int it = 1; it <= ex.args().iterations; ++it) {
    ex.start_iteration(it);
    if (!cifar) ex.report().line("ITERATION " + std::to_string(it));
    std::vector<std::vector<double>> acc;
    for (Variant v : order) {
      const auto o = ex.options(v);
      const bool plus = o.variant == Variant::resilinet_plus;
      const std::string file_name = v == Variant::vanilla ? "vanilla" : resilinet::to_string(v);
      acc.push_back(ex.result(o, ex.model_prefix() + std::to_string(it) + (plus ? ex.suffix() : "") +
                                     "average_accuracy_" + file_name));
    }
    bool first = true;
    for (const auto& s : ex.settings()) {
      if (cifar) ex.report().line(s.text);
      for (std::size_t m = 0; m < order.size(); ++m) {
        if (!cifar) ex.report().line(names[m]);
        results[names[m]][s.name].push_back(ex.evaluate(csv_names[m], "", s, it, acc[m], first));
      }
      first = false;
    }
  }
  for (const auto& s : ex.settings()) {
    if (cifar) ex.report().line(s.text);
    for (const auto& name : names)
      ex.report().line(s.text + " " + name + " accuracy: " + py(resilinet::mean_std(results[name][s.name]).mean));
    for (const auto& name : names)
      ex.report().line(s.text + " " + name + " std: " + py(resilinet::mean_std(results[name][s.name]).std));
  }
}

/// §5.2: ResiliNet with failout survival equal to each reliability setting ("variable",
/// evaluated at that setting only; no_failure recorded as 0) and with the fixed rates of
/// --failout-rates (the reference's by default), each evaluated at every setting.
void failout_rate(Experiment& ex) {
  using resilinet::Variant;
  const std::vector<double>& fixed_rates = ex.args().failout_rates;
  const std::string name = ex.file_stem();
  std::map<std::string, std::vector<double>> variable;  // setting → E per iteration
  Cells fixed;                                          // survival list → setting → E
  std::vector<std::string> survivals;                   // "[0.9, 0.9]", as the reference prints them
  for (double rate : fixed_rates) survivals.push_back(py(std::vector<double>(ex.failable(), rate)));
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
    for (std::size_t r = 0; r < fixed_rates.size(); ++r) {
      auto o = ex.options(Variant::resilinet);
      o.survival.assign(ex.failable(), fixed_rates[r]);
      const auto acc = ex.result(o, std::to_string(it) + " " + ex.suffix() + survivals[r] + name + "_failout_rate");
      bool first = true;
      for (const auto& s : ex.settings()) {
        ex.report().line(s.text);
        fixed[survivals[r]][s.name].push_back(
            ex.evaluate("ResiliNet", "failout " + py(fixed_rates[r]), s, it, acc, first));
        first = false;
      }
    }
  }
  for (const auto& s : ex.settings()) {
    const auto v = resilinet::mean_std(variable[s.name]);
    ex.report().line(s.text + " Variable Failout 1x: " + py(v.mean));
    ex.report().line(s.text + " Variable Failout 1x std: " + py(v.std));
  }
  for (const auto& survival : survivals)
    for (const auto& s : ex.settings()) {
      const auto f = resilinet::mean_std(fixed[survival][s.name]);
      ex.report().line(survival + s.text + " Fixed Failout: " + py(f.mean));
      ex.report().line(s.text + " Fixed Failout std: " + py(f.std));
    }
}

/// §5.3: ResiliNet with weight schemes 1–4; schemes 2 and 3 train one model per setting
/// (evaluated there only), schemes 1 and 4 one model evaluated at every setting. Scheme 5 is
/// reported as 0.
void hyperconnection_weight(Experiment& ex) {
  using resilinet::Variant;
  const auto settings = ex.settings();
  const std::string name = ex.file_stem();
  // Schemes 1 and 4 name their model after the reference's default setting, a list of int 1s.
  const std::string ones = bits_text(std::vector<bool>(ex.failable(), true));
  // The CIFAR scripts print "<set><scheme>" before each evaluation and summary; health and camera none.
  const bool headers = !ex.mlp_style();
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
        if (headers) ex.report().line(s.text + std::to_string(scheme));
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
      if (headers) {
        ex.report().line(head);
        ex.report().line(head + py(ms.mean));
        ex.report().line(head + py(ms.std));
      } else {
        ex.report().line(head + " ResiliNet Hyperconnection Weight: " + py(ms.mean));
        ex.report().line(head + " ResiliNet Hyperconnection Weight std: " + py(ms.std));
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
  const std::string model_name = "ResiliNet Hyperconnection Weight Sensitivity";  // the reference's
  Cells results;  // pattern → setting → E
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
        ex.report().line(s.text);
        if (ex.program().kind == Kind::camera) ex.report().line(model_name + texts[c]);
        if (ex.program().kind == Kind::health) ex.report().line(model_name);
        results[texts[c]][s.name].push_back(ex.evaluate("ResiliNet", "skips " + texts[c], s, it, acc, first));
        first = false;
      }
    }
  }
  for (const auto& s : ex.settings()) {
    if (ex.mlp_style()) ex.report().line(s.text);
    for (const auto& cfg : texts) {
      const auto ms = resilinet::mean_std(results[cfg][s.name]);
      if (ex.mlp_style()) {
        ex.report().line(cfg);
        ex.report().line(s.text + " " + cfg + " accuracy: " + py(ms.mean));
        ex.report().line(s.text + " " + cfg + " std: " + py(ms.std));
      } else {
        ex.report().line(s.text);
        ex.report().line(s.text + cfg + py(ms.mean));
        ex.report().line(s.text + cfg + py(ms.std));
      }
    }
  }
}

}  // namespace examples
