#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "helpers.hpp"

using namespace resilinet;

TEST_CASE("Rng is deterministic per seed and portable") {
  Rng a(42), b(42), c(43);
  const std::uint64_t first = a.next_u64();
  CHECK(first == b.next_u64());
  CHECK(first != c.next_u64());
  // Fixed value: the stream must not change across platforms or releases.
  Rng d(0);
  CHECK(d.next_u64() == 0x99EC5F36CB75F2B4ULL);
}

TEST_CASE("Rng distributions have the documented moments") {
  Rng rng(7);
  const int n = 200000;
  double sum = 0, sum2 = 0, nsum = 0, nsum2 = 0;
  std::vector<int> counts(5, 0);
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    CHECK_UNARY(u >= 0.0);
    CHECK_UNARY(u < 1.0);
    sum += u;
    sum2 += u * u;
    const double z = rng.normal();
    nsum += z;
    nsum2 += z * z;
    ++counts[rng.below(5)];
  }
  CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
  CHECK(sum2 / n - (sum / n) * (sum / n) == doctest::Approx(1.0 / 12).epsilon(0.02));
  CHECK(std::abs(nsum / n) < 0.01);
  CHECK(nsum2 / n == doctest::Approx(1.0).epsilon(0.02));
  for (int c : counts) CHECK(std::abs(c - n / 5) < 5 * std::sqrt(n * 0.2 * 0.8));
  CHECK_THROWS_AS(rng.below(0), ValueError);
}

TEST_CASE("Rng shuffle is a seeded permutation") {
  std::vector<int> v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, w = v;
  Rng a(3), b(3);
  a.shuffle(v);
  b.shuffle(w);
  CHECK(v == w);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}
