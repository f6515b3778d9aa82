// Optimizers against golden trajectories on f(p) = ½·Σ a_i·p_i², a = (1, 4), p0 = (1.5, −2).
// SGD golden values come from PyTorch 1.13 (torch.optim, float64), an independent
// implementation; Adam's come from the Keras 2.2 update rule evaluated by hand in Python.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace resilinet;
using Trajectory = std::vector<std::vector<double>>;

namespace {

Trajectory run(Optimizer<double>& opt, Parameter<double>& p, int steps) {
  const double a[2] = {1.0, 4.0};
  Trajectory out;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    for (int i = 0; i < 2; ++i) p.mutable_grad()[i] = a[i] * p.value()[i];  // ∇f
    opt.step();
    out.push_back({p.value()[0], p.value()[1]});
  }
  return out;
}

void check_trajectory(const Trajectory& got, const Trajectory& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (std::size_t s = 0; s < want.size(); ++s)
    for (int i = 0; i < 2; ++i) {
      CAPTURE(s);
      CAPTURE(i);
      CHECK(std::abs(got[s][i] - want[s][i]) < tol);
    }
}

Parameter<double> start() { return Parameter<double>("p", Tensor<double>(Shape{2}, {1.5, -2.0})); }

}  // namespace

TEST_CASE("Sgd: plain gradient descent follows p_t = p0·(1 − lr·a)^t") {
  auto p = start();
  Sgd<double> opt({&p}, SgdOptions().with_lr(0.1));
  const Trajectory got = run(opt, p, 5);
  for (int t = 1; t <= 5; ++t) {
    CHECK(got[t - 1][0] == doctest::Approx(1.5 * std::pow(0.9, t)));
    CHECK(got[t - 1][1] == doctest::Approx(-2.0 * std::pow(0.6, t)));
  }
  CHECK(opt.step_count() == 5);
}

TEST_CASE("Sgd: momentum and Nesterov with weight decay match PyTorch") {
  auto p = start();
  Sgd<double> mom({&p}, SgdOptions().with_lr(0.1).with_momentum(0.9));
  check_trajectory(run(mom, p, 5),
                   {{1.35, -1.2}, {1.08, 0.0}, {0.729, 1.08}, {0.3402, 1.62}, {-0.04374, 1.458}},
                   1e-12);
  auto q = start();
  Sgd<double> nest({&q},
                   SgdOptions().with_lr(0.1).with_momentum(0.9).with_nesterov(true).with_weight_decay(0.01));
  check_trajectory(run(nest, q, 5),
                   {{1.21215, -0.4762},
                    {0.856823415, 0.53623678},
                    {0.48278951016150007, 0.8670104993179999},
                    {0.13139693723035817, 0.6976594011758157},
                    {-0.1661858841884949, 0.3266008042958621}},
                   1e-12);
}

TEST_CASE("Adam: first step is lr·g·sqrt(1−β2)/(|g|·sqrt(1−β2) + ε); the path is Keras's") {
  auto p = start();
  Adam<double> opt({&p}, AdamOptions().with_lr(0.1));
  const Trajectory got = run(opt, p, 5);
  // Hand derivation of step 1: m = (1−β1)g, v = (1−β2)g², lr_1 = lr·sqrt(1−β2)/(1−β1).
  const double s = std::sqrt(0.001);
  CHECK(got[0][0] == doctest::Approx(1.5 - 0.1 * 1.5 * s / (1.5 * s + 1e-7)).epsilon(1e-14));
  CHECK(got[0][1] == doctest::Approx(-2.0 + 0.1 * 8.0 * s / (8.0 * s + 1e-7)).epsilon(1e-14));
  check_trajectory(got,
                   {{1.4000002108180662, -1.900000039528455},
                    {1.3002394255764056, -1.8001665536759153},
                    {1.2009033612152167, -1.7006234830529858},
                    {1.1021995391236268, -1.601505006836547},
                    {1.004358872894292, -1.5029559113444844}},
                   1e-12);
  // PyTorch adds ε after bias-correcting v, i.e. an effective ε larger by 1/sqrt(1−β2^t);
  // on this problem the two paths stay within 1e-6 of each other.
  check_trajectory(got,
                   {{1.4000000066666662, -1.90000000125},
                    {1.3002390751383703, -1.8001664881372679},
                    {1.2009028900361787, -1.70062339510906},
                    {1.1021989627895714, -1.6015048994098693},
                    {1.004358202672684, -1.5029557864869074}},
                   1e-6);
}

