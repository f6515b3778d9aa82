#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "helpers.hpp"

using namespace resilinet;

// Naive triple loop: the independent reference for both backends.
template <class T>
void naive_gemm(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
                const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double acc = 0;
      for (std::size_t p = 0; p < k; ++p) {
        const T av = ta == Trans::yes ? a[p * lda + i] : a[i * lda + p];
        const T bv = tb == Trans::yes ? b[j * ldb + p] : b[p * ldb + j];
        acc += double(av) * double(bv);
      }
      c[i * ldc + j] = T(alpha * acc + beta * c[i * ldc + j]);
    }
}

TEST_CASE_TEMPLATE("BLAS and Eigen GEMM agree with each other and a naive loop", T, float,
                   double) {
  Rng rng(11);
  const std::size_t m = 37, n = 23, k = 51;
  double worst_be = 0, worst_bn = 0;
  for (Trans ta : {Trans::no, Trans::yes})
    for (Trans tb : {Trans::no, Trans::yes})
      for (double beta : {0.0, 1.0, 0.5}) {
        CAPTURE(int(ta));
        CAPTURE(int(tb));
        CAPTURE(beta);
        const std::size_t lda = (ta == Trans::yes ? m : k) + 3;  // padded strides
        const std::size_t ldb = (tb == Trans::yes ? k : n) + 2;
        const std::size_t ldc = n + 1;
        auto a = testing::random_tensor<T>(Shape{(ta == Trans::yes ? k : m) * lda}, rng);
        auto b = testing::random_tensor<T>(Shape{(tb == Trans::yes ? n : k) * ldb}, rng);
        auto c0 = testing::random_tensor<T>(Shape{m * ldc}, rng);
        Tensor<T> c_blas = c0, c_eigen = c0, c_naive = c0;
        const T alpha = T(0.75);
        detail::gemm_blas(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, T(beta),
                          c_blas.data(), ldc);
        detail::gemm_eigen(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, T(beta),
                           c_eigen.data(), ldc);
        naive_gemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, T(beta),
                   c_naive.data(), ldc);
        double maxdiff_be = 0, maxdiff_bn = 0;
        for (std::size_t i = 0; i < c0.size(); ++i) {
          maxdiff_be = std::max(maxdiff_be, std::abs(double(c_blas[i]) - double(c_eigen[i])));
          maxdiff_bn = std::max(maxdiff_bn, std::abs(double(c_blas[i]) - double(c_naive[i])));
        }
        const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
        CHECK(maxdiff_be < tol);
        CHECK(maxdiff_bn < tol);
        worst_be = std::max(worst_be, maxdiff_be);
        worst_bn = std::max(worst_bn, maxdiff_bn);
      }
  MESSAGE("maxdiff blas-eigen " << worst_be << ", blas-naive " << worst_bn);
}

TEST_CASE("one-row products (batch-1 layers) agree with a naive loop at every width") {
  // gemm() runs 1×k times k×n with its own row kernel where the build has AVX-512 (column
  // blocks of up to 256) or AVX2 with FMA (blocks of up to 96), a masked last vector, and
  // through BLAS elsewhere; the widths straddle both block sizes and their vectors.
  Rng rng(12);
  const std::size_t pad = 5;
  const int before = max_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (std::size_t n : {1, 7, 8, 9, 13, 16, 17, 95, 96, 97, 250, 256, 257, 700})
      for (std::size_t k : {0, 1, 23, 250})
        for (float beta : {0.0f, 1.0f, 0.5f}) {
          CAPTURE(threads);
          CAPTURE(n);
          CAPTURE(k);
          CAPTURE(beta);
          const std::size_t ldb = n + 3;
          auto a = testing::random_tensor<float>(Shape{std::max<std::size_t>(k, 1)}, rng);
          auto b = testing::random_tensor<float>(Shape{std::max<std::size_t>(k, 1) * ldb}, rng);
          auto c0 = testing::random_tensor<float>(Shape{n + pad}, rng);
          Tensor<float> c = c0, want = c0;
          gemm(Trans::no, Trans::no, 1, n, k, 0.75f, a.data(), k, b.data(), ldb, beta, c.data(), n);
          naive_gemm(Trans::no, Trans::no, 1, n, k, 0.75f, a.data(), k, b.data(), ldb, beta,
                     want.data(), n);
          double maxdiff = 0;
          for (std::size_t j = 0; j < n; ++j) maxdiff = std::max(maxdiff, std::abs(double(c[j]) - double(want[j])));
          CHECK(maxdiff < 1e-4);
          CHECK(std::equal(c.begin() + long(n), c.end(), c0.begin() + long(n)));  // nothing past n
        }
  }
  set_num_threads(before);
}

