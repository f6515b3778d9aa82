// Where a CIFAR training step's time goes, against the machine's limits. Measures the core's
// peak (a loop of independent FMAs in the widest vectors the build has) and memory bandwidth
// (a stream triad over arrays far larger than the caches), and with --threads N > 1 both again
// on N threads at once (the limits the table is then against), then times every layer of CIFAR
// MobileNet (alpha 0.75) or ResNet-18 forward and backward on its own at the training batch,
// and Adam's update, and prints per layer kind the time, FLOPs and bytes with the achieved
// GFLOP/s and GB/s beside those limits (a roofline table).
// Run: ./bench_roofline [--model mobilenet|resnet] [--batch 128] [--threads 1] [--seconds 0.3]
// or:  ./bench_roofline --gemm  (gemm() against BLAS on the paper networks' products, one thread)
//
// Counting conventions (docs/performance.md): FLOPs only for the product layers, 2 per
// multiply-add that touches the input (kernel taps on padding are not counted: on ResNet's
// 1x1 maps a 3x3 convolution does a ninth of its nominal work); the backward pass computes the
// input and kernel gradients at the forward's cost each (3x the forward in all; 2x for the
// first convolution, whose input needs no gradient, as in a real step). Bytes are what the
// layer must read or write once at least: forward input, output and parameters; backward
// upstream gradient, saved input, input gradient, parameters and parameter gradients
// (4 bytes each, so 4 * (3 in + 2 out + 3 params), 2 in without the input gradient); Adam
// reads the parameter, its gradient and two moments and writes back three (7 * 4 bytes per
// parameter).

#include <dlfcn.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <resilinet/resilinet.hpp>

#include "step_timer.hpp"

using namespace resilinet;

