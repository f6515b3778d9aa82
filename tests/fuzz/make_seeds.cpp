// Writes the generated seed inputs of the fuzz targets into a corpus root (one folder per
// target): a model file of the fuzzed network, .npy arrays, a CIFAR batch of two records.
// usage: make_seeds CORPUS_ROOT
#include <cstdio>

#include <resilinet/resilinet.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds CORPUS_ROOT\n");
    return 2;
  }
  const std::string root = argv[1];
  resilinet::HealthMlpOptions o;  // the network fuzz_model_file loads into
  o.in_features = 3;
  o.hidden = 4;
  o.classes = 2;
  resilinet::Rng rng(1);
  auto net = resilinet::build_health_mlp<float>(o, rng);
  resilinet::save_parameters(*net, root + "/model_file/health.rsln");
  resilinet::Tensor<float> f(resilinet::Shape{2, 3});
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = float(i) / 3.0f;
  resilinet::save_npy<float>(root + "/npy/f4.npy", f.view());
  resilinet::Tensor<double> d(resilinet::Shape{4});
  resilinet::save_npy<double>(root + "/npy/f8.npy", d.view());
  resilinet::ImageDataset c;
  c.height = c.width = 32;
  c.pixels.assign(2 * 32 * 32 * 3, 7);
  c.labels = {3, 9};
  resilinet::save_cifar10_batch(c, root + "/cifar/data_batch_1.bin");
  return 0;
}
