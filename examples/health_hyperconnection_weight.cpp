// Spec §5.3: ResiliNet health MLPs with hyperconnection weight schemes 1–4. Schemes 2 and 3
// depend on the reliability setting: one model per setting, evaluated at that setting only.
// Schemes 1 and 4 train once and are evaluated at all settings. Scheme 5 is reported as 0.
#include "common/health.hpp"

int main(int argc, char** argv) {
  return examples::health_main(argc, argv, "health_hyperconnection_weight", "ResiliNet expected accuracy per weight scheme (mHealth)",
                               [&](examples::HealthExperiment& ex) {
    using resilinet::Variant;
    const auto settings = examples::health_settings();
    std::map<int, std::map<std::string, std::vector<double>>> results;  // scheme → setting → E
    for (int it = 1; it <= ex.args().iterations; ++it) {
      ex.report().line("ITERATION " + std::to_string(it));
      for (int scheme : {1, 2, 3, 4}) {
        const bool per_setting = scheme == 2 || scheme == 3;
        std::unique_ptr<examples::Net> net;
        std::vector<double> acc;
        bool first = true;
        for (const auto& s : settings) {
          if (per_setting || !net) {
            auto o = ex.options(Variant::resilinet);
            o.scheme = resilinet::weight_scheme(scheme);
            o.weight_reliability = per_setting ? s.reliability : std::vector<double>{1, 1, 1};
            const std::string rel = per_setting ? s.text : "[1, 1, 1]";
            net = ex.train(o, std::to_string(it) + "_" + ex.suffix() + rel + "_" +
                                  std::to_string(scheme) + "health_hyperconnection_ResiliNet");
            acc = ex.accuracies(*net);
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
        const std::string head = s.text + std::to_string(scheme) + " ResiliNet Hyperconnection Weight";
        ex.report().line(head + ": " + examples::py(ms.mean));
        ex.report().line(head + " std: " + examples::py(ms.std));
      }
    ex.finish();
  });
}
