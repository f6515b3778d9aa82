// Convolution, depthwise, batch norm, pooling, padding, dropout and flatten: finite-difference
// gradient checks in double (stride 2, asymmetric "same" padding, batch norm in training and
// inference), hand-computed cases, and Keras's conventions.
#include <doctest/doctest.h>

#include <cmath>

#include "helpers.hpp"

using namespace resilinet;
using testing::expect_gradients;
using testing::param;
using testing::project;
using testing::TwoThreads;

TEST_CASE("window geometry follows Keras: same = ceil(in/stride), extra pad bottom/right") {
  const auto g = window_geometry("t", Shape{1, 32, 32, 3}, 7, 7, 2, 2, Padding::same);
  CHECK(g.oh == 16);
  CHECK(g.pad_top == 2);  // total padding 15·2 + 7 − 32 = 5: 2 on top, 3 below
  const auto h = window_geometry("t", Shape{1, 6, 6, 1}, 3, 3, 2, 2, Padding::same);
  CHECK(h.oh == 3);
  CHECK(h.pad_top == 0);  // total 1: all of it at the bottom
  CHECK(window_geometry("t", Shape{1, 32, 32, 3}, 3, 3, 1, 1, Padding::valid).oh == 30);
  CHECK(window_geometry("t", Shape{1, 31, 31, 3}, 1, 1, 4, 4, Padding::valid).oh == 8);
  CHECK_THROWS_WITH_AS(window_geometry("conv2d", Shape{1, 2, 2, 3}, 3, 3, 1, 1, Padding::valid),
                       "conv2d: a 3x3 'valid' window does not fit input (1, 2, 2, 3)", ShapeError);
}

TEST_CASE("gradient check: conv2d (3x3, 1x1, 7x7; stride 1, 2, 4; same and valid; maps smaller than the window)") {
  TwoThreads threads;
  Rng rng(31);
  Context<double> ctx;
  struct Case {
    std::size_t h, w, c, f, k, s;
    Padding p;
    bool bias;
  };
  for (const Case& cs : {Case{5, 5, 2, 3, 3, 1, Padding::same, true},
                         Case{6, 7, 2, 3, 3, 2, Padding::same, true},   // asymmetric padding
                         Case{5, 5, 2, 2, 3, 2, Padding::valid, false},
                         Case{4, 4, 3, 2, 1, 1, Padding::same, true},   // pointwise path
                         Case{9, 9, 2, 2, 1, 4, Padding::valid, false},  // strided 1x1 skip
                         Case{8, 8, 1, 2, 7, 2, Padding::same, true},
                         // Small maps: only some taps ever see the input (TapPlan).
                         Case{1, 1, 4, 3, 3, 1, Padding::same, true},    // centre tap only
                         Case{2, 2, 3, 2, 3, 2, Padding::same, true},    // taps (0..1)x(0..1)
                         Case{3, 2, 2, 2, 7, 2, Padding::same, false}}) {
    auto x = param("x", Shape{3, cs.h, cs.w, cs.c}, rng);
    auto w = param("w", Shape{cs.k, cs.k, cs.c, cs.f}, rng);
    auto b = param("b", Shape{cs.f}, rng);
    const auto g = window_geometry("t", x.value().shape(), cs.k, cs.k, cs.s, cs.s, cs.p);
    const auto r = testing::random_tensor<double>(Shape{3, g.oh, g.ow, cs.f}, rng);
    std::vector<Parameter<double>*> ps{&x, &w};
    if (cs.bias) ps.push_back(&b);
    expect_gradients("conv2d " + std::to_string(cs.k) + "x" + std::to_string(cs.k) + "/" +
                         std::to_string(cs.s) + (cs.p == Padding::same ? " same" : " valid"),
                     [&](Tape<double>& t) {
                       return project(conv2d<double>(t.param(x), w, cs.bias ? Var<double>(b) : Var<double>(),
                                                     cs.s, cs.s, cs.p, ctx),
                                      r);
                     },
                     ps);
  }
}

TEST_CASE("conv2d on a 1x1 map: the kernel gradient is zero off the centre tap, even in a reused tape node") {
  // The kernel is computed (w·2), so its gradient is a tape node whose buffer keeps the values
  // of the previous backward pass (on a 5x5 map, where every tap is used); the 1x1 map's
  // backward writes only the centre tap's rows and must zero the others.
  Rng rng(41);
  Context<double> ctx;
  Parameter<double> w("w", testing::random_tensor<double>(Shape{3, 3, 2, 3}, rng));
  const Tensor<double> twos(w.value().shape(), 2.0);
  Tape<double> tape;
  for (std::size_t hw : {5, 1}) {
    const Tensor<double> x = testing::random_tensor<double>(Shape{2, hw, hw, 2}, rng);
    const Tensor<double> dy(Shape{2, hw, hw, 3}, 1.0);
    tape.clear();
    w.zero_grad();
    auto k = multiply(tape.param(w), tape.input(twos));
    auto y = conv2d<double>(tape.input(x), k, Var<double>(), 1, 1, Padding::same, ctx);
    tape.backward(y, dy.view());
  }
  for (std::size_t tap = 0; tap < 9; ++tap)
    for (std::size_t i = 0; i < 6; ++i)
      CHECK((w.grad().data()[tap * 6 + i] == 0.0) == (tap != 4));  // centre tap: 4
}