TEST_CASE("float products agree with a naive loop across the packed kernel's blocks and tiles") {
  // With AVX-512, float products of more than one row run on resilinet's packed kernel: tiles
  // of 12 rows × 32 columns (8 × 48 when N pads less that way), k-blocks of 256, row blocks of
  // 240, column blocks of 1024; a kernel gradient (Aᵀ·B) reads whole panels of Aᵀ (and of B when
  // m ≤ 4 tiles) in place and packs only a last, partial one. The shapes straddle each of these,
  // in every transposition, with padded strides, and C holding NaN where beta is 0 (it must not
  // be read), on one thread and two (which split C's rows, columns or k). Elsewhere the same
  // checks cover BLAS.
  Rng rng(13);
  const int before = max_threads();
  struct Case { std::size_t m, n, k; };
  const Case cases[] = {{2, 1, 1},    {13, 17, 5},  {12, 32, 256}, {25, 48, 257}, {241, 33, 24},
                        {7, 96, 600}, {250, 250, 23}, {30, 250, 520}, {97, 40, 31},
                        {264, 64, 300}, {24, 1090, 70},
                        {5, 3, 700},  {13, 17, 2000}, {25, 40, 3001}};  // the last three cut k with Aᵀ
  double worst = 0;
  for (int threads : {1, 2})
    for (const Case& s : cases)
      for (Trans ta : {Trans::no, Trans::yes})
        for (Trans tb : {Trans::no, Trans::yes})
          for (float beta : {0.0f, 1.0f, -0.5f}) {
            CAPTURE(s.m);
            CAPTURE(s.n);
            CAPTURE(s.k);
            CAPTURE(int(ta));
            CAPTURE(int(tb));
            CAPTURE(beta);
            CAPTURE(threads);
            set_num_threads(threads);
            const std::size_t lda = (ta == Trans::yes ? s.m : s.k) + 3, ldb = (tb == Trans::yes ? s.k : s.n) + 2,
                              ldc = s.n + 5;
            auto a = testing::random_tensor<float>(Shape{(ta == Trans::yes ? s.k : s.m) * lda}, rng);
            auto b = testing::random_tensor<float>(Shape{(tb == Trans::yes ? s.n : s.k) * ldb}, rng);
            auto c0 = testing::random_tensor<float>(Shape{s.m * ldc}, rng);
            if (beta == 0.0f)
              for (std::size_t i = 0; i < s.m; ++i)
                for (std::size_t j = 0; j < s.n; ++j) c0[i * ldc + j] = std::nanf("");
            Tensor<float> c = c0, want = c0;
            gemm(ta, tb, s.m, s.n, s.k, 0.75f, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
            naive_gemm(ta, tb, s.m, s.n, s.k, 0.75f, a.data(), lda, b.data(), ldb, beta, want.data(), ldc);
            double maxdiff = 0;
            bool padding_kept = true;
            for (std::size_t i = 0; i < s.m; ++i)
              for (std::size_t j = 0; j < ldc; ++j) {
                if (j < s.n)
                  maxdiff = std::max(maxdiff, std::abs(double(c[i * ldc + j]) - double(want[i * ldc + j])));
                else
                  padding_kept = padding_kept && c[i * ldc + j] == c0[i * ldc + j];
              }
            CHECK(maxdiff < 1e-5 * std::sqrt(double(s.k)) + 1e-6);  // maxdiff is NaN (fails) if C was read
            CHECK(padding_kept);
            worst = std::max(worst, maxdiff);
          }
  set_num_threads(before);
  MESSAGE("largest difference from the double-precision loop: " << worst);
}

TEST_CASE("a transposed product's long k is cut into the same parts whatever the threads") {
  // Kernel gradients (Xᵀ·dY over a batch's rows) cut k into detail::k_parts() parts, summed in
  // order: the count follows the shape, so one thread and two give the same bits, and C added
  // onto (beta = 1) or overwritten (beta = 0) comes out right. (That C is never read when
  // beta = 0 is checked with NaN by the naive-loop case above, whose last three shapes are cut.)
  Rng rng(17);
  const std::size_t m = 24, n = 40, k = 5003;
  REQUIRE(detail::k_parts(Trans::yes, m, n, k) == 8);
  CHECK(detail::k_parts(Trans::no, m, n, k) == 1);
  CHECK(detail::k_parts(Trans::yes, 384, 384, 12288) == 2);
  CHECK(detail::k_parts(Trans::yes, 768, 768, 1152) == 1);
  auto a = testing::random_tensor<float>(Shape{k * m}, rng);
  auto b = testing::random_tensor<float>(Shape{k * n}, rng);
  auto c0 = testing::random_tensor<float>(Shape{m * n}, rng);
  const int before = max_threads();
  for (float beta : {0.0f, 1.0f}) {
    Tensor<float> want = c0, one = c0, two = c0;
    naive_gemm(Trans::yes, Trans::no, m, n, k, 1.0f, a.data(), m, b.data(), n, beta, want.data(), n);
    set_num_threads(1);
    gemm(Trans::yes, Trans::no, m, n, k, 1.0f, a.data(), m, b.data(), n, beta, one.data(), n);
    set_num_threads(2);
    gemm(Trans::yes, Trans::no, m, n, k, 1.0f, a.data(), m, b.data(), n, beta, two.data(), n);
    CAPTURE(beta);
    CHECK(std::equal(one.begin(), one.end(), two.begin()));
    double maxdiff = 0;
    for (std::size_t i = 0; i < m * n; ++i)
      maxdiff = std::max(maxdiff, std::abs(double(one[i]) - double(want[i])));
    CHECK(maxdiff < 1e-5 * std::sqrt(double(k)));
  }
  set_num_threads(before);
}

#if defined(__AVX512F__)
// (BLAS does not promise this: OpenBLAS's results for a row change with the rows around it.)
TEST_CASE("a product's rows do not depend on the rows around them or on the threads") {
  // A layer's output for one example must not change with the batch it is in (the tape-free
  // path runs other batch sizes than training): every row of a 1000-row product equals, bit
  // for bit, the same rows computed in a product of 1 (the one-row kernel, when B is used as
  // stored), 2, 7 and 13 rows, on one thread and on two, with k past one k-block.
  Rng rng(14);
  const std::size_t m = 1000, n = 96, k = 300;
  for (Trans tb : {Trans::no, Trans::yes}) {
    auto a = testing::random_tensor<float>(Shape{m * k}, rng);
    auto b = testing::random_tensor<float>(Shape{k * n}, rng);
    const int before = max_threads();
    set_num_threads(1);
    Tensor<float> whole(Shape{m * n});
    gemm(Trans::no, tb, m, n, k, 1.0f, a.data(), k, b.data(), tb == Trans::yes ? k : n, 0.0f, whole.data(), n);
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      Tensor<float> two(Shape{m * n});
      gemm(Trans::no, tb, m, n, k, 1.0f, a.data(), k, b.data(), tb == Trans::yes ? k : n, 0.0f, two.data(), n);
      CHECK(std::equal(two.begin(), two.end(), whole.begin()));
      for (std::size_t rows : {1, 2, 7, 13}) {
        const std::size_t first = 501;
        Tensor<float> part(Shape{rows * n});
        gemm(Trans::no, tb, rows, n, k, 1.0f, a.data() + first * k, k, b.data(), tb == Trans::yes ? k : n, 0.0f,
             part.data(), n);
        CAPTURE(threads);
        CAPTURE(rows);
        CHECK(std::equal(part.begin(), part.end(), whole.begin() + long(first * n)));
      }
    }
    set_num_threads(before);
  }
}
#endif
