#pragma once
// Shared driver of the four health experiments: flags, data, training, evaluation, output.

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <map>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <resilinet/resilinet.hpp>

#include "report.hpp"

namespace examples {

using Net = resilinet::PartitionedNetwork<float>;

/// Command-line settings shared by every health experiment.
struct HealthArgs {
  std::string data;
  std::string out = "results";
  std::string models = "models";
  int partition = 1;
  bool resilinet_plus = false;
  int iterations = 10;
  std::size_t epochs = 50;
  std::size_t batch_size = 1024;
  std::uint64_t seed = 42;
  int threads = 1;
  bool load = false;
  bool quick = false;
  bool full_precision = false;
  std::string first_lines = "reference";
  std::string mux = "select";
  std::string granularity = "batch";
  bool guess_index = false;
  std::string split = "seeded";
};

/// Registers the shared flags on `app`.
inline void add_health_flags(CLI::App& app, HealthArgs& a) {
  if (const char* d = std::getenv("RESILINET_DATA_DIR")) a.data = std::string(d) + "/mhealth-window-means";
  app.add_option("--data", a.data, "folder with mHealth_subject1..10.log (default: $RESILINET_DATA_DIR/mhealth-window-means)");
  app.add_option("--out", a.out, "folder for results (.txt, .csv, .svg)");
  app.add_option("--models", a.models, "folder for trained model files");
  app.add_option("--partition", a.partition, "layers per node: 1 = 1-2-3-4, 2 = 2-3-2-3")->check(CLI::IsMember({1, 2}));
  app.add_flag("--resilinet-plus", a.resilinet_plus, "ResiliNet+: the mux adds its inputs (failout kept)");
  app.add_option("--iterations", a.iterations, "independent retrains")->check(CLI::PositiveNumber);
  app.add_option("--epochs", a.epochs, "training epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", a.batch_size, "mini-batch size")->check(CLI::PositiveNumber);
  app.add_option("--seed", a.seed, "master seed (data split, init, failout, guesses)");
  app.add_flag("--load", a.load, "evaluate models saved by an earlier run instead of training");
  app.add_flag("--quick", a.quick, "a short run: 2 iterations of 10 epochs");
  app.add_flag("--full-precision", a.full_precision, "keep decimals (the reference truncated values to integers)");
  app.add_option("--first-lines", a.first_lines, "first-line dropping: reference, each-file, none")
      ->check(CLI::IsMember({"reference", "each-file", "none"}));
  app.add_option("--mux", a.mux, "ResiliNet mux: select (alive state), legacy (add in training), batch-sum (reference's zero test)")
      ->check(CLI::IsMember({"select", "legacy", "batch-sum"}));
  app.add_option("--failout-granularity", a.granularity, "failout draws per batch or per example")
      ->check(CLI::IsMember({"batch", "example"}));
  app.add_flag("--guess-index", a.guess_index, "reproduce the reference's random guess of a class index");
  app.add_option("--split", a.split,
                 "data split: seeded (80/10/10 from --seed) or reference (scikit-learn's "
                 "train_test_split with random_state 42, index for index)")
      ->check(CLI::IsMember({"seeded", "reference"}));
  app.add_option("--threads", a.threads, "threads")->check(CLI::PositiveNumber);
}

/// Everything one experiment run shares: data, generators, the report.
class HealthExperiment {
 public:
  HealthExperiment(std::string name, HealthArgs args)
      : name_(std::move(name)), a_(std::move(args)), rng_(a_.seed), report_(name_ + suffix()) {
    if (a_.quick) {
      a_.iterations = std::min(a_.iterations, 2);
      a_.epochs = std::min<std::size_t>(a_.epochs, 10);
    }
    resilinet::require(!a_.data.empty(), "no data folder: pass --data or set RESILINET_DATA_DIR");
    resilinet::set_num_threads(a_.threads);
    resilinet::MhealthOptions mo;
    mo.int_truncate = !a_.full_precision;
    mo.skip = a_.first_lines == "none"        ? resilinet::FirstLineSkip::none
              : a_.first_lines == "each-file" ? resilinet::FirstLineSkip::each_file
                                              : resilinet::FirstLineSkip::reference;
    const auto all = resilinet::load_mhealth<float>(a_.data, mo);
    resilinet::Rng split_rng = rng_.fork();  // independent of the model initialisations
    if (a_.split == "reference") {
      const auto idx = resilinet::reference_split_indices(all.size());
      train_ = all.subset(idx[0]);
      val_ = all.subset(idx[1]);
      test_ = all.subset(idx[2]);
    } else {
      auto parts = resilinet::split(all, {0.8, 0.1, 0.1}, split_rng);
      train_ = std::move(parts[0]);
      val_ = std::move(parts[1]);
      test_ = std::move(parts[2]);
    }
    std::printf("%s: %zu train, %zu validation, %zu test examples; %d iteration(s) of %zu epochs\n",
                name_.c_str(), train_.size(), val_.size(), test_.size(), a_.iterations, a_.epochs);
    for (const std::string& dir : {a_.out, a_.models})
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw resilinet::IoError("cannot create directory '" + dir + "'");
  }