TEST_CASE("conv2d's backward over a batch of several im2col chunks: against sums in double, the same on 1 and 2 threads") {
  // 64x64x32 images under a 3x3 kernel make 1.18 M im2col values each, so a batch of 9 takes
  // two chunks (7 + 2 images): the first writes the kernel's gradient, the second adds to it.
  Rng rng(43);
  const Shape xs{9, 64, 64, 32}, ws{3, 3, 32, 4};
  const Tensor<double> xd = testing::random_tensor<double>(xs, rng);
  const Tensor<double> wd = testing::random_tensor<double>(ws, rng);
  const Tensor<double> dyd = testing::random_tensor<double>(Shape{9, 64, 64, 4}, rng);
  auto run = [&](Tensor<double>& dx, Tensor<double>& dw) {
    auto cast = [](const Tensor<double>& t) {
      Tensor<float> out(t.shape());
      std::transform(t.begin(), t.end(), out.begin(), [](double v) { return float(v); });
      return out;
    };
    Parameter<float> x("x", cast(xd)), w("w", cast(wd));
    const Tensor<float> dy = cast(dyd);
    Context<float> ctx;
    Tape<float> tape;
    const Tensor<float> ones(ws, 1.0f);
    auto k = multiply(tape.param(w), tape.input(ones));  // a tape node: its first writer sets it
    auto y = conv2d<float>(tape.param(x), k, Var<float>(), 1, 1, Padding::same, ctx);
    tape.backward(y, dy.view());
    dx = Tensor<double>(xs);
    dw = Tensor<double>(ws);
    std::copy(x.grad().begin(), x.grad().end(), dx.begin());
    std::copy(w.grad().begin(), w.grad().end(), dw.begin());
  };
  // Reference: the sums written out in double.
  Tensor<double> dx64(xs), dw64(ws);
  for (std::size_t n = 0; n < 9; ++n)
    for (long oy = 0; oy < 64; ++oy)
      for (long ox = 0; ox < 64; ++ox)
        for (long ky = 0; ky < 3; ++ky)
          for (long kx = 0; kx < 3; ++kx) {
            const long iy = oy + ky - 1, ix = ox + kx - 1;
            if (iy < 0 || ix < 0 || iy >= 64 || ix >= 64) continue;
            const double* xv = xd.data() + ((n * 64 + iy) * 64 + ix) * 32;
            double* dxv = dx64.data() + ((n * 64 + iy) * 64 + ix) * 32;
            const double* dyv = dyd.data() + ((n * 64 + oy) * 64 + ox) * 4;
            const std::size_t tap = std::size_t(ky * 3 + kx) * 32 * 4;
            for (std::size_t c = 0; c < 32; ++c)
              for (std::size_t f = 0; f < 4; ++f) {
                dw64.data()[tap + c * 4 + f] += xv[c] * dyv[f];
                dxv[c] += wd.data()[tap + c * 4 + f] * dyv[f];
              }
          }
  Tensor<double> dx1, dw1, dx2, dw2;
  run(dx1, dw1);
  {
    TwoThreads threads;
    run(dx2, dw2);
  }
  auto worst = [](const Tensor<double>& got, const Tensor<double>& want) {
    double e = 0, scale = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      e = std::max(e, std::abs(got.data()[i] - want.data()[i]));
      scale = std::max(scale, std::abs(want.data()[i]));
    }
    return e / scale;
  };
  CHECK(worst(dx1, dx64) < 1e-5);
  CHECK(worst(dw1, dw64) < 1e-5);
#if defined(__AVX512F__)  // resilinet's own kernel sums in an order k alone fixes; OpenBLAS's need not
  CHECK(worst(dx2, dx1) == 0);
  CHECK(worst(dw2, dw1) == 0);
#else
  CHECK(worst(dw2, dw64) < 1e-5);
#endif
}

