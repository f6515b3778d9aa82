#pragma once
/// \file
/// gemm(): the single matrix-multiply entry point, with a BLAS and an Eigen backend.
///
/// The default backend runs float products on resilinet's own kernels where the build has them
/// (`core/gemm_kernels.hpp`) and everything else on OpenBLAS through xtensor-blas's cxxblas
/// layer; define `RESILINET_GEMM_EIGEN` before including resilinet to use Eigen's GEMM instead.
/// All write into a caller-owned output, so hot loops never allocate.

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <xtensor-blas/xblas.hpp>

#include "resilinet/core/gemm_kernels.hpp"
#include "resilinet/core/threads.hpp"

namespace resilinet {

namespace detail {

/// Row-major C = alpha·op(A)·op(B) + beta·C through BLAS (A is M×K after op, B is K×N).
template <class T>
void gemm_blas(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
               const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
               std::size_t ldc) {
  if (m == 0 || n == 0) return;
  using I = int;
  cxxblas::gemm<I>(cxxblas::RowMajor,
                   ta == Trans::yes ? cxxblas::Trans : cxxblas::NoTrans,
                   tb == Trans::yes ? cxxblas::Trans : cxxblas::NoTrans, I(m), I(n), I(k), alpha,
                   a, I(lda), b, I(ldb), beta, c, I(ldc));
}

/// Row-major C = alpha·op(A)·op(B) + beta·C through Eigen (same contract as gemm_blas).
template <class T>
void gemm_eigen(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
                const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                std::size_t ldc) {
  if (m == 0 || n == 0) return;
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  using Idx = Eigen::Index;
  Eigen::Map<Mat, 0, Stride> cm(c, Idx(m), Idx(n), Stride(Idx(ldc)));
  if (beta == T(0))
    cm.setZero();
  else if (beta != T(1))
    cm *= beta;
  if (k == 0) return;
  // A stored row-major as (rows × cols); a transposed operand is the transpose of that map.
  const Idx ar = ta == Trans::yes ? Idx(k) : Idx(m), ac = ta == Trans::yes ? Idx(m) : Idx(k);
  const Idx br = tb == Trans::yes ? Idx(n) : Idx(k), bc = tb == Trans::yes ? Idx(k) : Idx(n);
  Eigen::Map<const Mat, 0, Stride> am(a, ar, ac, Stride(Idx(lda)));
  Eigen::Map<const Mat, 0, Stride> bm(b, br, bc, Stride(Idx(ldb)));
  if (ta == Trans::no && tb == Trans::no)
    cm.noalias() += alpha * am * bm;
  else if (ta == Trans::yes && tb == Trans::no)
    cm.noalias() += alpha * am.transpose() * bm;
  else if (ta == Trans::no && tb == Trans::yes)
    cm.noalias() += alpha * am * bm.transpose();
  else
    cm.noalias() += alpha * am.transpose() * bm.transpose();
}

/// A finish() that does nothing.
struct NoFinish {
  void operator()(std::size_t, std::size_t, std::size_t, std::size_t) const {}
};

/// The configured backend on one thread, then finish(i0, i1, j0, j1) on blocks of C covering
/// it: block by block while each is in cache with resilinet's packed kernel, else once on C.
template <class T, class Finish = NoFinish>
void gemm_serial(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
                 const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                 std::size_t ldc, Finish&& finish = {}) {
#ifdef RESILINET_GEMM_EIGEN
  gemm_eigen(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
#if defined(RESILINET_GEMM_KERNELS)
  if constexpr (std::is_same_v<T, float>) {
    // One row (a batch-1 layer) streams B once: the health network's batch-1 products took
    // 36.4 us through BLAS and 30 us here with AVX-512 (bench_health_step, gemm_us_b1).
    if (m == 1 && ta == Trans::no && tb == Trans::no && n > 0) {
      row_times_matrix(n, k, alpha, a, b, ldb, beta, c, std::make_index_sequence<Simd::max_vectors>());
      return finish(std::size_t(0), m, std::size_t(0), n);
    }
#if defined(__AVX512F__)
    if (k > 0) return packed_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, finish);
#endif
  }
#endif
  gemm_blas(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
  finish(std::size_t(0), m, std::size_t(0), n);
}

}  // namespace detail

/// gemm(), then finish(i0, i1, j0, j1) on each block of C (rows [i0, i1), columns [j0, j1)) by
/// the thread that computed it, with resilinet's packed kernel while the block is still in its
/// cache (other backends: on each thread's part): a layer's bias and activation cost no
/// separate pass, and no serial one.
template <class T, class Finish>
void gemm_then(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
               const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
               std::size_t ldc, Finish&& finish) {
  constexpr std::size_t min_part = 32;  // rows or columns per thread worth a separate call
  const bool split_rows = m >= n;
  const std::size_t extent = split_rows ? m : n;
  // A product with few rows streams all of B: splitting its columns pays once B outgrows what
  // one core streams fastest (one row on 2 threads: 250x250 whole 2.9 us, split 3.8 us;
  // 512x512 whole 14.9 us, split 8.2 us).
  const std::size_t work = m == 1 ? 2 * n * k : (m + 4) * n * k;
  const std::size_t grain = work < (std::size_t(1) << 18) ? extent : min_part;
  parallel_for(
      extent,
      [&](std::size_t begin, std::size_t end, std::size_t) {
        if (split_rows) {
          // Rows of op(A): row i starts at a + i·lda stored as is, at a + i when transposed.
          const T* ap = a + begin * (ta == Trans::no ? lda : 1);
          detail::gemm_serial(ta, tb, end - begin, n, k, alpha, ap, lda, b, ldb, beta,
                              c + begin * ldc, ldc,
                              [&](std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) {
                                finish(begin + i0, begin + i1, j0, j1);
                              });
        } else {
          const T* bp = b + begin * (tb == Trans::no ? 1 : ldb);
          detail::gemm_serial(ta, tb, m, end - begin, k, alpha, a, lda, bp, ldb, beta, c + begin,
                              ldc, [&](std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) {
                                finish(i0, i1, begin + j0, begin + j1);
                              });
        }
      },
      grain);
}

namespace detail {

/// Parts gemm() cuts k into: 1 unless A is transposed (a kernel gradient, Xᵀ·dY, summed over a
/// batch's rows) and k is long beside m + n, then up to 8. The count depends on the shape only,
/// never on the thread count, so each element of C sums the same parts in the same order; and
/// products with A as stored (every forward pass) are never cut, so a row's result does not
/// depend on the batch it is part of.
inline std::size_t k_parts(Trans ta, std::size_t m, std::size_t n, std::size_t k) {
  return ta == Trans::yes ? std::clamp<std::size_t>(k / (8 * (m + n)), 1, 8) : 1;
}

/// gemm() for k_parts() > 1: each part's product on one thread into a buffer of its own, then
/// C = Σ parts (in order) + beta·C. Each thread reads its own rows of op(A)ᵀ and op(B) once,
/// where splitting C's rows had every thread read all of op(B) (on 2 threads MobileNet's
/// kernel gradients 96x96x123008 and 192x192x28800 ran at 116 and 135 GFLOP/s split by rows,
/// below one thread's 125 and 155, and at 142 and 183 cut in k).
template <class T>
void gemm_k_parts(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
                  const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                  std::size_t ldc, std::size_t parts) {
  thread_local std::vector<T> sums;
  if (sums.size() < parts * m * n) sums.resize(parts * m * n);
  T* part = sums.data();
  parallel_for(parts, [&](std::size_t first, std::size_t end, std::size_t) {
    for (std::size_t p = first; p < end; ++p) {
      const std::size_t k0 = p * k / parts, k1 = (p + 1) * k / parts;
      gemm_serial(ta, tb, m, n, k1 - k0, alpha, a + k0 * (ta == Trans::yes ? lda : 1), lda,
                  b + k0 * (tb == Trans::no ? ldb : 1), ldb, T(0), part + p * m * n, n);
    }
  });
  parallel_for(
      m,
      [&](std::size_t first, std::size_t end, std::size_t) {
        for (std::size_t i = first; i < end; ++i) {
          T* ci = c + i * ldc;
          for (std::size_t j = 0; j < n; ++j) {
            T sum = part[i * n + j];
            for (std::size_t p = 1; p < parts; ++p) sum += part[(p * m + i) * n + j];
            ci[j] = beta == T(0) ? sum : sum + beta * ci[j];
          }
        }
      },
      items_per_grain(n * parts));
}

}  // namespace detail

/// Row-major C = alpha·op(A)·op(B) + beta·C with op(A) of M×K and op(B) of K×N.
///
/// `lda`, `ldb`, `ldc` are the row strides of the matrices as stored. C must not alias A or B.
/// Large products are split over resilinet's threads (rows of C, or columns when C is wide, or
/// k when it is long: detail::k_parts()), each part a single-threaded call of the backend;
/// inside a parallel_for the call stays on its thread.
template <class T>
void gemm(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
          std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  if (const std::size_t parts = detail::k_parts(ta, m, n, k); parts > 1)
    return detail::gemm_k_parts(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, parts);
  gemm_then(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
            [](std::size_t, std::size_t, std::size_t, std::size_t) {});
}

}  // namespace resilinet