  /// The parsed (and --quick-adjusted) arguments.
  const HealthArgs& args() const { return a_; }
  /// The report being written.
  Report& report() { return report_; }
  /// "mux_adds" when ResiliNet+ is on, else "" (the reference's file-name suffix).
  std::string suffix() const { return a_.resilinet_plus ? "mux_adds" : ""; }

  /// Model options with this run's shared settings for `variant`.
  resilinet::HealthMlpOptions options(resilinet::Variant variant) const {
    resilinet::HealthMlpOptions o;
    o.variant = variant == resilinet::Variant::resilinet && a_.resilinet_plus
                    ? resilinet::Variant::resilinet_plus
                    : variant;
    o.partition = a_.partition;
    o.granularity = a_.granularity == "example" ? resilinet::FailoutGranularity::per_example
                                                : resilinet::FailoutGranularity::per_batch;
    o.resilinet_rule = a_.mux == "legacy"      ? resilinet::MergeRule::mux_legacy
                       : a_.mux == "batch-sum" ? resilinet::MergeRule::mux_batch_sum
                                               : resilinet::MergeRule::mux;
    return o;
  }

  /// Builds a model, then trains it (or loads `file` under --load); saves it after training.
  std::unique_ptr<Net> train(const resilinet::HealthMlpOptions& o, const std::string& file) {
    auto net = resilinet::build_health_mlp<float>(o, rng_);
    const std::string path = a_.models + "/" + file + ".rsln";
    // Drawn in both modes, so --load leaves every later draw (and score) as in training.
    const std::uint64_t fit_seed = rng_.next_u64();
    if (a_.load) {
      resilinet::load_parameters(*net, path);
      std::printf("loaded %s\n", path.c_str());
      return net;
    }
    resilinet::Adam<float> adam(net->parameters());
    resilinet::FitOptions fo;
    fo.epochs = a_.epochs;
    fo.batch_size = a_.batch_size;
    fo.seed = fit_seed;
    fo.label = file;
    const auto h = resilinet::fit(*net, adam, train_, &val_, fo);
    std::printf("%s: kept epoch %zu (val_acc %.4f); saved %s\n", file.c_str(), h.best_epoch + 1,
                h.best_val_accuracy, path.c_str());
    resilinet::save_parameters(*net, path);
    return net;
  }

  /// Accuracy of every failure combination (computed once per trained model).
  std::vector<double> accuracies(Net& net) {
    resilinet::FailureEvaluationOptions eo;
    eo.guess_index = a_.guess_index;
    eo.seed = rng_.next_u64();
    return resilinet::combination_accuracies(net, test_, train_.y, eo);
  }

  /// Writes the reference's per-evaluation lines and a CSV row; returns E[acc].
  double evaluate(const std::string& model, const std::string& variant, const Setting& s,
                  int iteration, const std::vector<double>& acc, bool first_time) {
    report_.line("Calculating accuracy for reliability setting " + s.text);
    if (first_time) {
      std::string combos;
      for (const auto& m : resilinet::failure_combinations(s.reliability.size()))
        combos += resilinet::to_string(m);
      report_.line(combos);
    }
    const double e = resilinet::expected_accuracy(acc, s.reliability);
    report_.line("Acc List: " + py(acc));
    report_.line("Average accuracy: " + py(e));
    report_.row(model, variant, s, iteration, e, acc);
    return e;
  }

  /// Writes the results files and prints where they are.
  void finish() {
    const std::string path = report_.write(a_.out, health_settings());
    std::printf("wrote %s (+ .csv, .svg)\n", path.c_str());
  }

 private:
  std::string name_;
  HealthArgs a_;
  resilinet::Rng rng_;
  Report report_;
  resilinet::Dataset<float> train_, val_, test_;
};

/// Runs `body` and turns resilinet errors into a one-line message and exit code 1.
template <class Body>
int guarded(const char* program, Body&& body) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
}

/// The whole main() of a health experiment: parses the shared flags, loads the data and runs
/// `body(experiment)`, turning errors into one line on stderr and exit code 1.
template <class Body>
int health_main(int argc, char** argv, const std::string& name, const std::string& description,
                Body&& body) {
  CLI::App app{name + ": " + description};
  HealthArgs args;
  add_health_flags(app, args);
  CLI11_PARSE(app, argc, argv);
  return guarded(name.c_str(), [&] {
    HealthExperiment ex(name, args);
    body(ex);
  });
}

}  // namespace examples