TEST_CASE("conv2d: a hand-computed case, and the L2 penalty adds 2λW to the kernel gradient") {
  // One 3x3 image 1..9, one 2x2 kernel [[1, 0], [0, -1]], valid: y = x[i][j] − x[i+1][j+1].
  Context<double> ctx;
  Tape<double> tape;
  Tensor<double> x(Shape{1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Parameter<double> w("w", Tensor<double>(Shape{2, 2, 1, 1}, {1, 0, 0, -1}));
  auto y = conv2d<double>(tape.input(x), w, {}, 1, 1, Padding::valid, ctx);
  REQUIRE(y.shape() == Shape{1, 2, 2, 1});
  for (double v : y.value()) CHECK(v == -4.0);
  // "same" with stride 2 on 3x3: output 2x2, total padding 1 at the bottom/right only.
  tape.clear();
  auto z = conv2d<double>(tape.input(x), w, {}, 2, 2, Padding::same, ctx);
  REQUIRE(z.shape() == Shape{1, 2, 2, 1});
  CHECK(z.value()[0] == 1.0 - 5.0);
  CHECK(z.value()[1] == 3.0 - 0.0);  // x[0][2] − padded zero
  CHECK(z.value()[3] == 9.0);
  Rng rng(32);
  auto xi = testing::random_tensor<double>(Shape{2, 4, 4, 2}, rng);
  auto k = param("k", Shape{3, 3, 2, 3}, rng);
  std::vector<double> plain;
  for (double l2 : {0.0, 0.25}) {
    tape.clear();
    k.zero_grad();
    tape.backward(sum(conv2d<double>(tape.input(xi), k, {}, 1, 1, Padding::same, ctx, l2)));
    if (l2 == 0.0) {
      plain.assign(k.grad().begin(), k.grad().end());
    } else {
      double maxdiff = 0;
      for (std::size_t i = 0; i < plain.size(); ++i)
        maxdiff = std::max(maxdiff, std::abs(k.grad()[i] - plain[i] - 2 * l2 * k.value()[i]));
      CHECK(maxdiff < 1e-12);
    }
  }
}

TEST_CASE("gradient check: depthwise_conv2d (3x3 same stride 1, valid stride 2 after padding, maps smaller than the window)") {
  TwoThreads threads;
  Rng rng(33);
  Context<double> ctx;
  auto x = param("x", Shape{3, 6, 5, 4}, rng);
  auto w = param("w", Shape{3, 3, 4, 1}, rng);
  const auto r1 = testing::random_tensor<double>(Shape{3, 6, 5, 4}, rng);
  expect_gradients("depthwise 3x3/1 same",
                   [&](Tape<double>& t) {
                     return project(depthwise_conv2d<double>(t.param(x), w, 1, 1, Padding::same, ctx), r1);
                   },
                   {&x, &w});
  const auto r2 = testing::random_tensor<double>(Shape{3, 3, 2, 4}, rng);
  expect_gradients("depthwise pad(0,1,0,1) + 3x3/2 valid",
                   [&](Tape<double>& t) {
                     return project(depthwise_conv2d<double>(zero_pad2d<double>(t.param(x), 0, 1, 0, 1),
                                                             w, 2, 2, Padding::valid, ctx),
                                    r2);
                   },
                   {&x, &w});
  // Full blocks of 32 channels in registers and tails of every kind (3 and 16 of a variable
  // count; 8 and 24 of a constant one), stride 2 with same padding.
  for (std::size_t c : {35, 40, 16, 56}) {
    auto xb = param("xb", Shape{2, 5, 4, c}, rng);
    auto wb = param("wb", Shape{3, 3, c, 1}, rng);
    const auto r3 = testing::random_tensor<double>(Shape{2, 3, 2, c}, rng);
    expect_gradients("depthwise 3x3/2 same, " + std::to_string(c) + " channels",
                     [&](Tape<double>& t) {
                       return project(depthwise_conv2d<double>(t.param(xb), wb, 2, 2, Padding::same, ctx), r3);
                     },
                     {&xb, &wb});
  }
  // Maps smaller than the window (MobileNet's last layers): taps that miss the input entirely.
  auto xs = param("xs", Shape{2, 1, 2, 3}, rng);
  auto ws = param("ws", Shape{3, 3, 3, 1}, rng);
  for (std::size_t stride : {1, 2}) {
    const std::size_t ow = stride == 1 ? 2 : 1;
    const auto r4 = testing::random_tensor<double>(Shape{2, 1, ow, 3}, rng);
    expect_gradients("depthwise 3x3/" + std::to_string(stride) + " same on 1x2 maps",
                     [&](Tape<double>& t) {
                       return project(depthwise_conv2d<double>(t.param(xs), ws, stride, stride,
                                                               Padding::same, ctx),
                                      r4);
                     },
                     {&xs, &ws});
  }
  // Hand case: channel c is scaled by its own centre tap only.
  Tape<double> tape;
  Tensor<double> ones(Shape{1, 3, 3, 2}, 1.0);
  Tensor<double> k(Shape{3, 3, 2, 1});
  k[(1 * 3 + 1) * 2 + 0] = 2.0;
  k[(1 * 3 + 1) * 2 + 1] = -3.0;
  k[(0 * 3 + 0) * 2 + 1] = 1.0;  // top-left tap of channel 1: reaches only outputs below/right
  Parameter<double> kp("k", k);
  auto y = depthwise_conv2d<double>(tape.input(ones), kp, 1, 1, Padding::same, ctx);
  CHECK(y.value()[0] == 2.0);   // (0,0) channel 0
  CHECK(y.value()[1] == -3.0);  // (0,0) channel 1: its top-left neighbour is padding
  CHECK(y.value()[(1 * 3 + 1) * 2 + 1] == -2.0);
}

TEST_CASE_TEMPLATE("depthwise_conv2d against sums in double: every vector width, runs of whole windows, the border, any thread count", T,
                   float, double) {
  // 31 channels take blocks of every width the build has (for float with AVX-512: 16, 8, 4
  // and single values); 9x20 maps give each row a run of at least min_run outputs whose 3x3
  // windows lie inside the image (the kernels that hold a block's nine taps in registers) and
  // border outputs around it.
  Rng rng(47);
  const std::size_t n = 3, h = 9, wd = 20, c = 31;
  for (std::size_t stride : {1, 2}) {
    const Padding pad = stride == 1 ? Padding::same : Padding::valid;
    const std::size_t oh = stride == 1 ? h : (h - 3) / 2 + 1, ow = stride == 1 ? wd : (wd - 3) / 2 + 1;
    const long top = stride == 1 ? 1 : 0;
    const Tensor<double> xd = testing::random_tensor<double>(Shape{n, h, wd, c}, rng);
    const Tensor<double> kd = testing::random_tensor<double>(Shape{3, 3, c, 1}, rng);
    const Tensor<double> dyd = testing::random_tensor<double>(Shape{n, oh, ow, c}, rng);
    Tensor<double> y64(Shape{n, oh, ow, c}), dx64(xd.shape()), dw64(kd.shape());
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t oy = 0; oy < oh; ++oy)
        for (std::size_t ox = 0; ox < ow; ++ox)
          for (long ky = 0; ky < 3; ++ky)
            for (long kx = 0; kx < 3; ++kx) {
              const long iy = long(oy * stride) + ky - top, ix = long(ox * stride) + kx - top;
              if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(wd)) continue;
              const std::size_t xo = ((i * h + std::size_t(iy)) * wd + std::size_t(ix)) * c;
              const std::size_t yo = ((i * oh + oy) * ow + ox) * c, ko = std::size_t(ky * 3 + kx) * c;
              for (std::size_t ch = 0; ch < c; ++ch) {
                y64[yo + ch] += xd[xo + ch] * kd[ko + ch];
                dx64[xo + ch] += kd[ko + ch] * dyd[yo + ch];
                dw64[ko + ch] += xd[xo + ch] * dyd[yo + ch];
              }
            }
    auto cast = [](const Tensor<double>& t) {
      Tensor<T> out(t.shape());
      std::transform(t.begin(), t.end(), out.begin(), [](double v) { return T(v); });
      return out;
    };
    auto worst = [](const Tensor<T>& got, const Tensor<double>& want) {
      double e = 0, scale = 0;
      for (std::size_t i = 0; i < want.size(); ++i) {
        e = std::max(e, std::abs(double(got[i]) - want[i]));
        scale = std::max(scale, std::abs(want[i]));
      }
      return e / scale;
    };
    // The forward pass splits output rows over threads (2: a part ends inside an image), and
    // each output is the same sum whichever part computes it.
    std::vector<T> y_one;
    for (int threads : {1, 2, 3}) {
      const int before = max_threads();
      set_num_threads(threads);
      Parameter<T> x("x", cast(xd)), k("k", cast(kd));
      Context<T> ctx;
      Tape<T> tape;
      auto y = depthwise_conv2d<T>(tape.param(x), tape.param(k), stride, stride, pad, ctx);
      tape.backward(y, cast(dyd).view());
      set_num_threads(before);
      CAPTURE(stride);
      CAPTURE(threads);
      if (threads == 1) y_one.assign(y.value().begin(), y.value().end());
      CHECK(std::equal(y_one.begin(), y_one.end(), y.value().begin(), y.value().end()));
      CHECK(worst(y.value(), y64) < 1e-6);
      CHECK(worst(x.grad(), dx64) < 1e-6);
      CHECK(worst(k.grad(), dw64) < 1e-6);
    }
  }
}

