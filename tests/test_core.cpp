// Views, the lean tape (first writer assigns), backward with an upstream gradient, input
// gradients, softmax, parameter safety, threads, batch sources, .npy reading, and the
// allocation-free training step.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <numeric>
#include <thread>

#include "helpers.hpp"

using namespace resilinet;

TEST_CASE_TEMPLATE("TensorView and reshape see the same elements without copying", T, float, double) {
  Tensor<T> t(Shape{2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  const TensorView<const T> v = t.view();
  CHECK(v.data() == t.data());
  const auto r = v.rows(1, 1);
  CHECK(r.shape() == Shape{1, 3, 2});
  CHECK(r[0] == T(7));
  CHECK(v.reshaped(Shape{6, 2})[11] == T(12));
  CHECK_THROWS_WITH_AS(v.rows(1, 2), "TensorView::rows: rows [1, 3) outside shape (2, 3, 2)",
                       ShapeError);
  Tape<T> tape;
  auto x = tape.input(t, true);
  const std::size_t ops = tape.size();
  auto flat = reshape(x, Shape{2, 6});
  CHECK(tape.size() == ops);  // a view records nothing
  CHECK(flat.value().data() == x.value().data());
  CHECK(flat.shape() == Shape{2, 6});
  // Gradients through the view land in x under x's shape.
  tape.backward(sum(multiply(flat, T(2))));
  for (T g : x.grad()) CHECK(g == T(2));
}

TEST_CASE("large tensors start on a huge page and are advised for transparent huge pages") {
  const std::size_t huge = LargePageAllocator<float>::huge_page;
  Tensor<float> small(Shape{1000});  // 4 KB: an ordinary block
  Tensor<float> large;
  const long allocations = testing::allocations_during([&] { large.resize(Shape{huge / 2}); });
  CHECK(allocations == 1);  // the aligned block is counted like any other
  CHECK(reinterpret_cast<std::uintptr_t>(large.data()) % huge == 0);
  std::fill(large.begin(), large.end(), 1.0f);
  CHECK(std::accumulate(large.begin(), large.end(), 0.0) == double(huge / 2));
  CHECK(std::accumulate(small.begin(), small.end(), 0.0) == 0.0);
  // The kernel reports the advice per mapping in /proc/self/smaps (THPeligible), when it
  // offers transparent huge pages at all.
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string setting;
  std::getline(mode, setting);
  if (setting.empty() || setting.find("[never]") != std::string::npos) {
    MESSAGE("transparent huge pages are off here: the advice is not checked");
    return;
  }
  std::ifstream smaps("/proc/self/smaps");
  const auto address = reinterpret_cast<std::uintptr_t>(large.data());
  bool inside = false, eligible = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2)
      inside = lo <= address && address < hi;
    else if (inside && line.rfind("THPeligible:", 0) == 0)
      eligible = line.find('1') != std::string::npos;
  }
  CHECK(eligible);
}

TEST_CASE("backward(y, dy) propagates an arbitrary upstream gradient into inputs") {
  Rng rng(21);
  Parameter<double> w("w", testing::random_tensor<double>(Shape{4, 3}, rng));
  const auto x0 = testing::random_tensor<double>(Shape{5, 4}, rng);
  const auto dy = testing::random_tensor<double>(Shape{5, 3}, rng);
  Tape<double> tape;
  auto x = tape.input(x0, true);
  auto y = matmul(x, Var<double>(w));
  w.zero_grad();
  tape.backward(y, dy);
  // dx = dy·wᵀ and dw = xᵀ·dy, computed by hand.
  double maxdiff = 0;
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t k = 0; k < 4; ++k) {
      double e = 0;
      for (std::size_t j = 0; j < 3; ++j) e += dy[i * 3 + j] * w.value()[k * 3 + j];
      maxdiff = std::max(maxdiff, std::abs(e - x.grad()[i * 4 + k]));
    }
  for (std::size_t k = 0; k < 4; ++k)
    for (std::size_t j = 0; j < 3; ++j) {
      double e = 0;
      for (std::size_t i = 0; i < 5; ++i) e += x0[i * 4 + k] * dy[i * 3 + j];
      maxdiff = std::max(maxdiff, std::abs(e - w.grad()[k * 3 + j]));
    }
  MESSAGE("backward(y, dy): maxdiff against the hand-computed products " << maxdiff);
  CHECK(maxdiff < 1e-12);
  CHECK_THROWS_WITH_AS(tape.backward(y, Tensor<double>(Shape{3, 5})),
                       "Tape::backward: upstream gradient of shape (3, 5) for a value of shape (5, 3)",
                       ShapeError);
}

