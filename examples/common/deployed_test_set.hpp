#pragma once
// The test set a deployment streams, shared by resilinet-launch (which checks the answers
// against it) and resilinet-sensor (which serves its slots of it).

#include <cstdlib>
#include <string>

#include <resilinet/resilinet.hpp>

#include "experiment.hpp"

namespace examples {

/// The test set to stream, chosen by the deployment's example shape: the health split the
/// model was trained with (`a.seed`, `a.split`) for 23 features, the multi-view holdout_dir
/// for six views (the camera network; object grouping and RGB, the programs' defaults), the
/// CIFAR-10 test split of `a.seed` for one H W 3 image, scaled to [0, 1] as the CIFAR
/// programs scale it (its first examples are those of a --subset run's smaller test split).
inline resilinet::Dataset<float> load_deployed_test_set(const resilinet::Shape& input, examples::Args a) {
  const bool camera = input.rank() == 4 && input[0] == 6, cifar = input.rank() == 3 && input[2] == 3;
  resilinet::require(camera || cifar || input == resilinet::Shape{23}, "deployments stream the health (input 23), ",
                     "camera (input 6 H W 3) and CIFAR-10 (input H W 3) test sets; the deployment's input is ", input);
  const char* env = std::getenv("RESILINET_DATA_DIR");
  if (a.data.empty() && env)
    a.data = std::string(env) + (camera ? "/multiview" : cifar ? "/cifar10-jpg" : "/mhealth-window-means");
  resilinet::require(!a.data.empty(), "no data folder: pass --data or set RESILINET_DATA_DIR");
  resilinet::Dataset<float> test;
  resilinet::Rng split_rng = examples::iteration_split_rng(a.seed, 1);  // as the programs derive it
  if (camera) {
    test = resilinet::load_multiview<float>(a.data + "/holdout_dir");
  } else if (cifar) {
    const resilinet::ImageDataset images = std::move(examples::load_cifar_splits(a, split_rng, true)[2]);
    resilinet::ImageSource<float> source(images);
    source.start_epoch(split_rng);  // in order: a source that does not shuffle ignores the generator
    source.next(std::max<std::size_t>(1, images.size()), test.x, test.y);
  } else {
    test = std::move(examples::load_health_splits(a, split_rng)[2]);
  }
  resilinet::require(test.size() > 0, "the test set in '", a.data, "' is empty");
  resilinet::require<resilinet::ShapeError>(test.x.shape().with_leading(1) == input.prepend(1),
                                            "the test set's examples are ", test.x.shape(),
                                            " where the deployment's input is ", input);
  return test;
}

}  // namespace examples