TEST_CASE("gradient check: batch norm in training and inference, with fused activations") {
  TwoThreads threads;
  Rng rng(34);
  for (Activation act : {Activation::linear, Activation::relu, Activation::relu6})
    for (bool training : {true, false}) {
      auto x = param("x", Shape{4, 3, 2, 5}, rng);
      for (double& v : x.mutable_value()) v = v * 4 + 1;
      auto gamma = param("gamma", Shape{5}, rng);
      auto beta = param("beta", Shape{5}, rng);
      Tensor<double> mm = testing::random_tensor<double>(Shape{5}, rng);
      Tensor<double> mv = testing::random_tensor<double>(Shape{5}, rng, 0.5, 2.0);
      const auto r = testing::random_tensor<double>(Shape{4, 3, 2, 5}, rng);
      BatchNormOptions o;
      o.activation = act;
      expect_gradients(std::string("batch_norm ") + (training ? "train " : "infer ") + to_string(act),
                       [&](Tape<double>& t) {
                         return project(batch_norm<double>(t.param(x), gamma, beta, mm.view(), mv.view(),
                                                           training, o),
                                        r);
                       },
                       {&x, &gamma, &beta});
    }
}

TEST_CASE_TEMPLATE("batch norm after a 1x1 or depthwise convolution takes the statistics the convolution summed while writing", T,
                   float, double) {
  // Large enough that both products and passes split over two threads, and (float with
  // AVX-512) that each thread's rows of the 1x1 product finish in several blocks. The same
  // layers with x·1 between convolution and batch norm (an op that sums nothing) are the
  // reference: batch norm's own pass over the same values.
  TwoThreads threads;
  Rng rng(36);
  const Shape shape{8, 16, 16, 16};
  const auto x0 = testing::random_tensor<T>(shape, rng, -1.0, 3.0);
  const auto r = testing::random_tensor<T>(shape, rng);
  const auto w1 = testing::random_tensor<T>(Shape{1, 1, 16, 16}, rng);
  const auto w3 = testing::random_tensor<T>(Shape{3, 3, 16, 1}, rng);
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (bool depthwise : {false, true})
    for (bool training : {true, false}) {
      std::vector<std::vector<double>> results[2];
      for (bool apart : {false, true}) {
        Parameter<T> x("x", x0), k("k", depthwise ? w3 : w1), gamma("gamma", Tensor<T>(Shape{16}, T(1.5))),
            beta("beta", Tensor<T>(Shape{16}, T(0.25)));
        Tensor<T> mean(Shape{16}), variance(Shape{16}, T(1));
        Context<T> ctx(training ? Mode::train : Mode::infer);
        Tape<T> tape;
        auto z = depthwise ? depthwise_conv2d<T>(tape.param(x), tape.param(k), 1, 1, Padding::same, ctx)
                           : conv2d<T>(tape.param(x), tape.param(k), Var<T>(), 1, 1, Padding::same, ctx);
        const auto* sums = dynamic_cast<const detail::OutputSums<T>*>(z.node());
        REQUIRE(sums);
        CHECK(sums->output_sums.sums().size() == (training ? 32u : 0u));
        if (apart) z = multiply<T>(z, T(1));
        auto y = batch_norm<T>(z, tape.param(gamma), tape.param(beta), mean.view(), variance.view(),
                               training, BatchNormOptions().with_activation(Activation::relu6));
        tape.backward(sum(multiply(y, tape.input(r))));
        const auto keep = [&](const auto& v) { results[apart].emplace_back(v.begin(), v.end()); };
        keep(y.value());
        keep(mean);
        keep(variance);
        keep(x.grad());
        keep(k.grad());
        keep(gamma.grad());
      }
      INFO((depthwise ? "depthwise" : "1x1") << (training ? " training" : " inference"));
      for (std::size_t i = 0; i < results[0].size(); ++i) {
        const std::vector<double>& got = results[0][i];
        const std::vector<double>& want = results[1][i];
        REQUIRE(got.size() == want.size());
        double scale = 1e-30, err = 0;
        for (std::size_t j = 0; j < got.size(); ++j) {
          scale = std::max(scale, std::abs(want[j]));
          err = std::max(err, std::abs(got[j] - want[j]));
        }
        CAPTURE(i);
        CHECK(err <= tol * scale);
      }
    }
}

