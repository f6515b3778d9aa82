// Quickstart: Vanilla, deepFogGuard (DFG) and ResiliNet MLPs partitioned like the paper's health
// network (IoT → edge → fog2 → fog1 → cloud), trained on Fashion-MNIST from Debian's
// dataset-fashion-mnist, then scored under node failures: the expected accuracy for the four
// reliability settings of the health experiments.
#include <resilinet/resilinet.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "common/cli.hpp"

int main(int argc, char** argv) {
  using namespace resilinet;
  CLI::App app{"resilinet quickstart: Vanilla vs DFG vs ResiliNet under node failures (Fashion-MNIST)"};
  std::string data = default_fashion_mnist_dir();
  std::size_t epochs = 10, batch = 256, hidden = 128, train_examples = 54000;
  std::uint64_t seed = 1;
  int threads = 1;
  app.add_option("--data", data, "folder with the four gzipped Fashion-MNIST IDX files")->capture_default_str();
  app.add_option("--epochs", epochs, "training epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--batch-size", batch, "mini-batch size")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  app.add_option("--hidden", hidden, "units per hidden layer")->check(CLI::Range(1, 1 << 16))->capture_default_str();
  app.add_option("--train-examples", train_examples, "training examples used (at most 54000)")
      ->check(CLI::Range(100, 54000))->capture_default_str();
  app.add_option("--seed", seed, "seed for initialisation, splitting, failout and guesses")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--threads", threads, "threads")->check(CLI::Range(1, 1024))->capture_default_str();
  if (const int code = examples::parse_command_line(app, argc, argv); code >= 0) return code;
  try {
    set_num_threads(threads);
    const auto d = load_fashion_mnist<float>(data);
    Rng rng(seed);
    auto parts = split(d.train, {0.9, 0.1}, rng);
    std::vector<std::size_t> first(train_examples);
    for (std::size_t i = 0; i < train_examples; ++i) first[i] = i;
    const Dataset<float> train = parts[0].subset(first);
    std::printf("Fashion-MNIST: %zu train, %zu validation, %zu test examples\n", train.size(),
                parts[1].size(), d.test.size());
    const std::vector<std::pair<const char*, std::vector<double>>> settings{
        {"no_failure", {1, 1, 1}},
        {"normal", {0.99, 0.96, 0.92}},
        {"poor", {0.95, 0.91, 0.87}},
        {"hazardous", {0.85, 0.8, 0.78}}};
    std::vector<std::pair<std::string, std::vector<double>>> table;
    for (Variant v : {Variant::vanilla, Variant::dfg, Variant::resilinet}) {
      HealthMlpOptions o;
      o.variant = v;
      o.in_features = 784;
      o.hidden = hidden;
      o.classes = 10;
      auto net = build_health_mlp<float>(o, rng);
      Adam<float> adam(net->parameters());
      FitOptions fo;
      fo.epochs = epochs;
      fo.batch_size = batch;
      fo.seed = rng.next_u64();
      fo.label = to_string(v);
      fit(*net, adam, train, &parts[1], fo);
      FailureEvaluationOptions eo;
      eo.batch_size = 1024;
      eo.seed = rng.next_u64();
      const auto acc = combination_accuracies(*net, d.test, train.y, eo);
      std::printf("%s accuracy per failure combination [fog1, fog2, edge]:", to_string(v).c_str());
      for (std::size_t i = 0; i < acc.size(); ++i)
        std::printf(" %s=%.3f", to_string(failure_combination(i, 3)).c_str(), acc[i]);
      std::printf("\n");
      std::vector<double> row;
      for (const auto& s : settings) row.push_back(expected_accuracy(acc, s.second));
      table.emplace_back(to_string(v), row);
    }
    std::printf("\nexpected test accuracy under node failures\n%-10s", "model");
    for (const auto& s : settings) std::printf(" %11s", s.first);
    std::printf("\n");
    for (const auto& [name, row] : table) {
      std::printf("%-10s", name.c_str());
      for (double e : row) std::printf(" %11.4f", e);
      std::printf("\n");
    }
  } catch (const Error& e) {
    std::cerr << "quickstart: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
