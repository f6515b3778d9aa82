// A short real training: a small CNN on a CIFAR-10 subset (the shared JPEG folders), through
// the image batch sources with augmentation off, must rise well above chance (0.10).
#include <doctest/doctest.h>

#include <sstream>

#include "helpers.hpp"

using namespace resilinet;

TEST_CASE("a small CNN learns CIFAR-10: test accuracy well above chance after 4 short epochs") {
  const std::string root = testing::shared_data("cifar10-jpg");
  if (root.empty()) return;
  Rng rng(11);
  const ImageDataset all = load_image_folder(root + "/train");
  const ImageDataset test_all = load_image_folder(root + "/test");
  auto parts = split(all, {0.12, 0.88}, rng);  // 6,000 training images
  auto held_out = split(test_all, {0.2, 0.2, 0.6}, rng);  // 2,000 validation, 2,000 test
  Sequential<float> net("small_cnn");
  const BatchNormOptions relu{0.9, 1e-3, Activation::relu};
  net.add<Conv2D<float>>(3, 16, Conv2DOptions().with_padding(Padding::same).with_bias(false), rng, "c1");
  net.add<BatchNorm<float>>(16, "bn1", relu);
  net.add<MaxPool2D<float>>(2, 2, Padding::valid);
  net.add<Conv2D<float>>(16, 32, Conv2DOptions().with_padding(Padding::same).with_bias(false), rng, "c2");
  net.add<BatchNorm<float>>(32, "bn2", relu);
  net.add<MaxPool2D<float>>(2, 2, Padding::valid);
  net.add<Conv2D<float>>(32, 64, Conv2DOptions().with_padding(Padding::same).with_bias(false), rng, "c3");
  net.add<BatchNorm<float>>(64, "bn3", relu);
  net.add<GlobalAveragePooling2D<float>>();
  net.add<Dense<float>>(64, 10, Activation::linear, rng, "out");
  Adam<float> adam(net.parameters(), AdamOptions().with_lr(3e-3));
  ImageSource<float> train(parts[0], true), val(held_out[0]), test(held_out[1]);
  FitOptions o;
  o.epochs = 4;
  o.batch_size = 64;
  o.seed = 5;
  std::ostringstream log;
  o.log = &log;
  const History h = fit<float>(net, adam, train, &val, o);
  MESSAGE(log.str());
  const double acc = evaluate(net, test, 256);
  MESSAGE("small CNN on 6,000 CIFAR-10 images, 4 epochs: test accuracy " << acc);
  CHECK(h.epochs.back().loss < h.epochs.front().loss);
  CHECK(acc > 0.35);
}
