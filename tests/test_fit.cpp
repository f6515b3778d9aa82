#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>

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

TEST_CASE("fit keeps the strictly best validation epoch, reports every step and validates its options") {
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
  std::vector<std::size_t> steps;
  std::vector<double> losses;
  o.on_step = [&](std::size_t step, double loss) {
    steps.push_back(step);
    losses.push_back(loss);
  };
  const History h = fit(net, opt, d, &d, o);
  REQUIRE(steps.size() == 6 * 8);
  for (std::size_t i = 0; i < steps.size(); ++i) CHECK(steps[i] == i);
  // An epoch's reported loss is the mean of its 8 steps' losses (8 rows each).
  for (std::size_t e = 0; e < 6; ++e) {
    double sum = 0;
    for (std::size_t b = 0; b < 8; ++b) sum += losses[8 * e + b];
    CHECK(h.epochs[e].loss == doctest::Approx(sum / 8));
  }
  o.on_step = nullptr;
  double best = -1;
  std::size_t best_epoch = 0;
  for (std::size_t e = 0; e < h.epochs.size(); ++e)
    if (h.epochs[e].val_accuracy > best) best = h.epochs[e].val_accuracy, best_epoch = e;
  CHECK(h.best_epoch == best_epoch);
  CHECK(evaluate(net, d) == doctest::Approx(best));
  // The progress line has a val_acc column only when there is a validation set.
  std::ostringstream with_val, without_val;
  o.epochs = 1;
  o.log = &with_val;
  fit(net, opt, d, &d, o);
  o.log = &without_val;
  fit(net, opt, d, nullptr, o);
  CHECK(with_val.str().find("val_acc 0.") != std::string::npos);
  CHECK(without_val.str().find("epoch 1/1  loss ") != std::string::npos);
  CHECK(without_val.str().find("val_acc") == std::string::npos);
  o.log = nullptr;
  o.batch_size = 0;
  CHECK_THROWS_WITH_AS(fit(net, opt, d, &d, o), "fit: batch_size must be positive, got 0",
                       ValueError);
  Dataset<double> broken{d.x, {1, 0}};
  o.batch_size = 8;
  CHECK_THROWS_AS(fit(net, opt, broken, nullptr, o), ShapeError);
}

