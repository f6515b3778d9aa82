// Layers driven by hand, as research code drives them: built from given tensors, called
// without a Context, backward after the Context is gone, non-square kernels and strides, and
// DepthwiseConv2D's bias and depth multiplier (gradient checks in double, Keras's channel
// order by hand, tape-free inference equal to the taped pass).
#include <doctest/doctest.h>

#include <memory>

#include "helpers.hpp"

using namespace resilinet;
using testing::expect_gradients;
using testing::param;
using testing::project;

namespace {

Tensor<double> tensor(const Shape& shape, std::initializer_list<double> values) {
  Tensor<double> t(shape);
  REQUIRE(values.size() == t.size());
  std::copy(values.begin(), values.end(), t.begin());
  return t;
}

// The gradient of Σ r·layer(x) with respect to x and every parameter, as one flat list.
std::vector<double> gradients(Module<double>& layer, const Tensor<double>& x, const Tensor<double>& r,
                              bool drop_context_before_backward) {
  for (Parameter<double>* p : layer.parameters()) p->zero_grad();
  Tape<double> tape;
  Var<double> input = tape.input(x, true);
  Var<double> loss;
  {
    auto ctx = std::make_unique<Context<double>>();
    loss = project(layer(input, *ctx), r);
    if (!drop_context_before_backward) tape.backward(loss);
  }
  if (drop_context_before_backward) tape.backward(loss);
  std::vector<double> out(input.grad().begin(), input.grad().end());
  for (Parameter<double>* p : layer.parameters()) out.insert(out.end(), p->grad().begin(), p->grad().end());
  return out;
}

}  // namespace

TEST_CASE("gradient check: repeat_last, and its values in a depth multiplier's order") {
  Rng rng(41);
  auto a = param("a", Shape{2, 3, 2}, rng);
  const auto r = testing::random_tensor<double>(Shape{2, 3, 6}, rng);
  expect_gradients("repeat_last x3",
                   [&](Tape<double>& t) { return project(repeat_last<double>(t.param(a), 3), r); }, {&a});
  Tape<double> tape;
  const Var<double> y = repeat_last<double>(tape.input(tensor(Shape{1, 2}, {1, 2})), 2);
  CHECK(y.shape() == Shape{1, 4});
  CHECK(std::vector<double>(y.value().begin(), y.value().end()) == std::vector<double>{1, 1, 2, 2});
  CHECK_THROWS_AS(repeat_last<double>(tape.input(tensor(Shape{1, 2}, {1, 2})), 0), ShapeError);
}

TEST_CASE("layers built from given tensors compute with exactly those weights") {
  Dense<double> dense(tensor(Shape{2, 3}, {1, 2, 3, 4, 5, 6}), tensor(Shape{3}, {0.5, -1, 0}),
                      Activation::linear, "given");
  Tape<double> tape;
  const Var<double> y = dense(tape.input(tensor(Shape{1, 2}, {1, -1})));
  CHECK(std::vector<double>(y.value().begin(), y.value().end()) == std::vector<double>{-2.5, -4, -3});
  CHECK(dense.has_bias());
  CHECK(dense.bias().name() == "given/bias");
  Dense<double> no_bias(tensor(Shape{2, 1}, {1, 1}), std::nullopt, Activation::linear);
  CHECK_FALSE(no_bias.has_bias());
  CHECK_THROWS_WITH_AS(no_bias.bias(), "Dense 'dense' has no bias", ValueError);
  CHECK_THROWS_WITH_AS(Dense<double>(Tensor<double>(Shape{2, 3, 1}), std::nullopt, Activation::linear),
                       doctest::Contains("the kernel must be (in_features, units)"), ShapeError);

  // A 1x2 convolution kernel (KH 1, KW 2, C 1, F 1) of [1, 10] and bias 0.5 over one row.
  Conv2D<double> conv(tensor(Shape{1, 2, 1, 1}, {1, 10}), tensor(Shape{1}, {0.5}));
  CHECK(conv.options().kernel_height == 1);
  CHECK(conv.options().kernel_width == 2);
  const Var<double> c = conv(tape.input(tensor(Shape{1, 1, 3, 1}, {1, 2, 3})));
  CHECK(c.shape() == Shape{1, 1, 2, 1});
  CHECK(c.value()[0] == 1 + 20 + 0.5);
  CHECK(c.value()[1] == 2 + 30 + 0.5);
  CHECK_THROWS_WITH_AS(Conv2D<double>(Tensor<double>(Shape{1, 2, 1, 3}), Tensor<double>(Shape{2})),
                       doctest::Contains("bias (2,) does not match 3 filters"), ShapeError);
}