TEST_CASE("gradient check: batch norm in training on a 1x1 and a depthwise convolution's summed output") {
  Rng rng(37);
  auto x = param("x", Shape{2, 3, 4, 3}, rng);
  auto w1 = param("w1", Shape{1, 1, 3, 4}, rng);
  auto w3 = param("w3", Shape{3, 3, 3, 1}, rng);
  auto gamma = param("gamma", Shape{4}, rng);
  auto gamma3 = param("gamma3", Shape{3}, rng);
  auto beta = param("beta", Shape{4}, rng);
  auto beta3 = param("beta3", Shape{3}, rng);
  Tensor<double> mm(Shape{4}), mv(Shape{4}, 1.0), mm3(Shape{3}), mv3(Shape{3}, 1.0);
  const auto r = testing::random_tensor<double>(Shape{2, 3, 4, 4}, rng);
  const auto r3 = testing::random_tensor<double>(Shape{2, 3, 4, 3}, rng);
  Context<double> ctx(Mode::train);
  expect_gradients("conv 1x1 -> batch_norm train", [&](Tape<double>& t) {
    auto z = conv2d<double>(t.param(x), t.param(w1), Var<double>(), 1, 1, Padding::same, ctx);
    return project(batch_norm<double>(z, gamma, beta, mm.view(), mv.view(), true), r);
  }, {&x, &w1, &gamma, &beta});
  expect_gradients("depthwise 3x3 -> batch_norm train", [&](Tape<double>& t) {
    auto z = depthwise_conv2d<double>(t.param(x), t.param(w3), 1, 1, Padding::same, ctx);
    return project(batch_norm<double>(z, gamma3, beta3, mm3.view(), mv3.view(), true), r3);
  }, {&x, &w3, &gamma3, &beta3});
}

TEST_CASE("batch norm's fused activation: the same gradients, bit for bit, as batch norm then the activation") {
  // The fused backward takes act' from x·scale + shift recomputed in the forward's expression,
  // not from the stored output: it must mask exactly where the forward clamped. Wide inputs put
  // many outputs on ReLU6's flat parts; x also feeds a second term, so the dx pass adds.
  TwoThreads threads;
  Rng rng(35);
  const Shape shape{6, 5, 7, 24};
  const auto x0 = testing::random_tensor<float>(shape, rng, -8.0, 10.0);
  const auto r = testing::random_tensor<float>(shape, rng);
  const auto r2 = testing::random_tensor<float>(shape, rng);
  const auto g0 = testing::random_tensor<float>(Shape{24}, rng, 0.5, 3.0);
  const auto b0 = testing::random_tensor<float>(Shape{24}, rng, -2.0, 4.0);
  const auto mm = testing::random_tensor<float>(Shape{24}, rng);
  const auto mv = testing::random_tensor<float>(Shape{24}, rng, 0.5, 2.0);
  for (Activation act : {Activation::relu, Activation::relu6})
    for (bool training : {true, false}) {
      std::vector<std::vector<float>> grads[2];
      for (bool fused : {true, false}) {
        Parameter<float> x("x", x0), gamma("gamma", g0), beta("beta", b0);
        Tensor<float> moving_mean = mm, moving_variance = mv;
        Tape<float> tape;
        auto xv = tape.param(x);
        const BatchNormOptions o = BatchNormOptions().with_activation(fused ? act : Activation::linear);
        auto y = batch_norm<float>(xv, tape.param(gamma), tape.param(beta), moving_mean.view(),
                                   moving_variance.view(), training, o);
        if (!fused) y = activate(y, act);
        tape.backward(add(sum(multiply(y, tape.input(r))), sum(multiply(xv, tape.input(r2)))));
        for (Parameter<float>* p : {&x, &gamma, &beta})
          grads[fused].emplace_back(p->grad().begin(), p->grad().end());
      }
      INFO(to_string(act) << (training ? " training" : " inference"));
      CHECK(grads[0] == grads[1]);
    }
}