TEST_CASE("fit writes progress lines within an epoch when asked, and none when off") {
  Rng rng(6);
  Dataset<double> d;
  d.x = testing::random_tensor<double>(Shape{40, 3}, rng);
  for (std::size_t i = 0; i < 40; ++i) d.y.push_back(d.x(i, 1) > 0 ? 1 : 0);
  Sequential<double> net;
  net.add<Dense<double>>(3, 2, Activation::linear, rng, "o");
  Sgd<double> opt(net.parameters(), SgdOptions().with_lr(0.1));
  FitOptions o;
  o.epochs = 2;
  o.batch_size = 16;  // 3 batches: 16, 16, 8
  o.label = "m";
  o.progress_seconds = 1e-12;  // a line after every batch
  std::ostringstream every;
  o.log = &every;
  fit(net, opt, d, nullptr, o);
  for (const char* line : {"m  epoch 1/2  batch 1/3  loss ", "m  epoch 1/2  batch 3/3  loss ",
                           "m  epoch 2/2  batch 2/3  loss ", "m  epoch 2/2  loss "})
    CHECK_MESSAGE(every.str().find(line) != std::string::npos, line);
  CHECK(every.str().find(" ex/s\n") != std::string::npos);
  o.progress_seconds = 0;
  std::ostringstream off;
  o.log = &off;
  fit(net, opt, d, nullptr, o);
  CHECK(off.str().find("batch") == std::string::npos);
  CHECK(off.str().find("m  epoch 2/2  loss ") != std::string::npos);
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

namespace {

/// A training source that stops the process's training (by throwing) when epoch `stop_at`
/// starts, as a kill between two epochs would.
struct InterruptedSource : DatasetSource<double> {
  InterruptedSource(const Dataset<double>& d, std::size_t stop_at)
      : DatasetSource<double>(d, true), stop_at_(stop_at) {}
  void start_epoch(Rng& rng) override {
    if (++epochs_ == stop_at_) throw std::runtime_error("interrupted");
    DatasetSource<double>::start_epoch(rng);
  }
  std::size_t stop_at_, epochs_ = 0;
};

Dataset<double> blobs(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Dataset<double> d;
  d.x = Tensor<double>(Shape{n, 3});
  for (std::size_t i = 0; i < n; ++i) {
    d.y.push_back(int(i % 4));
    for (std::size_t k = 0; k < 3; ++k) d.x(i, k) = rng.normal() + (int(k) == d.y[i] ? 2.0 : 0.0);
  }
  return d;
}

}  // namespace

TEST_CASE("fit resumed from an epoch checkpoint ends bit-identical to an uninterrupted run") {
  const Dataset<double> train = blobs(200, 1), val = blobs(60, 2);
  HealthMlpOptions o;
  o.in_features = 3;
  o.hidden = 8;
  o.classes = 4;
  o.survival = {0.7, 0.7, 0.7};  // failout draws must continue where they stopped
  FitOptions fo;
  fo.epochs = 6;
  fo.batch_size = 16;
  fo.seed = 9;
  fo.log = nullptr;
  fo.checkpoint = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                  "/resilinet_fit_resume_" + std::to_string(::getpid()) + ".ckpt";
  auto run = [&](std::size_t stop_at, bool resume) {
    Rng rng(3);
    auto net = build_health_mlp<double>(o, rng);
    Adam<double> adam(net->parameters());
    DatasetSource<double> v(val);
    FitOptions f = fo;
    f.resume = resume;
    History h;
    InterruptedSource t(train, stop_at);  // stop_at 0: never interrupted
    if (stop_at)
      CHECK_THROWS_WITH(fit<double>(*net, adam, t, &v, f), "interrupted");
    else
      h = fit<double>(*net, adam, t, &v, f);
    std::vector<Tensor<double>> w;
    for (auto* p : net->parameters()) w.push_back(p->value());
    return std::make_tuple(w, h, t.epochs_);
  };
  std::remove(fo.checkpoint.c_str());
  const auto whole = run(0, false);
  run(4, false);  // epochs 1..3 complete, the checkpoint holds epoch 3
  CHECK(load_checkpoint<double>(fo.checkpoint).epochs_done == 3);
  const auto resumed = run(0, true);
  CHECK(std::get<2>(whole) == 6);
  CHECK(std::get<2>(resumed) == 3);  // only epochs 4..6 were trained again
  const auto& w1 = std::get<0>(whole);
  const auto& w2 = std::get<0>(resumed);
  REQUIRE(w1.size() == w2.size());
  for (std::size_t i = 0; i < w1.size(); ++i)
    for (std::size_t k = 0; k < w1[i].size(); ++k) REQUIRE(w1[i][k] == w2[i][k]);
  CHECK(std::get<1>(resumed).best_epoch == std::get<1>(whole).best_epoch);
  CHECK(std::get<1>(resumed).best_val_accuracy == std::get<1>(whole).best_val_accuracy);
  CHECK(std::get<1>(resumed).epochs.size() == 6);
  CHECK_FALSE(std::ifstream(fo.checkpoint).good());  // removed once training completed
  // A checkpoint from another run (seed) is refused by name, a damaged one with a FormatError.
  run(2, false);
  fo.seed = 10;
  CHECK_THROWS_WITH_AS(run(0, true), doctest::Contains("with seed 9"), FormatError);
  {
    std::ifstream in(fo.checkpoint, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(fo.checkpoint, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  CHECK_THROWS_WITH_AS(load_checkpoint<double>(fo.checkpoint), doctest::Contains("than the file holds"), FormatError);
  std::remove(fo.checkpoint.c_str());
}