TEST_CASE("a value no gradient reaches reads as zero, and gradients are never zero-filled first") {
  Tape<double> tape;
  auto x = tape.input(Tensor<double>(Shape{3}, {1, 2, 3}), true);
  auto unused = relu(x);  // recorded but not part of the loss
  auto loss = sum(multiply(x, 4.0));
  // Poison the buffers: correct results prove the first writer assigns instead of adding.
  tape.backward(loss);
  tape.clear();
  x = tape.input(Tensor<double>(Shape{3}, {1, 2, 3}), true);
  unused = relu(x);
  loss = sum(multiply(x, 4.0));
  tape.backward(loss);
  for (double g : x.grad()) CHECK(g == 4.0);
  for (double g : unused.grad()) CHECK(g == 0.0);
}

TEST_CASE("softmax: rows sum to one, and its gradient checks") {
  Rng rng(22);
  Parameter<double> z("z", testing::random_tensor<double>(Shape{3, 5}, rng, -4, 4));
  const auto r = testing::random_tensor<double>(Shape{3, 5}, rng);
  Tape<double> tape;
  auto p = softmax(tape.param(z));
  for (std::size_t i = 0; i < 3; ++i) {
    double total = 0;
    for (std::size_t c = 0; c < 5; ++c) total += p.value()[i * 5 + c];
    CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
  }
  const auto res = check_gradients<double>(
      [&](Tape<double>& t) { return sum(multiply(softmax(t.param(z)), t.input(r))); }, {&z});
  MESSAGE("softmax: max error " << res.max_error);
  CHECK(res.max_error < 1e-6);
}

TEST_CASE("parameters refuse a value of the wrong shape") {
  Rng rng(23);
  Dense<float> d(3, 4, Activation::relu, rng, "edge");
  CHECK_THROWS_WITH_AS(d.kernel().set_value(Tensor<float>(Shape{4, 3})),
                       "parameter 'edge/kernel': cannot assign a value of shape (4, 3) to shape (3, 4)",
                       ShapeError);
  d.kernel().set_value(Tensor<float>(Shape{3, 4}, 0.5f));
  CHECK(d.kernel().value()[11] == 0.5f);
}

TEST_CASE("parallel_for covers the range once and threaded GEMM matches one thread") {
  const int before = max_threads();
  set_num_threads(2);
  std::vector<int> hits(1000, 0);
  parallel_for(hits.size(), [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t i = b; i < e; ++i) ++hits[i];
  });
  for (int h : hits) CHECK(h == 1);
  // parallel_for_each: every value once, in parts of at least element_grain values.
  std::vector<std::size_t> part_of(3 * element_grain, 99);
  parallel_for_each(part_of.size(),
                    [&](std::size_t i) { part_of[i] = part_of[i] == 99 ? thread_index() : 98; });
  std::size_t misplaced = 0;  // values run twice (98) or by the wrong part
  for (std::size_t i = 0; i < part_of.size(); ++i) misplaced += part_of[i] != i / (part_of.size() / 2);
  CHECK(misplaced == 0);
  Rng rng(24);
  for (Trans ta : {Trans::no, Trans::yes})
    for (Trans tb : {Trans::no, Trans::yes})
      for (auto [m, n] : {std::pair<std::size_t, std::size_t>{300, 70}, {70, 300}}) {
        const std::size_t k = 90;
        const auto a = testing::random_tensor<double>(Shape{m * k}, rng);
        const auto b = testing::random_tensor<double>(Shape{k * n}, rng);
        Tensor<double> c1(Shape{m, n}, 1.0), c2(Shape{m, n}, 1.0);
        const std::size_t lda = ta == Trans::no ? k : m, ldb = tb == Trans::no ? n : k;
        set_num_threads(2);
        gemm(ta, tb, m, n, k, 1.0, a.data(), lda, b.data(), ldb, 0.5, c1.data(), n);
        set_num_threads(1);
        gemm(ta, tb, m, n, k, 1.0, a.data(), lda, b.data(), ldb, 0.5, c2.data(), n);
        double maxdiff = 0;
        for (std::size_t i = 0; i < c1.size(); ++i) maxdiff = std::max(maxdiff, std::abs(c1[i] - c2[i]));
        CHECK(maxdiff < 1e-12);
      }
  CHECK_THROWS_AS(set_num_threads(0), ValueError);
  set_num_threads(before);
}

