// Spec §5.1: train ResiliNet, DFG and Vanilla health MLPs `--iterations` times and report their
// expected accuracy under the four reliability settings.
#include "common/health.hpp"

int main(int argc, char** argv) {
  return examples::health_main(argc, argv, "health_average_accuracy", "expected accuracy of ResiliNet, DFG and Vanilla (mHealth)",
                               [&](examples::HealthExperiment& ex) {
    using resilinet::Variant;
    const auto settings = examples::health_settings();
    const Variant variants[] = {Variant::resilinet, Variant::dfg, Variant::vanilla};
    std::map<std::string, std::map<std::string, std::vector<double>>> results;
    std::vector<std::string> names;
    for (int it = 1; it <= ex.args().iterations; ++it) {
      ex.report().line("ITERATION " + std::to_string(it));
      for (Variant v : variants) {
        const auto o = ex.options(v);
        const std::string name = resilinet::to_string(o.variant);
        if (it == 1) names.push_back(name);
        auto net = ex.train(o, "Health" + std::to_string(it) + ex.suffix() + "average_accuracy_" + name);
        const auto acc = ex.accuracies(*net);
        bool first = true;
        for (const auto& s : settings) {
          ex.report().line(name);
          results[name][s.name].push_back(ex.evaluate(name, "", s, it, acc, first));
          first = false;
        }
      }
    }
    for (const auto& s : settings)
      for (const auto& name : names) {
        const auto ms = resilinet::mean_std(results[name][s.name]);
        ex.report().line(s.text + " " + name + " accuracy: " + examples::py(ms.mean));
        ex.report().line(s.text + " " + name + " std: " + examples::py(ms.std));
      }
    ex.finish();
  });
}
