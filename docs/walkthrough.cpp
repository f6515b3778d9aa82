// From your own data to a failure sweep (docs/walkthrough.md explains every step; the ctest
// docs_walkthrough compiles this file with the README's g++ command and runs it).
//
// usage: walkthrough [X.npy Y.npy]
//   X.npy: float32 or float64 features, shape (N, F); Y.npy: class labels 0..C-1 as floats,
//   shape (N,). Without arguments it first writes 10,000 Fashion-MNIST images (Debian's
//   dataset-fashion-mnist) to x.npy and y.npy, as your NumPy code would, and reads those.
#include <resilinet/resilinet.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

using namespace resilinet;

// 1. Your arrays as a Dataset: features (N, F) and one integer label per row.
Dataset<float> load_arrays(const std::string& x_path, const std::string& y_path) {
  Dataset<float> d;
  d.x = load_npy<float>(x_path);
  const Tensor<float> labels = load_npy<float>(y_path);
  require<ShapeError>(d.x.rank() == 2 && labels.rank() == 1, "expected X (N, F) and Y (N,), got ", d.x.shape(),
                      " and ", labels.shape());
  for (float v : labels) d.y.push_back(int(v));
  d.validate();  // one label per row
  return d;
}

// 2. Your partitioned network: IoT → edge → fog → cloud, edge and fog can fail. With skips,
//    the IoT reaches the fog past the edge and the edge reaches the cloud past the fog.
std::unique_ptr<PartitionedNetwork<float>> build(std::size_t features, int classes, bool resilinet, Rng& rng) {
  auto net = std::make_unique<PartitionedNetwork<float>>(resilinet ? "ResiliNet" : "Vanilla",
                                                         resilinet ? MergeRule::mux : MergeRule::sum);
  net->add_node("iot", Tier::iot);
  net->add_node("edge", Tier::edge, true).layers.add<Dense<float>>(features, 64, Activation::relu, rng, "edge_dense");
  net->add_node("fog", Tier::fog, true).layers.add<Dense<float>>(64, 64, Activation::relu, rng, "fog_dense");
  net->add_node("cloud", Tier::cloud).layers.add<Dense<float>>(64, std::size_t(classes), Activation::linear, rng, "out");
  net->add_main_link("iot", "edge", "IoTe");
  net->add_main_link("edge", "fog", "ef");
  net->add_main_link("fog", "cloud", "fc");
  if (resilinet) {
    net->add_skip("iot", "fog", "IoTf", "edge",  // the raw features need a transform to 64 wide
                  std::make_unique<Dense<float>>(features, 64, Activation::linear, rng, "skip_iot_fog"));
    net->add_skip("edge", "cloud", "ec", "fog");
    net->set_failout({0.9, 0.9});  // failure order: fog, edge (cloud side first)
  }
  return net;
}

int main(int argc, char** argv) {
  try {
    std::string x_path = "x.npy", y_path = "y.npy";
    if (argc == 3) {
      x_path = argv[1];
      y_path = argv[2];
    } else if (argc == 1) {  // no files of your own: Fashion-MNIST, written as NumPy would
      const auto fm = load_fashion_mnist<float>();
      const std::size_t n = 10000;  // the first 10,000 training images
      const Tensor<float> flat(Shape{n, 784}, std::vector<float>(fm.train.x.begin(), fm.train.x.begin() + n * 784));
      Tensor<float> labels(Shape{n}, 0.0f);
      for (std::size_t i = 0; i < n; ++i) labels[i] = float(fm.train.y[i]);
      save_npy<float>(x_path, flat);
      save_npy<float>(y_path, labels);
    } else {
      std::cerr << "usage: walkthrough [X.npy Y.npy]\n";
      return 2;
    }
    const Dataset<float> all = load_arrays(x_path, y_path);
    Rng rng(7);
    const auto parts = split(all, {0.7, 0.1, 0.2}, rng);  // train, validation, test
    std::printf("%zu examples of %zu features, %d classes: %zu train, %zu validation, %zu test\n", all.size(),
                all.x.dim(1), all.num_classes(), parts[0].size(), parts[1].size(), parts[2].size());

    // The four reliability settings to score, in failure order [fog, edge].
    const std::vector<std::vector<double>> settings = {{1, 1}, {0.98, 0.96}, {0.95, 0.9}, {0.85, 0.8}};
    for (bool resilinet : {false, true}) {
      auto net = build(all.x.dim(1), all.num_classes(), resilinet, rng);
      // 3. Training: Adam, the best validation epoch kept.
      Adam<float> adam(net->parameters());
      FitOptions fo;
      fo.epochs = 3;
      fo.batch_size = 128;
      fo.seed = rng.next_u64();
      fo.label = net->name();
      fit(*net, adam, parts[0], &parts[1], fo);
      // 4. The failure sweep: the test accuracy of every combination of dead and alive nodes
      //    (bit k of a mask is failable node k in failure order, 1 = alive), then expected
      //    accuracy under each setting's independent node reliabilities.
      FailureEvaluationOptions eo;
      eo.seed = rng.next_u64();
      const std::vector<double> acc = combination_accuracies(*net, parts[2], parts[0].y, eo);
      for (std::size_t i = 0; i < acc.size(); ++i) {
        const FailureMask mask = failure_combination(i, 2);
        std::printf("%-9s fog %-5s edge %-5s %s accuracy %.4f%s\n", net->name().c_str(), mask[0] ? "alive" : "dead",
                    mask[1] ? "alive" : "dead", to_string(mask).c_str(), acc[i],
                    net->has_information_flow(mask) ? "" : " (no path to the cloud: a random guess)");
      }
      for (const auto& r : settings)
        std::printf("%-9s expected accuracy at reliability [fog %.2f, edge %.2f]: %.4f\n", net->name().c_str(), r[0],
                    r[1], expected_accuracy(acc, r));
    }
  } catch (const Error& e) {
    std::cerr << "walkthrough: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
