// Writes the generated seed inputs of the fuzz targets into a corpus root (one folder per
// target): a model file of the fuzzed network, .npy arrays, a CIFAR batch of two records,
// runtime messages of every type and a deployment description.
// usage: make_seeds CORPUS_ROOT
#include <cstdio>

#include <fstream>

#include <resilinet/resilinet.hpp>
#include <resilinet/runtime/message.hpp>

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
  using resilinet::runtime::MessageType;
  for (const MessageType type : {MessageType::pull, MessageType::output, MessageType::stats_request,
                                 MessageType::stats, MessageType::error}) {
    resilinet::runtime::Message m;
    m.type = type;
    m.request = 42;
    m.batch = 1;
    m.budget_us = 400000;
    m.reached = type == MessageType::output;
    m.dead = 2;
    m.alive = 29;
    m.shape = resilinet::Shape{1, 3};
    m.values = {0.5f, -1.0f, 2.0f};
    m.text = "node=edge requests=3";
    std::ofstream(root + "/runtime/message" + std::to_string(int(type)) + ".bin", std::ios::binary)
        << resilinet::runtime::encode(m);
  }
  std::ofstream(root + "/runtime/deployment.txt")
      << "network health variant=resilinet partition=1\nmodel m.rsln\ninput 23\n"
         "source tcp://127.0.0.1:5600\ndeadline-ms 400\nmax-message-bytes 65536\n"
         "node iot tcp://127.0.0.1:5601\nnode cloud tcp://localhost:5602  # comment\n"
         "link iot cloud latency-ms=5 mbit=10 loss=0.01\nlink cloud client latency-ms=1\n";
  return 0;
}
