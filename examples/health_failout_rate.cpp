// Spec §5.2: ResiliNet health MLPs trained with different failout survival rates: "variable"
// (survival = the reliability setting, evaluated at that setting) and fixed rates.
#include "common/health.hpp"

int main(int argc, char** argv) {
  return examples::health_main(argc, argv, "health_failout_rate", "ResiliNet expected accuracy per failout survival rate (mHealth)",
                               [&](examples::HealthExperiment& ex) {
    using resilinet::Variant;
    const auto settings = examples::health_settings();
    const std::vector<double> fixed_rates{0.95, 0.9, 0.7, 0.5};
    std::map<std::string, std::vector<double>> variable;                    // setting → E per iteration
    std::map<double, std::map<std::string, std::vector<double>>> fixed;    // rate → setting → E
    for (int it = 1; it <= ex.args().iterations; ++it) {
      ex.report().line("ITERATION " + std::to_string(it));
      ex.report().line("ResiliNet");
      for (const auto& s : settings) {
        if (s.name == "no_failure") {
          variable[s.name].push_back(0.0);  // the reference records 0 for no_failure
          continue;
        }
        auto o = ex.options(Variant::resilinet);
        o.survival = s.reliability;
        auto net = ex.train(o, std::to_string(it) + " " + ex.suffix() + s.text + "health_failout_rate");
        const auto acc = ex.accuracies(*net);
        variable[s.name].push_back(ex.evaluate("ResiliNet", "variable failout", s, it, acc, true));
      }
      for (double rate : fixed_rates) {
        auto o = ex.options(Variant::resilinet);
        o.survival = {rate, rate, rate};
        const std::string rate_text = examples::py(std::vector<double>{rate, rate, rate});
        auto net = ex.train(o, std::to_string(it) + " " + ex.suffix() + rate_text + "health_failout_rate");
        const auto acc = ex.accuracies(*net);
        bool first = true;
        for (const auto& s : settings) {
          ex.report().line(s.text);
          fixed[rate][s.name].push_back(
              ex.evaluate("ResiliNet", "failout " + examples::py(rate), s, it, acc, first));
          first = false;
        }
      }
    }
    for (const auto& s : settings) {
      const auto v = resilinet::mean_std(variable[s.name]);
      ex.report().line(s.text + " Variable Failout 1x: " + examples::py(v.mean));
      ex.report().line(s.text + " Variable Failout 1x std: " + examples::py(v.std));
      for (double rate : fixed_rates) {
        const auto f = resilinet::mean_std(fixed[rate][s.name]);
        ex.report().line(examples::py(rate) + s.text + " Fixed Failout: " + examples::py(f.mean));
        ex.report().line(s.text + " Fixed Failout std: " + examples::py(f.std));
      }
    }
    ex.finish();
  });
}
