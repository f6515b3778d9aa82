// Prints a short health ResiliNet training (tests/health_training.hpp) step by step, for
// comparing builds for different instruction sets (tests/isa/compare_traces.py): every step's
// loss and, at the end, every weight, in double and in float, for SGD and Adam with per-batch
// failout on real mHealth data. usage: training_trace OUT_FILE (RESILINET_DATA_DIR must point at shared/data).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <resilinet/resilinet.hpp>

#include "../health_training.hpp"

using namespace resilinet;

namespace {

template <class T>
void trace(const std::string& data_dir, const char* precision, std::ostream& out) {
  const auto parts = testing::health_parts<T>(data_dir);
  for (const bool adam : {false, true}) {
    const std::string run = std::string(precision) + (adam ? " adam" : " sgd");
    auto t = testing::health_training<T>(FailoutGranularity::per_batch, adam);
    t.fit.restore_best = false;
    char line[128];
    t.fit.on_step = [&](std::size_t step, double loss) {
      std::snprintf(line, sizeof line, "%s loss %zu %.17g\n", run.c_str(), step, loss);
      out << line;
    };
    fit(*t.net, *t.optimizer, parts[0], &parts[1], t.fit);
    for (Parameter<T>* p : t.net->parameters())
      for (std::size_t i = 0; i < p->value().size(); ++i) {
        std::snprintf(line, sizeof line, "%s weight %s[%zu] %.17g\n", run.c_str(), p->name().c_str(), i,
                      double(p->value()[i]));
        out << line;
      }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* dir = std::getenv("RESILINET_DATA_DIR");
  if (argc != 2 || !dir) {
    std::fprintf(stderr, "usage: RESILINET_DATA_DIR=DIR training_trace OUT_FILE\n");
    return 2;
  }
  set_num_threads(1);
  std::ofstream out(argv[1]);
  trace<double>(dir, "double", out);
  trace<float>(dir, "float", out);
  return out.good() ? 0 : 1;
}