TEST_CASE("batch norm: hand-computed statistics, Keras's moving-variance update, train vs eval") {
  BatchNorm<double> bn(1, "bn");
  Tensor<double> x(Shape{4, 1}, {1, 2, 3, 4});
  Tape<double> tape;
  Context<double> train(Mode::train), infer(Mode::infer);
  auto y = bn(tape.input(x), train);
  const double s = 1 / std::sqrt(1.25 + 1e-3);  // batch mean 2.5, biased variance 1.25
  for (std::size_t i = 0; i < 4; ++i) CHECK(y.value()[i] == doctest::Approx((x[i] - 2.5) * s));
  CHECK(bn.moving_mean().value()[0] == doctest::Approx(0.01 * 2.5));
  CHECK(bn.moving_variance().value()[0] == doctest::Approx(0.99 + 0.01 * 1.25 * 4 / (4 - 1.001)));
  tape.clear();
  auto z = bn(tape.input(x), infer);  // moving statistics now normalise
  const double mv = bn.moving_variance().value()[0], mm = bn.moving_mean().value()[0];
  CHECK(z.value()[3] == doctest::Approx((4 - mm) / std::sqrt(mv + 1e-3)));
  // Moving statistics are parameters (saved with the model) that optimizers never touch.
  CHECK(bn.parameters().size() == 4);
  Adam<double> adam(bn.parameters());
  CHECK(adam.parameters().size() == 2);
  CHECK_THROWS_AS(BatchNorm<double>(3, "bad", BatchNormOptions{1.5}), ValueError);
}

TEST_CASE("batch norm: zero-debiased moving statistics (Keras 2.2 on TensorFlow 1), hand-computed steps") {
  const BatchNormOptions o = BatchNormOptions().with_momentum(0.9).with_zero_debias(true);
  CHECK(o.epsilon == 1e-3);
  CHECK(o.activation == Activation::linear);
  BatchNorm<double> bn(1, "bn", o), plain(1, "plain", BatchNormOptions{0.9});
  REQUIRE(bn.parameters().size() == 5);  // + moving_updates, saved with the model
  Context<double> train(Mode::train);
  Tape<double> tape;
  const double f = 4 / (4 - 1.001);  // Keras's variance factor R / (R - 1 - eps), R = 4 rows
  const Tensor<double> first(Shape{4, 1}, {1, 2, 3, 4}), second(Shape{4, 1}, {5, 7, 9, 11});
  bn(tape.input(first), train);  // batch mean 2.5, biased variance 1.25
  plain(tape.input(first), train);
  // TensorFlow's hidden biased average: 0.1 * 2.5 = 0.25 after one step, divided by 1 - 0.9.
  CHECK(bn.moving_mean().value()[0] == doctest::Approx(2.5).epsilon(1e-14));
  CHECK(bn.moving_variance().value()[0] == doctest::Approx(1.25 * f).epsilon(1e-14));
  CHECK(bn.parameters()[4]->value()[0] == 1);
  CHECK(plain.moving_mean().value()[0] == doctest::Approx(0.25).epsilon(1e-14));  // 0.9 * 0 + 0.1 * 2.5
  CHECK(plain.moving_variance().value()[0] == doctest::Approx(0.9 + 0.125 * f).epsilon(1e-14));
  bn(tape.input(second), train);  // batch mean 8, biased variance 5
  // Biased: 0.9 * 0.25 + 0.1 * 8 = 1.025 and 0.9 * 0.125 f + 0.1 * 5 f = 0.6125 f; / (1 - 0.81).
  CHECK(bn.moving_mean().value()[0] == doctest::Approx(1.025 / 0.19).epsilon(1e-14));
  CHECK(bn.moving_variance().value()[0] == doctest::Approx(0.6125 * f / 0.19).epsilon(1e-14));
  CHECK(bn.parameters()[4]->value()[0] == 2);
  for (int step = 2; step < 400; ++step) bn(tape.input(second), train);
  // Long runs forget the start either way: 0.9^400 of the first batch is left.
  CHECK(bn.moving_mean().value()[0] == doctest::Approx(8).epsilon(1e-12));
  Context<double> infer(Mode::infer);
  CHECK(bn(tape.input(second), infer).value()[3] == doctest::Approx(3 / std::sqrt(5 * f + 1e-3)).epsilon(1e-10));
  CHECK(bn.parameters()[4]->value()[0] == 400);  // inference leaves the count alone
  CHECK_THROWS_WITH_AS(batch_norm<double>(tape.input(first), Var<double>(bn.gamma()), Var<double>(bn.beta()),
                                          bn.moving_mean().mutable_value(), bn.moving_variance().mutable_value(), true, o),
                       "batch_norm: zero_debias needs the count of updates", ValueError);
}

