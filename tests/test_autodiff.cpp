// Finite-difference gradient checks of every autodiff op (double precision), plus tape rules.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "helpers.hpp"

using namespace resilinet;
using F = std::function<Var<double>(Tape<double>&)>;

using testing::expect_gradients;
using testing::param;
using testing::project;

TEST_CASE("gradient check: matmul, bias_add, dense with every activation") {
  Rng rng(1);
  auto x = param("x", Shape{4, 3, 5}, rng);  // rank 3: acts on the last axis
  auto w = param("w", Shape{5, 6}, rng);
  auto b = param("b", Shape{6}, rng);
  const auto r = testing::random_tensor<double>(Shape{4, 3, 6}, rng);
  expect_gradients("matmul", [&](Tape<double>& t) { return project(matmul<double>(t.param(x), w), r); },
                   {&x, &w});
  expect_gradients("bias_add",
                   [&](Tape<double>& t) { return project(bias_add<double>(matmul<double>(t.param(x), w), b), r); },
                   {&x, &w, &b});
  for (Activation act : {Activation::linear, Activation::relu, Activation::relu6}) {
    // Scale inputs up so relu6 saturates for some elements.
    for (double& v : x.mutable_value()) v *= 3;
    expect_gradients(("dense " + to_string(act)).c_str(),
                     [&](Tape<double>& t) { return project(dense<double>(t.param(x), w, b, act), r); },
                     {&x, &w, &b});
    expect_gradients(("dense no-bias " + to_string(act)).c_str(),
                     [&](Tape<double>& t) { return project(dense<double>(t.param(x), w, {}, act), r); },
                     {&x, &w});
  }
}

TEST_CASE("dense equals matmul, bias_add and the activation when its passes are split over threads") {
  // Large enough that the product is split (by rows, then by columns when the layer is wide)
  // and so is the activation's and bias's backward pass (by rows).
  const testing::TwoThreads threads;
  Rng rng(11);
  for (const auto& [rows, units] : {std::pair<std::size_t, std::size_t>{300, 160}, {40, 1000}}) {
    auto x = param("x", Shape{rows, 20}, rng);
    auto w = param("w", Shape{20, units}, rng);
    auto b = param("b", Shape{units}, rng);
    for (double& v : b.mutable_value()) v *= 4;  // relu6 saturates for some elements
    const auto r = testing::random_tensor<double>(Shape{rows, units}, rng);
    for (Activation act : {Activation::linear, Activation::relu, Activation::relu6}) {
      // The output and the gradients of x and w, then the bias gradient.
      const auto run = [&](bool fused) {
        for (auto* p : {&x, &w, &b}) p->zero_grad();
        Tape<double> tape;
        auto y = fused ? dense<double>(tape.param(x), w, b, act)
                       : activate<double>(bias_add<double>(matmul<double>(tape.param(x), w), b), act);
        std::vector<double> out(y.value().begin(), y.value().end());
        tape.backward(project(y, r));
        for (auto* p : {&x, &w}) out.insert(out.end(), p->grad().begin(), p->grad().end());
        return std::pair(out, std::vector<double>(b.grad().begin(), b.grad().end()));
      };
      CAPTURE(rows);
      CAPTURE(to_string(act));
      const auto [fused, db_fused] = run(true);
      const auto [apart, db_apart] = run(false);
      CHECK(fused == apart);
      // The fused pass sums each thread's rows first, so the bias gradient may round differently.
      REQUIRE(db_fused.size() == units);
      for (std::size_t j = 0; j < units; ++j) CHECK(db_fused[j] == doctest::Approx(db_apart[j]).epsilon(1e-12));
    }
  }
}

TEST_CASE("gradient check: element-wise ops and activations") {
  Rng rng(2);
  auto a = param("a", Shape{3, 4}, rng);
  auto b = param("b", Shape{3, 4}, rng);
  for (double& v : a.mutable_value()) v *= 8;  // covers both ReLU6 kinks' sides
  const auto r = testing::random_tensor<double>(Shape{3, 4}, rng);
  expect_gradients("add", [&](Tape<double>& t) { return project(add<double>(t.param(a), b), r); }, {&a, &b});
  expect_gradients("subtract", [&](Tape<double>& t) { return project(subtract<double>(t.param(a), b), r); },
                   {&a, &b});
  expect_gradients("multiply", [&](Tape<double>& t) { return project(multiply<double>(t.param(a), b), r); },
                   {&a, &b});
  expect_gradients("multiply scalar",
                   [&](Tape<double>& t) { return project(multiply<double>(t.param(a), -0.37), r); }, {&a});
  expect_gradients("relu", [&](Tape<double>& t) { return project(relu<double>(t.param(a)), r); }, {&a});
  expect_gradients("relu6", [&](Tape<double>& t) { return project(relu6<double>(t.param(a)), r); }, {&a});
  expect_gradients("identity", [&](Tape<double>& t) { return project(identity<double>(t.param(a)), r); },
                   {&a});
}

