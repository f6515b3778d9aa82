#include <doctest/doctest.h>

#include <limits>
#include <sstream>

#include "helpers.hpp"

using namespace resilinet;

TEST_CASE("an MLP trained on Fashion-MNIST reaches at least 0.85 test accuracy") {
  const auto data = load_fashion_mnist<float>();
  Rng split_rng(1);
  const auto parts = split(data.train, {0.9, 0.1}, split_rng);
  Rng init(2);
  Sequential<float> mlp("mlp");
  mlp.add<Dense<float>>(784, 256, Activation::relu, init, "hidden1");
  mlp.add<Dense<float>>(256, 128, Activation::relu, init, "hidden2");
  mlp.add<Dense<float>>(128, 10, Activation::linear, init, "logits");
  Adam<float> opt(mlp.parameters());
  FitOptions options;
  options.epochs = 4;
  options.batch_size = 128;
  options.seed = 3;
  std::ostringstream log;
  options.log = &log;
  const History h = fit(mlp, opt, parts[0], &parts[1], options);
  MESSAGE(log.str());
  const double test_acc = evaluate(mlp, data.test, 1024);
  MESSAGE("Fashion-MNIST test accuracy " << test_acc << " (best epoch " << h.best_epoch + 1
                                         << ", val " << h.best_val_accuracy << ")");
  CHECK(h.epochs.size() == 4);
  CHECK(test_acc >= 0.85);
  // The kept weights are those of the best validation epoch.
  CHECK(evaluate(mlp, parts[1], 1024) == doctest::Approx(h.best_val_accuracy));
}

TEST_CASE("fit keeps the strictly best validation epoch and validates its options") {
  Rng rng(5);
  Dataset<double> d;
  d.x = testing::random_tensor<double>(Shape{64, 4}, rng);
  for (std::size_t i = 0; i < 64; ++i) d.y.push_back(d.x(i, 0) > 0 ? 1 : 0);
  Sequential<double> net;
  net.add<Dense<double>>(4, 2, Activation::linear, rng, "o");
  Sgd<double> opt(net.parameters(), SgdOptions().with_lr(0.5));
  FitOptions o;
  o.log = nullptr;
  o.epochs = 6;
  o.batch_size = 8;
  const History h = fit(net, opt, d, &d, o);
  double best = -1;
  std::size_t best_epoch = 0;
  for (std::size_t e = 0; e < h.epochs.size(); ++e)
    if (h.epochs[e].val_accuracy > best) best = h.epochs[e].val_accuracy, best_epoch = e;
  CHECK(h.best_epoch == best_epoch);
  CHECK(evaluate(net, d) == doctest::Approx(best));
  o.batch_size = 0;
  CHECK_THROWS_WITH_AS(fit(net, opt, d, &d, o), "fit: batch_size must be positive, got 0",
                       ValueError);
  Dataset<double> broken{d.x, {1, 0}};
  o.batch_size = 8;
  CHECK_THROWS_AS(fit(net, opt, broken, nullptr, o), ShapeError);
}

namespace {

// Serves a dataset, but poisons one feature with +inf from epoch `bad_epoch` (1-based) on.
class PoisonedSource : public BatchSource<double> {
 public:
  PoisonedSource(const Dataset<double>& d, std::size_t bad_epoch) : inner_(d, true), bad_(bad_epoch) {}
  std::size_t size() const override { return inner_.size(); }
  void start_epoch(Rng& rng) override {
    ++epoch_;
    inner_.start_epoch(rng);
  }
  bool next(std::size_t batch, Tensor<double>& x, std::vector<int>& y) override {
    if (!inner_.next(batch, x, y)) return false;
    if (epoch_ >= bad_) x[0] = std::numeric_limits<double>::infinity();
    return true;
  }

 private:
  DatasetSource<double> inner_;
  std::size_t bad_, epoch_ = 0;
};

}  // namespace

TEST_CASE("a non-finite loss stops fit with epoch, batch and parameter, restoring the best weights") {
  Rng rng(9);
  Dataset<double> d;
  d.x = testing::random_tensor<double>(Shape{32, 4}, rng);
  for (std::size_t i = 0; i < 32; ++i) d.y.push_back(d.x(i, 1) > 0 ? 1 : 0);
  auto make = [&](Sequential<double>& net) {
    Rng init(3);
    net.add<Dense<double>>(4, 2, Activation::linear, init, "o");
  };
  FitOptions o;
  o.log = nullptr;
  o.batch_size = 8;
  o.epochs = 1;
  Sequential<double> reference;
  make(reference);
  Sgd<double> ref_opt(reference.parameters(), SgdOptions().with_lr(0.1));
  PoisonedSource clean(d, 99);
  DatasetSource<double> val(d);
  fit<double>(reference, ref_opt, clean, &val, o);  // what epoch 1 leaves
  Sequential<double> net;
  make(net);
  Sgd<double> opt(net.parameters(), SgdOptions().with_lr(0.1));
  PoisonedSource poisoned(d, 2);
  o.epochs = 3;
  try {
    fit<double>(net, opt, poisoned, &val, o);
    FAIL("fit trained through an infinite input");
  } catch (const NumericalError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("non-finite loss") != std::string::npos);
    CHECK(msg.find("at epoch 2, batch 1") != std::string::npos);
    CHECK(msg.find("first non-finite gradient in 'o/kernel'") != std::string::npos);
    CHECK(msg.find("restored the best weights so far") != std::string::npos);
  }
  for (std::size_t i = 0; i < net.parameters().size(); ++i)
    for (std::size_t j = 0; j < net.parameters()[i]->value().size(); ++j)
      CHECK(net.parameters()[i]->value()[j] == reference.parameters()[i]->value()[j]);
}
