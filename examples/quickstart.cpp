// Quickstart: train a plain MLP on Fashion-MNIST (Debian's dataset-fashion-mnist) and print its
// test accuracy.
#include <resilinet/resilinet.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  using namespace resilinet;
  CLI::App app{"resilinet quickstart: an MLP on Fashion-MNIST"};
  std::string data = default_fashion_mnist_dir();
  std::size_t epochs = 5, batch = 128, hidden = 256;
  std::uint64_t seed = 1;
  int threads = 1;
  app.add_option("--data", data, "folder with the four gzipped Fashion-MNIST IDX files");
  app.add_option("--epochs", epochs, "training epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", batch, "mini-batch size")->check(CLI::PositiveNumber);
  app.add_option("--hidden", hidden, "units per hidden layer")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "seed for initialisation, splitting and shuffling");
  app.add_option("--threads", threads, "BLAS threads")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    set_num_threads(threads);
    const auto d = load_fashion_mnist<float>(data);
    Rng rng(seed);
    auto parts = split(d.train, {5.0 / 6.0, 1.0 / 6.0}, rng);
    std::printf("Fashion-MNIST: %zu train, %zu validation, %zu test examples\n", parts[0].size(),
                parts[1].size(), d.test.size());
    Sequential<float> mlp("mlp");
    mlp.add<Dense<float>>(784, hidden, Activation::relu, rng, "hidden1");
    mlp.add<Dense<float>>(hidden, hidden, Activation::relu, rng, "hidden2");
    mlp.add<Dense<float>>(hidden, 10, Activation::linear, rng, "output");
    Adam<float> adam(mlp.parameters());
    FitOptions options;
    options.epochs = epochs;
    options.batch_size = batch;
    options.seed = rng.next_u64();
    const History h = fit(mlp, adam, parts[0], &parts[1], options);
    std::printf("kept epoch %zu (validation accuracy %.4f)\n", h.best_epoch + 1,
                h.best_val_accuracy);
    std::printf("test accuracy: %.4f\n", evaluate(mlp, d.test, 1024));
  } catch (const Error& e) {
    std::cerr << "quickstart: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
