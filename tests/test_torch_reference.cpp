// Layer outputs and gradients against PyTorch (an independent framework): cases written by
// tests/fixtures/make_torch_reference.py with Keras's asymmetric "same" padding, stride 2,
// depthwise convolution, batch norm in training mode and max pooling.
#include <doctest/doctest.h>

#include <string>

#include "helpers.hpp"

using namespace resilinet;

namespace {

Tensor<double> fixture(const std::string& file) {
  return load_npy<double>(std::string(RESILINET_TEST_FIXTURES) + "/torch/" + file + ".npy");
}

double maxdiff(TensorView<const double> a, const Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// Runs y = op(x, params...) with loss sum(y * r) and compares y and every gradient.
void compare(const std::string& cs, const std::function<Var<double>(Var<double>)>& op,
             Var<double>* x, std::vector<std::pair<std::string, Parameter<double>*>> params,
             Tape<double>& tape) {
  const Tensor<double> r = fixture(cs + ".r");
  auto y = op(*x);
  for (auto& p : params) p.second->zero_grad();
  tape.backward(y, r);
  double worst = maxdiff(y.value(), fixture(cs + ".y"));
  worst = std::max(worst, maxdiff(x->grad(), fixture(cs + ".dx")));
  for (auto& [name, p] : params) worst = std::max(worst, maxdiff(p->grad(), fixture(cs + ".d" + name)));
  MESSAGE(cs << ": maxdiff against PyTorch " << worst);
  CHECK(worst < 1e-10);
}

}  // namespace

TEST_CASE("conv2d and depthwise_conv2d agree with PyTorch") {
  const int before = max_threads();
  set_num_threads(2);
  Context<double> ctx;
  for (const char* cs : {"conv3x3_s2_same", "conv7x7_s2_same", "conv1x1_s4_valid"}) {
    Tape<double> tape;
    auto x = tape.input(fixture(std::string(cs) + ".x"), true);
    Parameter<double> k("kernel", fixture(std::string(cs) + ".kernel"));
    const bool has_bias = std::string(cs) != "conv1x1_s4_valid";
    Parameter<double> b("bias", has_bias ? fixture(std::string(cs) + ".bias") : Tensor<double>(Shape{1}));
    const std::size_t stride = std::string(cs) == "conv1x1_s4_valid" ? 4 : 2;
    const Padding pad = std::string(cs) == "conv1x1_s4_valid" ? Padding::valid : Padding::same;
    std::vector<std::pair<std::string, Parameter<double>*>> ps{{"kernel", &k}};
    if (has_bias) ps.push_back({"bias", &b});
    compare(cs,
            [&](Var<double> v) {
              return conv2d<double>(v, k, has_bias ? Var<double>(b) : Var<double>(), stride, stride, pad, ctx);
            },
            &x, ps, tape);
  }
  for (std::size_t stride : {1, 2}) {
    const std::string cs = "depthwise3x3_s" + std::to_string(stride) + "_same";
    Tape<double> tape;
    auto x = tape.input(fixture(cs + ".x"), true);
    Parameter<double> k("kernel", fixture(cs + ".kernel"));
    compare(cs, [&](Var<double> v) { return depthwise_conv2d<double>(v, k, stride, stride, Padding::same, ctx); },
            &x, {{"kernel", &k}}, tape);
  }
  set_num_threads(before);
}

TEST_CASE("batch norm (training, fused ReLU6) and max pooling agree with PyTorch") {
  Tape<double> tape;
  const std::string cs = "batchnorm_train_relu6";
  auto x = tape.input(fixture(cs + ".x"), true);
  Parameter<double> gamma("gamma", fixture(cs + ".gamma")), beta("beta", fixture(cs + ".beta"));
  Tensor<double> mm(Shape{6}), mv(Shape{6}, 1.0);
  BatchNormOptions o;
  o.activation = Activation::relu6;
  compare(cs, [&](Var<double> v) { return batch_norm<double>(v, gamma, beta, mm.view(), mv.view(), true, o); },
          &x, {{"gamma", &gamma}, {"beta", &beta}}, tape);
  CHECK(maxdiff(mm, fixture(cs + ".moving_mean")) < 1e-12);
  CHECK(maxdiff(mv, fixture(cs + ".moving_variance")) < 1e-12);
  Tape<double> t2;
  auto p = t2.input(fixture("maxpool3x3_s2_same.x"), true);
  compare("maxpool3x3_s2_same", [&](Var<double> v) { return max_pool2d<double>(v, 3, 3, 2, 2, Padding::same); }, &p,
          {}, t2);
}