TEST_CASE("gradient check: max pool, global average pool, zero padding") {
  TwoThreads threads;
  Rng rng(35);
  auto x = param("x", Shape{3, 8, 8, 3}, rng);  // continuous values: no ties
  const auto r1 = testing::random_tensor<double>(Shape{3, 4, 4, 3}, rng);
  expect_gradients("max_pool 3x3/2 same",
                   [&](Tape<double>& t) { return project(max_pool2d<double>(t.param(x), 3, 3, 2, 2, Padding::same), r1); },
                   {&x});
  const auto r2 = testing::random_tensor<double>(Shape{3, 4, 4, 3}, rng);
  expect_gradients("max_pool 2x2/2 valid",
                   [&](Tape<double>& t) { return project(max_pool2d<double>(t.param(x), 2, 2, 2, 2, Padding::valid), r2); },
                   {&x});
  const auto r3 = testing::random_tensor<double>(Shape{3, 3}, rng);
  expect_gradients("global_average_pool2d",
                   [&](Tape<double>& t) { return project(global_average_pool2d<double>(t.param(x)), r3); }, {&x});
  const auto r4 = testing::random_tensor<double>(Shape{3, 9, 11, 3}, rng);
  expect_gradients("zero_pad2d (0, 1, 1, 2)",
                   [&](Tape<double>& t) { return project(zero_pad2d<double>(t.param(x), 0, 1, 1, 2), r4); },
                   {&x});
}

TEST_CASE("global average pooling, zero padding, flatten and reshape: hand-computed cases") {
  Tape<double> tape;
  Context<double> ctx;
  // Two channels of a 2x2 image: channel 0 = 1, 2, 3, 4; channel 1 = 10, 20, 30, 40.
  Tensor<double> x(Shape{1, 2, 2, 2}, {1, 10, 2, 20, 3, 30, 4, 40});
  auto v = tape.input(x);
  auto gap = global_average_pool2d<double>(v);
  CHECK(gap.shape() == Shape{1, 2});
  CHECK(gap.value()[0] == 2.5);
  CHECK(gap.value()[1] == 25.0);
  auto pad = zero_pad2d<double>(v, 0, 1, 1, 0);  // one row below, one column on the left
  REQUIRE(pad.shape() == Shape{1, 3, 3, 2});
  const std::vector<double> expect{0, 0, 1, 10, 2, 20, 0, 0, 3, 30, 4, 40, 0, 0, 0, 0, 0, 0};
  for (std::size_t i = 0; i < expect.size(); ++i) CHECK(pad.value()[i] == expect[i]);
  auto flat = Flatten<double>()(v, ctx);
  CHECK(flat.shape() == Shape{1, 8});
  CHECK(flat.value()[7] == 40.0);
  auto back = Reshape<double>(Shape{2, 2, 2})(flat, ctx);
  CHECK(back.shape() == Shape{1, 2, 2, 2});
  CHECK(back.node() == v.node());  // views: nothing copied
}

TEST_CASE("zero padding split over two threads places, and routes back, every value") {
  TwoThreads two;
  Rng rng(36);
  const std::size_t n = 6, h = 40, w = 40, c = 16, oh = h + 3, ow = w + 3;  // parts of 3 images
  const auto x0 = testing::random_tensor<float>(Shape{n, h, w, c}, rng);
  const auto dy = testing::random_tensor<float>(Shape{n, oh, ow, c}, rng);
  Tape<float> tape;
  auto x = tape.input(x0, true);
  auto a = zero_pad2d<float>(x, 1, 2, 0, 3);  // rows 1 above, 2 below; columns 3 on the right
  REQUIRE(a.shape() == Shape{n, oh, ow, c});
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t r = 0; r < oh; ++r)
      for (std::size_t q = 0; q < ow; ++q)
        for (std::size_t k = 0; k < c; ++k) {
          const bool inside = r >= 1 && r < h + 1 && q < w;
          const float expect = inside ? x0[((i * h + r - 1) * w + q) * c + k] : 0.0f;
          wrong += a.value()[((i * oh + r) * ow + q) * c + k] != expect;
        }
  CHECK(wrong == 0);
  // Two uses of x: the first backward writes dx, the second adds to it.
  auto b = zero_pad2d<float>(x, 1, 2, 0, 3);
  tape.backward(add(a, b), dy);
  wrong = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t r = 0; r < h; ++r)
      for (std::size_t q = 0; q < w; ++q)
        for (std::size_t k = 0; k < c; ++k) {
          const float g = dy[((i * oh + r + 1) * ow + q) * c + k];
          wrong += x.grad()[((i * h + r) * w + q) * c + k] != g + g;
        }
  CHECK(wrong == 0);
}