TEST_CASE("element-wise and row ops split over threads give one thread's values and gradients") {
  // 120,004 values: split into parts of at least element_grain, at offsets that are not
  // multiples of a vector's width on three threads (row ops: a row per part); a, b and m each
  // get several gradients, so both the first writer's assignment and the later writers'
  // additions are split.
  Rng rng(12);
  auto a = param("a", Shape{4, 30001}, rng);
  auto b = param("b", Shape{4, 30001}, rng);
  for (double& v : a.mutable_value()) v *= 8;  // relu6 clamps on both sides
  const auto r = testing::random_tensor<double>(Shape{4, 30001}, rng);
  const auto run = [&](int threads) {
    const int before = max_threads();
    set_num_threads(threads);
    for (auto* p : {&a, &b}) {  // a value no part writes stays NaN
      for (double& g : p->mutable_grad()) g = std::nan("");
      p->zero_grad();
    }
    Tape<double> tape;
    auto va = tape.param(a), vb = tape.param(b);
    auto s = add<double>(multiply<double>(va, vb), subtract<double>(va, multiply<double>(vb, -0.37)));
    auto m = add<double>(relu6<double>(s), s);
    auto y = select_rows<double>({1, 0, 0, 1}, mask_rows<double>(m, {1, 1, 0, 1}), add<double>(m, va));
    std::vector<double> out(y.value().begin(), y.value().end());
    tape.backward(project(y, r));
    for (auto* p : {&a, &b}) out.insert(out.end(), p->grad().begin(), p->grad().end());
    set_num_threads(before);
    return out;
  };
  const auto one = run(1);
  CHECK(run(2) == one);
  CHECK(run(3) == one);
}

TEST_CASE("gradient check: sum, mean, reshape, concat") {
  Rng rng(3);
  auto a = param("a", Shape{2, 3, 4}, rng);
  auto b = param("b", Shape{2, 2, 4}, rng);
  expect_gradients("sum", [&](Tape<double>& t) { return sum<double>(relu<double>(t.param(a))); }, {&a});
  expect_gradients("mean", [&](Tape<double>& t) { return mean<double>(relu<double>(t.param(a))); }, {&a});
  const auto r6 = testing::random_tensor<double>(Shape{6, 4}, rng);
  expect_gradients("reshape",
                   [&](Tape<double>& t) { return project(reshape<double>(t.param(a), Shape{6, 4}), r6); },
                   {&a});
  const auto r1 = testing::random_tensor<double>(Shape{2, 5, 4}, rng);
  expect_gradients("concat axis 1",
                   [&](Tape<double>& t) { return project(concat<double>({t.param(a), t.param(b)}, 1), r1); },
                   {&a, &b});
  auto c = param("c", Shape{2, 3, 2}, rng);
  const auto r2 = testing::random_tensor<double>(Shape{2, 3, 6}, rng);
  expect_gradients("concat last axis",
                   [&](Tape<double>& t) { return project(concat<double>({t.param(a), t.param(c)}, 2), r2); },
                   {&a, &c});
}

TEST_CASE("gradient check: softmax cross-entropy, with and without class weights") {
  Rng rng(4);
  auto z = param("logits", Shape{5, 4}, rng);
  for (double& v : z.mutable_value()) v *= 5;
  const std::vector<int> y{0, 3, 1, 1, 2};
  expect_gradients("softmax_cross_entropy",
                   [&](Tape<double>& t) { return softmax_cross_entropy<double>(t.param(z), y); }, {&z});
  expect_gradients("weighted softmax_cross_entropy",
                   [&](Tape<double>& t) {
                     return softmax_cross_entropy<double>(t.param(z), y, {0.5, 2.0, 1.0, 3.0});
                   },
                   {&z});
}