namespace {

using Clock = std::chrono::steady_clock;

/// The kernel set OpenBLAS chose ("Haswell", "Cooperlake", ...; OPENBLAS_CORETYPE overrides its
/// choice), or "not OpenBLAS".
const char* blas_kernels() {
  using NameFn = char* (*)();
  const auto fn = reinterpret_cast<NameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return fn ? fn() : "not OpenBLAS";
}

/// "(128, 32, 32, 3)".
std::string text(const Shape& s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The widest vectors this build has, and a multiply-add on them (fused where FMA exists).
#if defined(__AVX512F__)
using Vec = __m512;
const char* const kIsa = "AVX-512";
Vec splat(float f) { return _mm512_set1_ps(f); }
Vec madd(Vec v, Vec a, Vec b) { return _mm512_fmadd_ps(v, a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
using Vec = __m256;
const char* const kIsa = "AVX2+FMA";
Vec splat(float f) { return _mm256_set1_ps(f); }
Vec madd(Vec v, Vec a, Vec b) { return _mm256_fmadd_ps(v, a, b); }
#else
using Vec = __m128;
const char* const kIsa = "SSE2 (no FMA)";
Vec splat(float f) { return _mm_set1_ps(f); }
Vec madd(Vec v, Vec a, Vec b) { return _mm_add_ps(_mm_mul_ps(v, a), b); }
#endif

/// Runs f(i) on `n` threads of its own at once (i = 0..n-1) and returns when all are done.
template <class F>
void on_threads(int n, F&& f) {
  std::vector<std::thread> pool;
  for (int i = 1; i < n; ++i) pool.emplace_back(f, i);
  f(0);
  for (std::thread& t : pool) t.join();
}

/// The peak in GFLOP/s of `threads` cores together, each running 12 independent multiply-add
/// chains in the widest vectors built for (12 chains cover the FMA latency of every current
/// x86-64 core): the FLOPs of all threads over the slowest thread's time, best of 5 trials.
double measure_peak(double budget, int threads) {
  constexpr int kChains = 12, kLanes = sizeof(Vec) / sizeof(float);
  const long reps = 1 << 20;
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<double> flops(threads), seconds(threads), sink(threads);
    on_threads(threads, [&](int i) {
      const auto t0 = Clock::now();
      while (since(t0) < budget / 5) {
        // Distinct start values: chains that start equal compute equal values, and GCC then
        // keeps only one of them (it did once the loop ran on threads), timing FMA latency.
        Vec acc[kChains];
        const Vec a = splat(0.999f), b = splat(1e-3f);
        for (int c = 0; c < kChains; ++c) acc[c] = splat(1.0f + 0.01f * float(c));
        for (long r = 0; r < reps; ++r)
          for (auto& v : acc) v = madd(v, a, b);
        float lanes[kLanes];
        for (const auto& v : acc) {
          std::memcpy(lanes, &v, sizeof v);
          for (float f : lanes) sink[i] += f;
        }
        flops[i] += 2.0 * kLanes * kChains * reps;
      }
      seconds[i] = since(t0);
    });
    for (double s : sink)
      if (s == 42.0) std::printf(" ");  // keeps the chains alive
    const double total = std::accumulate(flops.begin(), flops.end(), 0.0);
    best = std::max(best, total / *std::max_element(seconds.begin(), seconds.end()) / 1e9);
  }
  return best;
}

/// The memory bandwidth in GB/s of `threads` cores together: a[i] = b[i] + s c[i] over
/// 3 x 128 MiB, each thread on its own contiguous share (first touched by that thread),
/// counting 12 bytes per element (the write-allocate read of `a` not counted, as STREAM does).
double measure_bandwidth(double budget, int threads) {
  const std::size_t n = std::size_t(32) << 20;
  std::unique_ptr<float[]> a(new float[n]), b(new float[n]), c(new float[n]);
  auto share = [&](int i, auto&& f) {
    const std::size_t first = n * std::size_t(i) / std::size_t(threads);
    const std::size_t end = n * std::size_t(i + 1) / std::size_t(threads);
    for (std::size_t k = first; k < end; ++k) f(k);
  };
  on_threads(threads, [&](int i) { share(i, [&](std::size_t k) { a[k] = 0.0f, b[k] = 1.0f, c[k] = 2.0f; }); });
  double best = 0;
  const auto start = Clock::now();
  for (int trial = 0; trial < 3 || since(start) < budget; ++trial) {
    const float s = 0.5f + float(trial) * 1e-6f;
    const auto t0 = Clock::now();
    on_threads(threads, [&](int i) { share(i, [&](std::size_t k) { a[k] = b[k] + s * c[k]; }); });
    best = std::max(best, 12.0 * double(n) / since(t0) / 1e9);
  }
  if (a[n / 2] == 42.0f) std::printf(" ");
  return best;
}

/// What one layer (or all layers of one kind) costs in a training step.
struct Cost {
  int layers = 0;
  double forward_s = 0, backward_s = 0, flops = 0, bytes = 0;
};

/// The kind a layer is grouped under: its model-file kind, with the kernel size for products.
std::string kind_of(Module<float>& m) {
  const std::string spec = m.spec();
  std::string kind = spec.substr(0, spec.find(' '));
  for (Parameter<float>* p : m.parameters())
    if (p->value().rank() == 4)
      kind += " " + std::to_string(p->value().dim(0)) + "x" + std::to_string(p->value().dim(1));
  return kind;
}

/// Elements of `m`'s trainable parameters (what Adam updates and a backward pass writes).
double trainable_elements(Module<float>& m) {
  double n = 0;
  for (Parameter<float>* p : m.parameters()) n += p->trainable() ? double(p->value().size()) : 0.0;
  return n;
}

/// Kernel taps that land inside an input of `in` positions (not in the padding), summed over
/// the `out` output positions of one axis, for a window of `k` at `stride` (padding as SAME
/// or VALID imply: what the output size needs, split evenly with the extra one after).
double taps(std::size_t in, std::size_t out, std::size_t k, std::size_t stride) {
  const long pad_total = std::max(0L, long((out - 1) * stride + k) - long(in)), before = pad_total / 2;
  double n = 0;
  for (std::size_t o = 0; o < out; ++o)
    for (std::size_t t = 0; t < k; ++t) {
      const long i = long(o * stride + t) - before;
      n += i >= 0 && i < long(in);
    }
  return n;
}

/// Forward FLOPs of a product layer (2 per multiply-add, taps on padding not counted), else 0.
double forward_flops(Module<float>& layer, const Shape& in, const Shape& out) {
  std::size_t sh = 0, sw = 0;
  if (auto* conv = dynamic_cast<Conv2D<float>*>(&layer)) sh = conv->options().stride_height, sw = conv->options().stride_width;
  if (auto* dw = dynamic_cast<DepthwiseConv2D<float>*>(&layer)) sh = dw->options().stride_height, sw = dw->options().stride_width;
  for (Parameter<float>* p : layer.parameters()) {
    const Shape& k = p->value().shape();
    if (k.rank() == 2 && dynamic_cast<Dense<float>*>(&layer)) return 2.0 * double(in[0]) * double(k.numel());
    if (k.rank() == 4 && sh > 0)  // per tap: (in channels x out channels) for a convolution, channels for a depthwise one
      return 2.0 * double(in[0]) * taps(in[1], out[1], k[0], sh) * taps(in[2], out[2], k[1], sw) *
             double(k.numel() / (k[0] * k[1]));
  }
  return 0;
}

/// Times `layer` forward and backward on random input of shape `in` (training mode; the input
/// gradient only when `input_grad`, as a real step computes none below the first trainable
/// layer) and returns its cost and output shape. The backward time leaves out the tape's copy
/// of the upstream gradient into the layer's output (a serial pass a real step does not
/// make), timed on its own as a copy of the same size right after each backward pass.
std::pair<Cost, Shape> time_layer(Module<float>& layer, const Shape& in, bool input_grad, double budget,
                                  Rng& rng) {
  Tensor<float> x(in);
  for (float& v : x) v = float(rng.uniform()) - 0.5f;
  Tape<float> tape;
  Context<float> ctx(Mode::train, 1);
  const Var<float> input = tape.input(x, input_grad);
  Var<float> y = layer.forward(input, ctx);
  Tensor<float> dy(y.shape()), copied(y.shape());
  for (float& v : dy) v = float(rng.uniform()) - 0.5f;
  Cost c;
  c.layers = 1;
  int calls = 0;
  const auto start = Clock::now();
  for (int i = 0; i < 2 || calls < 3 || since(start) < budget; ++i) {
    tape.truncate(1);
    const auto t0 = Clock::now();
    y = layer.forward(input, ctx);
    const auto t1 = Clock::now();
    tape.backward(y, dy.view());
    const auto t2 = Clock::now();
    std::copy(dy.begin(), dy.end(), copied.begin());
    const auto t3 = Clock::now();
    if (i < 2) continue;  // warm-up
    ++calls;
    c.forward_s += std::chrono::duration<double>(t1 - t0).count();
    c.backward_s += std::chrono::duration<double>((t2 - t1) - (t3 - t2)).count();
  }
  c.forward_s /= calls;
  c.backward_s = std::max(0.0, c.backward_s / calls);  // the copy can outlast a tiny backward in noise
  const double params = trainable_elements(layer), out = double(y.value().size());
  c.flops = (input_grad ? 3 : 2) * forward_flops(layer, in, y.shape());
  c.bytes = 4 * ((input_grad ? 3 : 2) * double(in.numel()) + 2 * out + 3 * params);
  return {c, y.shape()};
}

/// Walks `m` (chains and residual blocks down to their layers), timing each layer on the
/// shape it receives; `input_grad` says whether a layer's input needs a gradient (it does from
/// the first trainable layer on) and is updated. Returns the output shape.
Shape walk(Module<float>& m, Shape in, bool& input_grad, double budget, Rng& rng,
           std::map<std::string, Cost>& kinds, bool print) {
  if (auto* seq = dynamic_cast<Sequential<float>*>(&m)) {
    for (std::size_t i = 0; i < seq->size(); ++i)
      in = walk((*seq)[i], in, input_grad, budget, rng, kinds, print);
    return in;
  }
  if (auto* block = dynamic_cast<ResidualBlock<float>*>(&m)) {
    bool shortcut_grad = input_grad;
    walk(block->shortcut(), in, shortcut_grad, budget, rng, kinds, print);
    return walk(block->residual(), in, input_grad, budget, rng, kinds, print);
  }
  auto [c, out] = time_layer(m, in, input_grad, budget, rng);
  if (trainable_elements(m) > 0) input_grad = true;
  if (print)
    std::printf("  %-40s %-24s in %-18s out %-18s %8.3f ms %8.4f GFLOP %7.1f GFLOP/s\n", m.name().c_str(),
                kind_of(m).c_str(), text(in).c_str(), text(out).c_str(), 1e3 * (c.forward_s + c.backward_s),
                c.flops / 1e9, c.flops / (c.forward_s + c.backward_s) / 1e9);
  Cost& k = kinds[kind_of(m)];
  k.layers += 1;
  k.forward_s += c.forward_s;
  k.backward_s += c.backward_s;
  k.flops += c.flops;
  k.bytes += c.bytes;
  return out;
}

/// Seconds of one Adam update of `model`'s parameters.
double time_adam(Module<float>& model, double budget) {
  Adam<float> adam(model.parameters());
  return bench::seconds_per_call([&] { adam.step(); }, 1, budget);
}

/// Seconds of one whole training step (forward, loss, backward, Adam) at `batch`.
double time_step(Module<float>& model, std::size_t batch, double budget, Rng& rng) {
  Tensor<float> x(Shape{batch, 32, 32, 3});
  for (float& v : x) v = float(rng.uniform());
  std::vector<int> y(batch);
  for (int& v : y) v = int(rng.below(10));
  Adam<float> adam(model.parameters());
  Tape<float> tape;
  Context<float> ctx(Mode::train, 1);
  auto step = [&] {
    tape.clear();
    auto loss = softmax_cross_entropy(model.forward(tape.input(x), ctx), y);
    adam.zero_grad();
    tape.backward(loss);
    adam.step();
  };
  return bench::seconds_per_call(step, 2, budget);
}

/// Prints gemm()'s and BLAS's GFLOP/s, with their share of `peak`, on the products of the
/// health network's dense layers and MobileNet's 1x1 convolutions at batch 1024 and 128: the
/// forward product (A·B), the input gradient (A·Bᵀ) and the kernel gradient (Aᵀ·B).
void compare_gemm(double peak, double budget, Rng& rng) {
  struct Product { const char* layer; std::size_t rows, out, in; };
  const Product products[] = {{"health 250->250", 1024, 250, 250},         {"health 23->250", 1024, 250, 23},
                              {"mobilenet 24->48, 31x31", 123008, 48, 24},  {"mobilenet 96->96, 31x31", 123008, 96, 96},
                              {"mobilenet 96->192, 15x15", 28800, 192, 96}, {"mobilenet 192->192, 15x15", 28800, 192, 192},
                              {"mobilenet 384->384, 7x7", 6272, 384, 384},  {"mobilenet 768->768, 3x3", 1152, 768, 768}};
  std::printf("%-26s %-13s %9s %9s %7s %7s %8s\n", "layer (rows: batch x pixels)", "product", "gemm GF/s", "BLAS GF/s",
              "gemm %", "BLAS %", "gemm/BLAS");
  for (const Product& p : products) {
    std::vector<float> x(p.rows * p.in), w(p.in * p.out), y(p.rows * p.out), out(p.rows * std::max(p.in, p.out));
    for (auto* v : {&x, &w, &y})
      for (float& e : *v) e = float(rng.uniform() - 0.5);
    const double flops = 2.0 * double(p.rows) * double(p.out) * double(p.in);
    using Fn = void (*)(Trans, Trans, std::size_t, std::size_t, std::size_t, float, const float*, std::size_t,
                        const float*, std::size_t, float, float*, std::size_t);
    const Fn ours = [](Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, float al, const float* a,
                       std::size_t lda, const float* b, std::size_t ldb, float be, float* c, std::size_t ldc) {
      gemm(ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc);
    };
    const Fn blas = &detail::gemm_blas<float>;
    const struct { const char* name; std::function<void(Fn)> run; } kinds[] = {
        {"forward A.B", [&](Fn f) { f(Trans::no, Trans::no, p.rows, p.out, p.in, 1.0f, x.data(), p.in, w.data(), p.out, 0.0f, out.data(), p.out); }},
        {"input A.Bt", [&](Fn f) { f(Trans::no, Trans::yes, p.rows, p.in, p.out, 1.0f, y.data(), p.out, w.data(), p.out, 0.0f, out.data(), p.in); }},
        {"kernel At.B", [&](Fn f) { f(Trans::yes, Trans::no, p.in, p.out, p.rows, 1.0f, x.data(), p.in, y.data(), p.out, 0.0f, out.data(), p.out); }}};
    for (const auto& kind : kinds) {
      const double ours_s = bench::seconds_per_call([&] { kind.run(ours); }, 1, budget);
      const double blas_s = bench::seconds_per_call([&] { kind.run(blas); }, 1, budget);
      const double g = flops / ours_s / 1e9, b = flops / blas_s / 1e9;
      std::printf("%-26s %-13s %9.1f %9.1f %6.1f%% %6.1f%% %8.2fx\n", p.layer, kind.name, g, b, 100 * g / peak,
                  100 * b / peak, blas_s / ours_s);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_roofline: a CIFAR CNN's training step per layer kind against the core's peak and memory bandwidth"};
  std::string model_name = "mobilenet";
  std::size_t batch = 128;
  int threads = 1;
  double seconds = 0.3;
  bool print_layers = false;
  app.add_option("--model", model_name, "mobilenet (alpha 0.75) or resnet (ResNet-18)")
      ->check(CLI::IsMember({"mobilenet", "resnet"}));
  app.add_option("--batch", batch, "training batch")->check(CLI::Range(1, 4096));
  app.add_option("--threads", threads, "threads")->check(CLI::Range(1, 1024));
  app.add_option("--seconds", seconds, "seconds each layer is timed for")->check(CLI::Range(0.01, 60.0));
  app.add_flag("--layers", print_layers, "also print every layer's shapes, time and FLOPs");
  bool gemm_only = false;
  app.add_flag("--gemm", gemm_only, "instead, compare gemm() with BLAS on the dense and 1x1 products (one thread)");
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);

  // One core's limits, and with more threads those of as many cores together, which the
  // table's %peak and %bw columns are then against: what a second thread can add at most.
  const double core_peak = measure_peak(1.0, 1), core_bandwidth = measure_bandwidth(1.0, 1);
  std::printf("machine: 1 core: peak %.1f GFLOP/s (%s FMA loop), memory bandwidth %.1f GB/s (triad); ridge %.1f "
              "FLOP/byte; OpenBLAS kernels %s\n",
              core_peak, kIsa, core_bandwidth, core_peak / core_bandwidth, blas_kernels());
  double peak = core_peak, bandwidth = core_bandwidth;
  if (threads > 1 && !gemm_only) {
    peak = measure_peak(1.0, threads);
    bandwidth = measure_bandwidth(1.0, threads);
    std::printf("machine: %d threads: peak %.1f GFLOP/s (%.2fx one core), memory bandwidth %.1f GB/s (%.2fx); "
                "ridge %.1f FLOP/byte\n",
                threads, peak, peak / core_peak, bandwidth, bandwidth / core_bandwidth, peak / bandwidth);
  }
  std::fflush(stdout);

  Rng rng(1);
  if (gemm_only) {
    set_num_threads(1);
    compare_gemm(core_peak, seconds, rng);
    return 0;
  }
  std::unique_ptr<Sequential<float>> model = model_name == "resnet" ? build_resnet<float>(ResNetOptions{}, rng)
                                                                    : build_mobilenet<float>(MobileNetOptions{}, rng);
  std::map<std::string, Cost> kinds;
  bool input_grad = false;  // the image batch needs no gradient, nor do layers before the first trainable one
  walk(*model, Shape{batch, 32, 32, 3}, input_grad, seconds, rng, kinds, print_layers);
  Cost& adam = kinds["adam update"];
  adam.layers = 1;
  adam.backward_s = time_adam(*model, seconds);
  adam.bytes = 7 * 4 * trainable_elements(*model);
  const double step = time_step(*model, batch, 4 * seconds, rng);

  double total_s = 0, total_flops = 0;
  for (const auto& [kind, c] : kinds) total_s += c.forward_s + c.backward_s, total_flops += c.flops;
  std::printf("%s, batch %zu, %d thread(s): whole training step %.1f ms (%.1f images/s); layers timed alone sum "
              "to %.1f ms\n",
              model_name.c_str(), batch, threads, 1e3 * step, double(batch) / step, 1e3 * total_s);
  std::printf("%-24s %6s %9s %9s %9s %6s %8s %8s %6s %9s %7s %6s %9s %s\n", "kind", "layers", "fwd_ms", "bwd_ms",
              "total_ms", "share", "GFLOP", "GFLOP/s", "%peak", "MB", "GB/s", "%bw", "FLOP/B", "bound");
  for (const auto& [kind, c] : kinds) {
    const double s = c.forward_s + c.backward_s, gflops = c.flops / s / 1e9, gbs = c.bytes / s / 1e9,
                 intensity = c.flops / c.bytes;
    std::printf("%-24s %6d %9.2f %9.2f %9.2f %5.1f%% %8.3f %8.1f %5.1f%% %9.1f %7.1f %5.1f%% %9.2f %s\n",
                kind.c_str(), c.layers, 1e3 * c.forward_s, 1e3 * c.backward_s, 1e3 * s, 100 * s / total_s,
                c.flops / 1e9, gflops, 100 * gflops / peak, c.bytes / 1e6, gbs, 100 * gbs / bandwidth, intensity,
                intensity > peak / bandwidth ? "compute" : "memory");
  }
  std::printf("%-24s %6s %9s %9s %9.2f %5.1f%% %8.3f %8.1f %5.1f%%\n", "all layers and Adam", "", "", "",
              1e3 * total_s, 100.0, total_flops / 1e9, total_flops / total_s / 1e9,
              100 * total_flops / total_s / 1e9 / peak);
  std::printf("whole step: %.3f GFLOP in %.1f ms = %.1f GFLOP/s, %.1f%% of peak\n", total_flops / 1e9, 1e3 * step,
              total_flops / step / 1e9, 100 * total_flops / step / 1e9 / peak);
  return 0;
}
