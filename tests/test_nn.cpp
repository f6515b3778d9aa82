#include <doctest/doctest.h>

#include <cmath>

#include "helpers.hpp"

using namespace resilinet;

TEST_CASE("gradient check: Dense layer and a Sequential MLP") {
  Rng rng(10);
  Sequential<double> mlp("mlp");
  mlp.add<Dense<double>>(6, 5, Activation::relu, rng, "hidden");
  mlp.add<Dense<double>>(5, 3, Activation::linear, rng, "out");
  const auto x = testing::random_tensor<double>(Shape{7, 6}, rng);
  const std::vector<int> y{0, 1, 2, 2, 1, 0, 1};
  Context<double> ctx;
  const GradCheckResult r = check_gradients<double>(
      [&](Tape<double>& tape) { return softmax_cross_entropy(mlp(tape.input(x), ctx), y); },
      mlp.parameters());
  MESSAGE("mlp: max error " << r.max_error << " at " << r.worst << " over " << r.checked);
  CHECK(r.checked == 6 * 5 + 5 + 5 * 3 + 3);
  CHECK(r.max_error < 1e-6);
}

TEST_CASE_TEMPLATE("Dense follows Keras: Glorot-uniform kernel, zero bias, last axis", T, float,
                   double) {
  Rng rng(12);
  Dense<T> d(200, 300, Activation::relu, rng, "d");
  const double limit = std::sqrt(6.0 / 500.0);
  double sum2 = 0;
  for (T v : d.kernel().value()) {
    CHECK_UNARY(std::abs(double(v)) <= limit);
    sum2 += double(v) * double(v);
  }
  // Variance of U(-l, l) is l²/3.
  CHECK(sum2 / d.kernel().value().size() == doctest::Approx(limit * limit / 3).epsilon(0.02));
  for (T v : d.bias().value()) CHECK(v == T(0));
  CHECK(d.kernel().name() == "d/kernel");
  Tape<T> tape;
  Context<T> ctx;
  auto y = d(tape.input(Tensor<T>(Shape{2, 4, 200}, T(1))), ctx);
  CHECK(y.shape() == Shape{2, 4, 300});
  CHECK_THROWS_AS(Dense<T>(0, 3, Activation::relu, rng), ValueError);
}

TEST_CASE("Module zero_grad reaches every child") {
  Rng rng(13);
  Sequential<float> s;
  auto& a = s.add<Dense<float>>(2, 2, Activation::relu, rng, "a");
  s.add<ActivationLayer<float>>(Activation::relu6);
  CHECK(s.parameters().size() == 2);
  for (float& g : a.kernel().mutable_grad()) g = 3.0f;
  s.zero_grad();
  for (float g : a.kernel().grad()) CHECK(g == 0.0f);
}