TEST_CASE("Adam counts steps per step() call, not per parameter tensor") {
  auto p = start();
  auto q = start();
  Adam<double> both({&p, &q}, AdamOptions().with_lr(0.1));
  auto r = start();
  Adam<double> single({&r}, AdamOptions().with_lr(0.1));
  for (int s = 0; s < 3; ++s) {
    for (Parameter<double>* x : {&p, &q, &r})
      for (int i = 0; i < 2; ++i) x->mutable_grad()[i] = x->value()[i];
    both.step();
    single.step();
  }
  CHECK(both.step_count() == 3);
  CHECK(q.value()[0] == doctest::Approx(r.value()[0]).epsilon(1e-15));
}

TEST_CASE_TEMPLATE("Adam's whole-vector update equals its one-by-one update bit for bit", T, float, double) {
  // 67 values in one tensor run mostly through Lanes<T> (with a tail); 67 one-value tensors
  // run only through the scalar loop. Gradients span zero, tiny and large magnitudes.
  constexpr std::size_t n = 67;
  Parameter<T> whole("whole", Tensor<T>(Shape{n}));
  std::vector<std::unique_ptr<Parameter<T>>> single;
  std::vector<Parameter<T>*> singles;
  Rng rng(11);
  for (std::size_t i = 0; i < n; ++i) {
    whole.mutable_value()[i] = T(rng.normal());
    single.push_back(std::make_unique<Parameter<T>>("p" + std::to_string(i), Tensor<T>(Shape{1}, {whole.value()[i]})));
    singles.push_back(single.back().get());
  }
  Adam<T> vectors({&whole}), scalars(singles);
  for (int step = 0; step < 5; ++step) {
    for (std::size_t i = 0; i < n; ++i) {
      const T g = i % 7 == 0 ? T(0) : T(rng.normal() * std::pow(10.0, double(i % 5) * 2 - 6));
      whole.mutable_grad()[i] = g;
      single[i]->mutable_grad()[0] = g;
    }
    vectors.step();
    scalars.step();
  }
  for (std::size_t i = 0; i < n; ++i) CHECK(whole.value()[i] == single[i]->value()[0]);
  CHECK(whole.value()[0] != T(0));
}

TEST_CASE("Adam over a large tensor gives the same values on one thread and on two") {
  constexpr std::size_t n = 150001;  // split over two threads (more than 2 x 65536 values)
  Parameter<float> one("one", Tensor<float>(Shape{n})), two("two", Tensor<float>(Shape{n}));
  Rng rng(5);
  for (std::size_t i = 0; i < n; ++i) one.mutable_value()[i] = two.mutable_value()[i] = float(rng.normal());
  const float last = one.value()[n - 1];
  Adam<float> a({&one}), b({&two});
  const int before = max_threads();
  for (int step = 0; step < 3; ++step) {
    for (std::size_t i = 0; i < n; ++i) one.mutable_grad()[i] = two.mutable_grad()[i] = float(rng.normal());
    set_num_threads(1);
    a.step();
    set_num_threads(2);
    b.step();
  }
  set_num_threads(before);
  std::size_t differ = 0;
  for (std::size_t i = 0; i < n; ++i) differ += one.value()[i] != two.value()[i];
  CHECK(differ == 0);
  CHECK(two.value()[n - 1] != last);  // the second thread's part was updated
}

TEST_CASE("optimizers reject out-of-range hyperparameters, naming the value") {
  auto p = start();
  CHECK_THROWS_WITH_AS(Adam<double>({&p}, AdamOptions().with_beta1(1.5)),
                       "Adam: beta1 must be in [0, 1), got 1.5", ValueError);
  CHECK_THROWS_AS(Adam<double>({&p}, AdamOptions().with_lr(-1)), ValueError);
  CHECK_THROWS_AS(Adam<double>({&p}, AdamOptions().with_eps(0)), ValueError);
  CHECK_THROWS_WITH_AS(Sgd<double>({&p}, SgdOptions().with_momentum(1.0)),
                       "Sgd: momentum must be in [0, 1), got 1", ValueError);
  CHECK_THROWS_AS(Sgd<double>({&p}, SgdOptions().with_nesterov(true)), ValueError);
}

TEST_CASE("frozen parameters are never updated") {
  Parameter<double> frozen("w", Tensor<double>(Shape{2}, {1.0, 2.0}), false);
  Adam<double> opt({&frozen});
  for (double& g : frozen.mutable_grad()) g = 1.0;
  opt.step();
  CHECK(frozen.value()[0] == 1.0);
  CHECK(opt.parameters().empty());
}