TEST_CASE("softmax cross-entropy is stable for huge logits and matches a hand value") {
  Tape<double> tape;
  Tensor<double> z(Shape{1, 2}, {1000.0, 0.0});
  auto loss = softmax_cross_entropy<double>(tape.input(z), {1});
  CHECK(loss.value()[0] == doctest::Approx(1000.0));
  tape.clear();
  Tensor<double> even(Shape{1, 4}, {0.0, 0.0, 0.0, 0.0});
  CHECK(softmax_cross_entropy<double>(tape.input(even), {2}).value()[0] ==
        doctest::Approx(std::log(4.0)));
  CHECK_THROWS_AS(softmax_cross_entropy<double>(tape.input(even), {4}), ValueError);
  CHECK_THROWS_AS(softmax_cross_entropy<double>(tape.input(even), {1, 2}), ShapeError);
}

TEST_CASE("a value used twice receives the sum of both gradients") {
  Rng rng(5);
  auto a = param("a", Shape{2, 3}, rng);
  Tape<double> tape;
  a.zero_grad();
  // loss = sum(a ⊙ a) + sum(3a): d/da = 2a + 3.
  auto loss = add<double>(sum<double>(multiply<double>(tape.param(a), a)), sum<double>(multiply<double>(tape.param(a), 3.0)));
  tape.backward(loss);
  for (std::size_t i = 0; i < a.value().size(); ++i)
    CHECK(a.grad()[i] == doctest::Approx(2 * a.value()[i] + 3));
}

TEST_CASE("zero_grad: readers see zeros, the next pass assigns, later passes add") {
  Rng rng(8);
  auto w = param("w", Shape{3, 2}, rng);
  const auto x = testing::random_tensor<double>(Shape{4, 3}, rng);
  Tape<double> tape;
  const auto pass = [&] {
    tape.clear();
    tape.backward(sum<double>(matmul<double>(tape.input(x), w)));
  };
  for (double& g : w.mutable_grad()) g = 7.0;  // stale values zero_grad() must hide
  w.zero_grad();
  for (double g : w.grad()) CHECK(g == 0.0);
  w.mutable_grad()[0] = 7.0;
  w.zero_grad();
  pass();  // d sum(x·w) / dw(i, j) = Σ_r x(r, i)
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 2; ++j)
      CHECK(w.grad()(i, j) == doctest::Approx(x(0, i) + x(1, i) + x(2, i) + x(3, i)));
  const Tensor<double> once = w.grad();
  pass();
  for (std::size_t k = 0; k < once.size(); ++k) CHECK(w.grad()[k] == doctest::Approx(2 * once[k]));
  w.zero_grad();
  w.mutable_grad()[1] = 1.0;  // a writer after zero_grad() starts from zeros
  CHECK(w.grad()[0] == 0.0);
  CHECK(w.grad()[1] == 1.0);
  // A value's gradient seen through a Var on the parameter: zeros, not the stale 2·once.
  w.zero_grad();
  CHECK(Var<double>(w).grad()[2] == 0.0);
}

TEST_CASE("the tape reuses its nodes and buffers across identical steps") {
  Rng rng(6);
  auto w = param("w", Shape{8, 4}, rng);
  const auto x = testing::random_tensor<double>(Shape{16, 8}, rng);
  Tape<double> tape;
  const double* buffer = nullptr;
  for (int step = 0; step < 3; ++step) {
    tape.clear();
    auto y = dense<double>(tape.input(x), w, {}, Activation::relu);
    tape.backward(sum<double>(y));
    if (step == 0) buffer = y.value().data();
    CHECK(y.value().data() == buffer);
  }
}

TEST_CASE("op errors name the shapes involved") {
  Tape<double> tape;
  auto a = tape.input(Tensor<double>(Shape{2, 3}));
  auto b = tape.input(Tensor<double>(Shape{3, 2}));
  CHECK_THROWS_WITH_AS(add(a, b), "add: shapes (2, 3) and (3, 2) differ", ShapeError);
  CHECK_THROWS_WITH_AS(matmul(a, a), "matmul: cannot multiply input (2, 3) by kernel (2, 3)",
                       ShapeError);
  CHECK_THROWS_AS(tape.backward(a), ShapeError);
  Parameter<double> p("p", Tensor<double>(Shape{2}));
  CHECK_THROWS_AS(relu<double>(p), ValueError);  // not on any tape
}