TEST_CASE("parallel_for numbers its parts, rethrows a part's error, and shares the pool safely") {
  const int before = max_threads();
  set_num_threads(3);
  std::vector<std::size_t> part_of(300, 99);
  parallel_for(part_of.size(), [&](std::size_t b, std::size_t e, std::size_t p) {
    CHECK(thread_index() == p);
    CHECK(in_parallel());
    for (std::size_t i = b; i < e; ++i) part_of[i] = p;
  });
  for (std::size_t i = 0; i < part_of.size(); ++i) CHECK(part_of[i] == i / 100);
  CHECK_FALSE(in_parallel());
  CHECK_THROWS_WITH_AS(parallel_for(6,
                                    [](std::size_t b, std::size_t, std::size_t) {
                                      if (b == 4) throw ValueError("part 2 failed");
                                    }),
                       "part 2 failed", ValueError);
  // Four threads of the user's each run loops at once: one gets the pool, the others run their
  // parts on their own thread; every loop sees the same split and part numbers.
  std::vector<std::thread> users;
  std::vector<long> sums(4, 0);
  for (std::size_t u = 0; u < sums.size(); ++u) {
    users.emplace_back([&, u] {
      for (int round = 0; round < 200; ++round) {
        std::vector<std::size_t> seen(3000, 99);
        parallel_for(seen.size(), [&](std::size_t b, std::size_t e, std::size_t p) {
          for (std::size_t i = b; i < e; ++i) seen[i] = p;
        });
        for (std::size_t i = 0; i < seen.size(); ++i) sums[u] += long(seen[i] == i / 1000);
      }
    });
  }
  for (auto& t : users) t.join();
  for (long s : sums) CHECK(s == 200 * 3000);
  set_num_threads(before);
}

TEST_CASE("the pool's threads sleep between loops, after polling for at most poll_time") {
  const int before = max_threads();
  set_num_threads(2);
  std::vector<double> v(1 << 16, 1.0);
  auto cpu_seconds = [] {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
  };
  // OpenBLAS's own threads spin for about 0.1 s after the library loads (resilinet never wakes
  // them again: its BLAS calls run on one thread); let them settle before measuring the pool.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  parallel_for(v.size(), [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t i = b; i < e; ++i) v[i] *= 2;
  });
  const double start = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double idle = cpu_seconds() - start;
  CAPTURE(idle);
  CHECK(idle < 0.03);  // a spinning thread would burn about 0.3 s of CPU here, a poll 50 µs
  CHECK(v[12345] == 2.0);
  set_num_threads(before);
}

TEST_CASE_TEMPLATE("part_stride keeps two parts' sums on separate cache lines at any alignment", T,
                   float, double) {
  for (std::size_t n : {1, 15, 16, 17, 24, 48, 250, 768}) {
    CAPTURE(n);
    const std::size_t bytes = part_stride<T>(n) * sizeof(T);
    CHECK(bytes % 64 == 0);
    // A slot of n values starting anywhere in a line ends at least a line before the next slot.
    CHECK(bytes >= n * sizeof(T) + 64);
    CHECK(bytes < n * sizeof(T) + 128);
  }
}

TEST_CASE("DatasetSource serves every example once per epoch, shuffled when asked") {
  Dataset<float> d;
  d.x = Tensor<float>(Shape{10, 1});
  for (int i = 0; i < 10; ++i) {
    d.x[i] = float(i);
    d.y.push_back(i);
  }
  DatasetSource<float> source(d, true);
  CHECK(source.steps_per_epoch(4) == 3);
  Rng rng(25);
  Tensor<float> x;
  std::vector<int> y;
  for (int epoch = 0; epoch < 2; ++epoch) {
    source.start_epoch(rng);
    std::vector<int> seen;
    std::size_t batches = 0;
    while (source.next(4, x, y)) {
      ++batches;
      for (std::size_t i = 0; i < y.size(); ++i) {
        CHECK(x[i] == float(y[i]));  // features travel with their labels
        seen.push_back(y[i]);
      }
    }
    CHECK(batches == 3);
    std::vector<int> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int> all(10);
    std::iota(all.begin(), all.end(), 0);
    CHECK(sorted == all);
    CHECK(seen != all);  // shuffled (probability 1/10! of a false failure)
  }
}

TEST_CASE_TEMPLATE("save_npy / load_npy round-trip and convert the scalar type", T, float, double) {
  const std::string path = "resilinet_test_tensor.npy";
  Tensor<double> t(Shape{2, 3}, {1.5, -2, 3, 4, 5, 6.25});
  save_npy<double>(path, t);
  const Tensor<T> back = load_npy<T>(path);
  CHECK(back.shape() == Shape{2, 3});
  for (std::size_t i = 0; i < 6; ++i) CHECK(back[i] == T(t[i]));
  { std::ofstream(path, std::ios::binary) << "\x93NUMPY garbage"; }
  CHECK_THROWS_AS(load_npy<T>(path), FormatError);
  std::remove(path.c_str());
  CHECK_THROWS_AS(load_npy<T>("no/such/file.npy"), IoError);
}

