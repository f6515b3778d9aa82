// Standardize: statistics fitted by hand-computed values, its gradient by finite differences,
// tape-free inference equal to the recorded forward, and the health MLP's IoT node with it.
#include <doctest/doctest.h>

#include <cmath>

#include <resilinet/resilinet.hpp>

#include "helpers.hpp"

using namespace resilinet;
using testing::expect_gradients;
using testing::param;
using testing::project;
using testing::random_tensor;

TEST_CASE("Standardize fits each feature's mean and population std and applies them") {
  Standardize<double> s(3, "std_layer");
  // Feature 0: 1, 3, 5 (mean 3, std sqrt(8/3)); feature 1: constant 10 (std kept 1);
  // feature 2: -2, 0, 2 (mean 0, std sqrt(8/3)).
  Tensor<double> x(Shape{3, 3});
  const double v[] = {1, 10, -2, 3, 10, 0, 5, 10, 2};
  std::copy(v, v + 9, x.data());
  s.fit(x.view());
  const double sd = std::sqrt(8.0 / 3.0);
  CHECK(s.mean().value().data()[0] == doctest::Approx(3.0));
  CHECK(s.mean().value().data()[1] == doctest::Approx(10.0));
  CHECK(s.stddev().value().data()[0] == doctest::Approx(sd));
  CHECK(s.stddev().value().data()[1] == 1.0);
  CHECK(s.stddev().value().data()[2] == doctest::Approx(sd));
  CHECK_FALSE(s.mean().trainable());
  CHECK_FALSE(s.stddev().trainable());
  Inference<double> inf;
  const TensorView<const double> y = s.infer(x.view(), inf);
  CHECK(y.data()[0] == doctest::Approx(-2.0 / sd));  // (1 - 3) / sd
  CHECK(y.data()[1] == 0.0);                        // (10 - 10) / 1
  CHECK(y.data()[8] == doctest::Approx(2.0 / sd));
  Tape<double> tape;
  Context<double> ctx(Mode::train, 1);
  const Var<double> recorded = s.forward(tape.input(x.view()), ctx);
  CHECK(std::equal(recorded.value().begin(), recorded.value().end(), y.begin()));
  CHECK(s.spec() == "standardize name=std_layer features=3");
  CHECK_THROWS_WITH_AS(s.infer(Tensor<double>(Shape{2, 4}).view(), inf),
                       "Standardize 'std_layer': input (2, 4) does not end in 3 features", ShapeError);
  CHECK_THROWS_WITH_AS(s.fit(Tensor<double>(Shape{0, 3}).view()), doctest::Contains("with N > 0"), ShapeError);
}

TEST_CASE("gradient check: Standardize") {
  Rng rng(8);
  Standardize<double> s(4);
  s.fit(random_tensor<double>(Shape{6, 4}, rng).view());
  auto x = param("x", Shape{5, 4}, rng);
  const auto r = random_tensor<double>(Shape{5, 4}, rng);
  Context<double> ctx(Mode::train, 2);
  expect_gradients("standardize", [&](Tape<double>& t) { return project(s.forward(t.param(x), ctx), r); }, {&x});
}

TEST_CASE("the health MLP's IoT node standardizes: the edge and the IoT->fog2 skip see it") {
  Rng a(3), b(3);
  HealthMlpOptions o;
  o.hidden = 8;
  auto plain = build_health_mlp<double>(o, a);
  o.standardize = true;
  auto standardized = build_health_mlp<double>(o, b);  // the same draws: Standardize takes none
  auto& layer = dynamic_cast<Standardize<double>&>(standardized->nodes()[standardized->index_of("iot")]->layers[0]);
  Rng data(4);
  const Tensor<double> x = random_tensor<double>(Shape{7, 23}, data);
  layer.fit(x.view());
  // Standardizing the input first is what the standardized network computes, for every mask.
  Inference<double> i1, i2, i3;
  const TensorView<const double> z = layer.infer(x.view(), i3);
  for (const FailureMask& mask : failure_combinations(3)) {
    const TensorView<const double> y1 = i1.run(*standardized, x.view(), mask), y2 = i2.run(*plain, z, mask);
    CHECK(std::equal(y1.begin(), y1.end(), y2.begin(), y2.end()));
  }
}