TEST_CASE("DepthwiseConv2D: bias, depth multiplier in Keras's channel order, non-square kernel") {
  // x has 2 channels [1, 10]; a 1x1 kernel (1, 1, 2, 2) = [[a0, a1], [b0, b1]]: output
  // channel c·2 + m is x_c·k[c][m] + bias[c·2 + m].
  DepthwiseConv2D<double> dw(tensor(Shape{1, 1, 2, 2}, {2, 3, 5, 7}), tensor(Shape{4}, {0.25, 0.5, 1, 2}));
  CHECK(dw.options().depth_multiplier == 2);
  Tape<double> tape;
  const Var<double> y = dw(tape.input(tensor(Shape{1, 1, 1, 2}, {1, 10})));
  CHECK(y.shape() == Shape{1, 1, 1, 4});
  CHECK(std::vector<double>(y.value().begin(), y.value().end()) ==
        std::vector<double>{2.25, 3.5, 51, 72});
  CHECK_THROWS_WITH_AS(dw(tape.input(Tensor<double>(Shape{1, 1, 1, 3}))),
                       doctest::Contains("input must be (N, H, W, 2), got (1, 1, 1, 3)"), ShapeError);

  Rng rng(43);
  const auto options = DepthwiseConv2DOptions().with_kernel(3, 2).with_stride(2, 1)
                           .with_padding(Padding::same).with_depth_multiplier(3);
  DepthwiseConv2D<double> layer(2, options, rng, "dw");
  for (double& b : layer.bias().mutable_value()) b = rng.uniform(-1, 1);
  CHECK(layer.kernel().value().shape() == Shape{3, 2, 2, 3});
  auto x = param("x", Shape{2, 5, 4, 2}, rng);
  Context<double> ctx;
  Tape<double> probe;
  const Shape out = layer(probe.input(x.value()), ctx).shape();
  CHECK(out == Shape{2, 3, 4, 6});
  const auto r = testing::random_tensor<double>(out, rng);
  std::vector<Parameter<double>*> params = layer.parameters();
  params.push_back(&x);
  expect_gradients("depthwise 3x2 / 2x1 same, multiplier 3, bias",
                   [&](Tape<double>& t) { return project(layer(t.param(x), ctx), r); }, params);
}

TEST_CASE("gradient check: Conv2D and MaxPool2D with non-square kernels and strides") {
  Rng rng(47);
  Conv2D<double> conv(3, 2, Conv2DOptions().with_kernel(3, 1).with_stride(1, 2).with_padding(Padding::same),
                      rng, "conv");
  for (double& b : conv.bias().mutable_value()) b = rng.uniform(-1, 1);
  MaxPool2D<double> pool(2, 3, 2, 1, Padding::valid);
  auto x = param("x", Shape{2, 5, 6, 3}, rng);
  Context<double> ctx;
  Tape<double> probe;
  const Var<double> c = conv(probe.input(x.value()), ctx);
  CHECK(c.shape() == Shape{2, 5, 3, 2});
  const Shape pooled = pool(c, ctx).shape();
  CHECK(pooled == Shape{2, 2, 1, 2});
  const auto rc = testing::random_tensor<double>(c.shape(), rng);
  const auto rp = testing::random_tensor<double>(pooled, rng);
  std::vector<Parameter<double>*> params = conv.parameters();
  params.push_back(&x);
  expect_gradients("conv 3x1 / 1x2 same", [&](Tape<double>& t) { return project(conv(t.param(x), ctx), rc); },
                   params);
  expect_gradients("conv then max pool 2x3 / 2x1",
                   [&](Tape<double>& t) { return project(pool(conv(t.param(x), ctx), ctx), rp); }, params);
}

TEST_CASE("the new layer shapes infer exactly what forward() gives") {
  Rng rng(53);
  std::vector<std::pair<std::unique_ptr<Module<double>>, Shape>> cases;
  cases.emplace_back(new DepthwiseConv2D<double>(
                         3, DepthwiseConv2DOptions().with_kernel(3, 2).with_stride(2, 1).with_depth_multiplier(2),
                         rng),
                     Shape{2, 7, 6, 3});
  cases.emplace_back(new Conv2D<double>(3, 4, Conv2DOptions().with_kernel(1, 3).with_stride(2, 3), rng),
                     Shape{2, 5, 7, 3});
  cases.emplace_back(new MaxPool2D<double>(3, 1, 1, 2, Padding::same), Shape{2, 5, 5, 3});
  Inference<double> inf;
  for (auto& [module, shape] : cases) {
    CAPTURE(module->name());
    for (Parameter<double>* p : module->parameters())
      for (double& v : p->mutable_value()) v = rng.uniform(-1, 1);
    const Tensor<double> x = testing::random_tensor<double>(shape, rng);
    Tape<double> tape;
    const Tensor<double> expected = (*module)(tape.input(x)).value();
    const TensorView<const double> got = inf.run(*module, x.view());
    CHECK(got.shape() == expected.shape());
    CHECK(std::equal(got.begin(), got.end(), expected.begin()));
  }
}

TEST_CASE("backward runs after the Context that recorded a convolution is gone") {
  Rng rng(59);
  Conv2D<double> conv(2, 3, Conv2DOptions().with_padding(Padding::same), rng);
  DepthwiseConv2D<double> dw(2, DepthwiseConv2DOptions().with_depth_multiplier(2), rng);
  const Tensor<double> x = testing::random_tensor<double>(Shape{2, 5, 5, 2}, rng);
  for (Module<double>* layer : {static_cast<Module<double>*>(&conv), static_cast<Module<double>*>(&dw)}) {
    CAPTURE(layer->name());
    Context<double> probe;
    Tape<double> tape;
    const Tensor<double> r = testing::random_tensor<double>((*layer)(tape.input(x), probe).shape(), rng);
    const std::vector<double> live = gradients(*layer, x, r, false);
    const std::vector<double> after = gradients(*layer, x, r, true);
    CHECK(live == after);
  }
}