TEST_CASE("max pool: same padding ignores padded cells, ties go to the first cell") {
  Tape<double> tape;
  // All-negative input: a padded zero must never win.
  Tensor<double> neg(Shape{1, 3, 3, 1}, {-5, -4, -3, -2, -1, -6, -7, -8, -9});
  auto y = max_pool2d<double>(tape.input(neg), 2, 2, 2, 2, Padding::same);
  REQUIRE(y.shape() == Shape{1, 2, 2, 1});
  CHECK(y.value()[0] == -1);
  CHECK(y.value()[1] == -3);  // window {-3, -6} plus two padded cells
  CHECK(y.value()[3] == -9);
  tape.clear();
  Tensor<double> ties(Shape{1, 2, 2, 1}, {7, 7, 7, 7});
  auto x = tape.input(ties, true);
  tape.backward(sum(max_pool2d<double>(x, 2, 2, 2, 2, Padding::valid)));
  CHECK(x.grad()[0] == 1.0);
  CHECK(x.grad()[1] + x.grad()[2] + x.grad()[3] == 0.0);
  // Wide enough for the vectorised channel loop: channel k ties everywhere when k is even,
  // else its maximum sits in the last cell.
  tape.clear();
  const std::size_t c = 37;
  Tensor<double> wide(Shape{1, 2, 2, c}, 7.0);
  for (std::size_t k = 1; k < c; k += 2) wide[3 * c + k] = 8.0;
  auto xw = tape.input(wide, true);
  auto yw = max_pool2d<double>(xw, 2, 2, 2, 2, Padding::valid);
  tape.backward(sum(yw));
  for (std::size_t k = 0; k < c; ++k) {
    CHECK(yw.value()[k] == (k % 2 ? 8.0 : 7.0));
    CHECK(xw.grad()[k] == (k % 2 ? 0.0 : 1.0));
    CHECK(xw.grad()[3 * c + k] == (k % 2 ? 1.0 : 0.0));
  }
}

TEST_CASE("dropout: inverted scaling, rate statistics, identity in inference, gradient") {
  Rng rng(36);
  Tensor<double> ones(Shape{100000}, 1.0);
  Tape<double> tape;
  auto y = dropout<double>(tape.input(ones), 0.3, rng);
  std::size_t kept = 0;
  double total = 0;
  for (double v : y.value()) {
    kept += v != 0;
    total += v;
    if (v != 0) CHECK(v == doctest::Approx(1 / 0.7));
  }
  CHECK(double(kept) / 1e5 == doctest::Approx(0.7).epsilon(0.01));
  CHECK(total / 1e5 == doctest::Approx(1.0).epsilon(0.01));  // expectation preserved
  Dropout<double> layer(0.5);
  Context<double> infer;
  auto same = tape.input(ones);
  CHECK(layer(same, infer).node() == same.node());
  CHECK_THROWS_AS(Dropout<double>(1.0), ValueError);
  auto x = param("x", Shape{4, 6}, rng);
  const auto r = testing::random_tensor<double>(Shape{4, 6}, rng);
  expect_gradients("dropout (fixed mask)",
                   [&](Tape<double>& t) {
                     Rng fixed(7);  // same mask every evaluation
                     return project(dropout<double>(t.param(x), 0.4, fixed), r);
                   },
                   {&x});
}

TEST_CASE_TEMPLATE("layers compose: a small CNN runs forward and backward in float and double", T,
                   float, double) {
  Rng rng(37);
  Sequential<T> net("cnn");
  net.template add<ZeroPadding2D<T>>(0, 1, 0, 1);
  net.template add<Conv2D<T>>(3, 8, Conv2DOptions().with_kernel(3).with_stride(1).with_bias(false), rng, "conv1");
  net.template add<BatchNorm<T>>(8, "conv1_bn", BatchNormOptions{0.99, 1e-3, Activation::relu6});
  net.template add<DepthwiseConv2D<T>>(8, 3, 2, Padding::same, rng, "dw");
  net.template add<Conv2D<T>>(8, 16, Conv2DOptions().with_kernel(1).with_init(Initializer::he_normal), rng, "pw");
  net.template add<MaxPool2D<T>>(3, 2, Padding::same);
  net.template add<GlobalAveragePooling2D<T>>();
  net.template add<Dropout<T>>(0.1);
  net.template add<Flatten<T>>();
  net.template add<Dense<T>>(16, 10, Activation::linear, rng, "out");
  Tensor<T> x = testing::random_tensor<T>(Shape{4, 8, 8, 3}, rng);
  Tape<T> tape;
  Context<T> ctx(Mode::train, 1);
  auto loss = softmax_cross_entropy(net(tape.input(x), ctx), std::vector<int>{1, 2, 3, 4});
  net.zero_grad();
  tape.backward(loss);
  CHECK(std::isfinite(double(loss.value()[0])));
  double g = 0;
  for (Parameter<T>* p : net.parameters())
    for (T v : p->grad()) g += std::abs(double(v));
  CHECK(g > 0);
}

TEST_CASE("He-normal follows Keras 2.2: truncated at 2 sigma, variance 2 / fan_in") {
  Rng rng(38);
  const Tensor<double> k = he_normal<double>(Shape{3, 3, 64, 64}, 3 * 3 * 64, rng);
  const double sigma = std::sqrt(2.0 / 576) / 0.87962566103423978;
  double sum2 = 0;
  for (double v : k) {
    CHECK_UNARY(std::abs(v) <= 2 * sigma);
    sum2 += v * v;
  }
  CHECK(sum2 / double(k.size()) == doctest::Approx(2.0 / 576).epsilon(0.03));
  CHECK(kernel_fans(Shape{3, 3, 64, 128}) == std::pair<std::size_t, std::size_t>{576, 1152});
}
