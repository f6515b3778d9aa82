#pragma once
// The short health ResiliNet training that tests/mpi/mpi_fit_check.cpp compares across
// processes and tests/isa/training_trace.cpp across builds: hidden width 64, failout 0.9,
// 3 epochs of batches of 257 (uneven shares over ranks, and a last batch of its own size).

#include <memory>
#include <string>
#include <vector>

#include <resilinet/resilinet.hpp>

namespace testing {

/// The real mHealth window means under `data_dir`, split 50/10/40 into train, validation, test.
template <class T>
std::vector<resilinet::Dataset<T>> health_parts(const std::string& data_dir) {
  const auto all = resilinet::load_mhealth<T>(data_dir + "/mhealth-window-means");
  resilinet::Rng split_rng(3);
  return resilinet::split(all, {0.5, 0.1, 0.4}, split_rng);
}

/// A network, its optimizer and fit() settings, ready to train.
template <class T>
struct HealthTraining {
  /// The health ResiliNet (partition 1).
  std::unique_ptr<resilinet::PartitionedNetwork<T>> net;
  /// SGD (lr 0.05, momentum 0.9) or Adam (Keras defaults) over its parameters.
  std::unique_ptr<resilinet::Optimizer<T>> optimizer;
  /// 3 epochs, batch 257, seed 5, silent.
  resilinet::FitOptions fit;
};

/// The training with failout drawn at `granularity`, stepped by Adam or by SGD.
template <class T>
HealthTraining<T> health_training(resilinet::FailoutGranularity granularity, bool adam) {
  resilinet::HealthMlpOptions o;
  o.variant = resilinet::Variant::resilinet;
  o.hidden = 64;
  o.granularity = granularity;
  resilinet::Rng rng(11);
  HealthTraining<T> t;
  t.net = resilinet::build_health_mlp<T>(o, rng);
  if (adam)
    t.optimizer = std::make_unique<resilinet::Adam<T>>(t.net->parameters());
  else
    t.optimizer = std::make_unique<resilinet::Sgd<T>>(t.net->parameters(), resilinet::SgdOptions{0.05, 0.9});
  t.fit.epochs = 3;
  t.fit.batch_size = 257;
  t.fit.seed = 5;
  t.fit.log = nullptr;
  return t;
}

}  // namespace testing