TEST_CASE("a steady-state training step allocates nothing, whatever failout draws") {
  for (Variant v : {Variant::dfg, Variant::resilinet}) {
    Rng rng(26);
    HealthMlpOptions o;
    o.variant = v;
    o.survival = {0.5, 0.5, 0.5};
    o.granularity = FailoutGranularity::per_batch;
    auto net = build_health_mlp<float>(o, rng);
    Adam<float> adam(net->parameters());
    Tensor<float> x = testing::random_tensor<float>(Shape{64, 23}, rng);
    std::vector<int> y(64);
    for (int& label : y) label = int(rng.below(13));
    Context<float> ctx(Mode::train, 3);
    Tape<float> tape;
    std::size_t hits = 0, ops = 0;
    auto step = [&] {
      tape.clear();
      auto logits = net->forward(tape.input(x), ctx);
      auto loss = softmax_cross_entropy(logits, y);
      adam.zero_grad();
      tape.backward(loss);
      adam.step();
      hits += count_correct(logits.value(), y);
      ops = tape.size();
    };
    CHECK(testing::allocations_during(step) > 0);  // the counter works: a first step allocates
    for (int i = 0; i < 2; ++i) step();
    const std::size_t first_ops = ops;
    long allocations = 0;
    for (int i = 0; i < 30; ++i) {
      allocations += testing::allocations_during(step);
      CHECK(ops == first_ops);  // the same op sequence every step
    }
    CAPTURE(to_string(v));
    CHECK(allocations == 0);
  }
}

TEST_CASE("a steady-state MobileNet training step allocates nothing") {
  Rng rng(27);
  MobileNetOptions o;
  o.alpha = 0.25;  // the CIFAR network at a quarter of the width keeps the test fast
  auto net = build_mobilenet<float>(o, rng);
  Adam<float> adam(net->parameters());
  Tensor<float> x = testing::random_tensor<float>(Shape{4, 32, 32, 3}, rng);
  const std::vector<int> y{1, 2, 3, 4};
  Context<float> ctx(Mode::train, 3);
  Tape<float> tape;
  auto step = [&] {
    tape.clear();
    auto loss = softmax_cross_entropy(net->forward(tape.input(x), ctx), y);
    adam.zero_grad();
    tape.backward(loss);
    adam.step();
  };
  step();
  step();
  long allocations = 0;
  for (int i = 0; i < 3; ++i) allocations += testing::allocations_during(step);
  CHECK(allocations == 0);
}

TEST_CASE("load_npy reads Fortran order and rejects hostile headers by name") {
  const std::string path = "resilinet_test_fortran.npy";
  auto write_npy = [&](const std::string& header, const std::string& data, char major = 1) {
    std::string h = header;
    while ((10 + h.size() + 1) % 16) h += ' ';
    h += '\n';
    std::string bytes = std::string("\x93NUMPY", 6) + major + '\0';
    bytes += char(h.size() & 0xff);
    bytes += char(h.size() >> 8);
    std::ofstream(path, std::ios::binary) << bytes << h << data;
  };
  const double f[6] = {0, 10, 1, 11, 2, 12};  // (2, 3) in Fortran order: a[i][j] = 10 i + j
  write_npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
            std::string(reinterpret_cast<const char*>(f), sizeof f));
  const Tensor<double> t = load_npy<double>(path);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(std::vector<double>(t.begin(), t.end()) == std::vector<double>{0, 1, 2, 10, 11, 12});
  // A header length whose bytes are >= 0x80 (xtensor's reader shifted negative chars, found
  // by fuzz_npy) is read as unsigned: here it runs past the end of the file.
  std::ofstream(path, std::ios::binary) << std::string("\x93NUMPY\x01\x00\x76\x93{'descr'", 17);
  CHECK_THROWS_WITH_AS(load_npy<double>(path), doctest::Contains("truncated while reading the header"), FormatError);
  write_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", "");
  CHECK_THROWS_WITH_AS(load_npy<float>(path), doctest::Contains("claims more values than the file holds"), FormatError);
  write_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'));
  CHECK_THROWS_WITH_AS(load_npy<float>(path), doctest::Contains("holds dtype '<i8'"), FormatError);
  write_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", std::string(16, '\0'));
  CHECK_THROWS_WITH_AS(load_npy<float>(path), doctest::Contains("16 data bytes"), FormatError);
  std::remove(path.c_str());
}
