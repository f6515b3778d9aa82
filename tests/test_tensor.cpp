#include <doctest/doctest.h>

#include "helpers.hpp"

using namespace resilinet;

TEST_CASE_TEMPLATE("Tensor stores row-major values and checks shapes", T, float, double) {
  Tensor<T> t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(t.rank() == 2);
  CHECK(t.size() == 6);
  CHECK(t(1, 0) == T(4));
  CHECK(t.shape().str() == "(2, 3)");
  CHECK_THROWS_AS(Tensor<T>(Shape{2, 2}, {1, 2, 3}), ShapeError);
  CHECK_THROWS_WITH_AS(t.reshape(Shape{4, 2}), "Tensor::reshape: cannot view (2, 3) as (4, 2)",
                       ShapeError);
  t.reshape(Shape{3, 2});
  CHECK(t(2, 1) == T(6));
  CHECK_THROWS_AS(t.dim(2), ShapeError);
}

TEST_CASE_TEMPLATE("Tensor row copies and gathers", T, float, double) {
  Tensor<T> t(Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor<T> out;
  t.copy_rows(1, 2, out);
  CHECK(out.shape() == Shape{2, 2});
  CHECK(out[0] == T(3));
  const std::size_t idx[] = {2, 0};
  t.gather_rows(idx, 2, out);
  CHECK(out[0] == T(5));
  CHECK(out[3] == T(2));
  CHECK_THROWS_AS(t.copy_rows(2, 2, out), ShapeError);
  const std::size_t bad[] = {3};
  CHECK_THROWS_AS(t.gather_rows(bad, 1, out), ShapeError);
}

TEST_CASE("Tensor keeps its storage when it shrinks and regrows") {
  Tensor<float> t(Shape{1024, 250});
  const float* before = t.data();
  t.resize(Shape{100, 250});
  t.resize(Shape{1024, 250});
  CHECK(t.data() == before);
}

TEST_CASE("Tensor interoperates with xtensor without keeping expressions") {
  Tensor<double> t(Shape{2, 2}, {1, 2, 3, 4});
  Tensor<double> doubled = Tensor<double>::from_xt(t.xt() * 2.0);
  CHECK(doubled.shape() == Shape{2, 2});
  CHECK(doubled[3] == 8.0);
}

TEST_CASE("Shape rejects ranks above the maximum") {
  CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5, 6, 7}), ShapeError);
  CHECK(Shape{}.numel() == 1);
  CHECK(Shape{4}.str() == "(4,)");
}
