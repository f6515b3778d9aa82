// Spec §5.4: ResiliNet health MLPs with each of the 8 on/off patterns of the skip
// hyperconnections [fog2→cloud, edge→fog1, IoT→fog2], each with its own no-flow map.
#include "common/health.hpp"

int main(int argc, char** argv) {
  return examples::health_main(argc, argv, "health_skiphyperconnection_sensitivity", "ResiliNet per skip-hyperconnection pattern (mHealth)",
                               [&](examples::HealthExperiment& ex) {
    using resilinet::Variant;
    const auto settings = examples::health_settings();
    const std::vector<std::array<bool, 3>> configs{{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1},
                                                   {1, 1, 0}, {1, 0, 1}, {0, 1, 1}, {1, 1, 1}};
    auto text = [](const std::array<bool, 3>& c) {
      return "[" + std::to_string(c[0]) + ", " + std::to_string(c[1]) + ", " + std::to_string(c[2]) + "]";
    };
    std::map<std::string, std::map<std::string, std::vector<double>>> results;  // cfg → setting → E
    for (int it = 1; it <= ex.args().iterations; ++it) {
      ex.report().line("ITERATION " + std::to_string(it));
      for (const auto& cfg : configs) {
        auto o = ex.options(Variant::resilinet);
        o.skips = cfg;
        auto net = ex.train(o, std::to_string(it) + " " + ex.suffix() + text(cfg) +
                                   " health_skiphyperconnection_sensitivity_ResiliNet");
        const auto acc = ex.accuracies(*net);
        bool first = true;
        for (const auto& s : settings) {
          ex.report().line("ResiliNet");
          ex.report().line(s.text);
          results[text(cfg)][s.name].push_back(
              ex.evaluate("ResiliNet", "skips " + text(cfg), s, it, acc, first));
          first = false;
        }
      }
    }
    for (const auto& s : settings)
      for (const auto& cfg : configs) {
        const auto ms = resilinet::mean_std(results[text(cfg)][s.name]);
        ex.report().line(s.text + " " + text(cfg) + " accuracy: " + examples::py(ms.mean));
        ex.report().line(s.text + " " + text(cfg) + " std: " + examples::py(ms.std));
      }
    ex.finish();
  });
}
