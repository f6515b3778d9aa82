// Prints a short health ResiliNet training step by step, for comparing builds for different
// instruction sets (tests/isa/compare_traces.py): every step's loss and, at the end, every
// weight, in double and in float, for SGD and Adam with per-batch failout 0.9 on real mHealth
// data (hidden width 64). usage: training_trace OUT_FILE (RESILINET_DATA_DIR must point at shared/data).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <resilinet/resilinet.hpp>

using namespace resilinet;

namespace {

template <class T>
void trace(const std::string& data_dir, const char* precision, std::ostream& out) {
  const auto all = load_mhealth<T>(data_dir + "/mhealth-window-means");
  Rng split_rng(3);
  auto parts = split(all, {0.5, 0.1, 0.4}, split_rng);
  for (const bool adam : {false, true}) {
    const std::string run = std::string(precision) + (adam ? " adam" : " sgd");
    HealthMlpOptions o;
    o.variant = Variant::resilinet;
    o.hidden = 64;  // the paper's 250 would print 580,000 weights per run
    Rng rng(11);
    auto net = build_health_mlp<T>(o, rng);
    std::unique_ptr<Optimizer<T>> opt;
    if (adam)
      opt = std::make_unique<Adam<T>>(net->parameters());
    else
      opt = std::make_unique<Sgd<T>>(net->parameters(), SgdOptions{0.05, 0.9});
    FitOptions fo;
    fo.epochs = 3;
    fo.batch_size = 257;
    fo.seed = 5;
    fo.log = nullptr;
    fo.restore_best = false;
    char line[128];
    fo.on_step = [&](std::size_t step, double loss) {
      std::snprintf(line, sizeof line, "%s loss %zu %.17g\n", run.c_str(), step, loss);
      out << line;
    };
    fit(*net, *opt, parts[0], &parts[1], fo);
    for (Parameter<T>* p : net->parameters())
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
