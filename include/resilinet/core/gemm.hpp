#pragma once
/// \file
/// gemm(): the single matrix-multiply entry point, with a BLAS and an Eigen backend.
///
/// The BLAS backend (default) calls OpenBLAS through xtensor-blas's cxxblas layer; define
/// `RESILINET_GEMM_EIGEN` before including resilinet to use Eigen's GEMM instead. Both write
/// into a caller-owned output, so hot loops never allocate.

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <Eigen/Core>
#include <xtensor-blas/xblas.hpp>

#include "resilinet/core/threads.hpp"

namespace resilinet {

/// Whether an operand of gemm() is used as stored or transposed.
enum class Trans { no, yes };

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

#if defined(__AVX512F__)
/// c[0..16V) (the last vector masked by `tail`) = alpha·(a·B) + beta·c for one row `a` of
/// length k and the k×16V block of row-major B at `b` (row stride ldb): B is read once, row
/// after row, into V accumulator registers, so the product runs at the speed B streams in.
template <int V>
void row_block(std::size_t k, float alpha, const float* a, const float* b, std::size_t ldb,
               float beta, float* c, __mmask16 tail) {
  __m512 acc[V];
  for (int v = 0; v < V; ++v) acc[v] = _mm512_setzero_ps();
  for (std::size_t i = 0; i < k; ++i) {
    const __m512 ai = _mm512_set1_ps(a[i]);
    const float* row = b + i * ldb;
    for (int v = 0; v + 1 < V; ++v) acc[v] = _mm512_fmadd_ps(ai, _mm512_loadu_ps(row + 16 * v), acc[v]);
    acc[V - 1] = _mm512_fmadd_ps(ai, _mm512_maskz_loadu_ps(tail, row + 16 * (V - 1)), acc[V - 1]);
  }
  for (int v = 0; v < V; ++v) {
    const __mmask16 m = v + 1 < V ? __mmask16(0xFFFF) : tail;
    __m512 r = _mm512_mul_ps(_mm512_set1_ps(alpha), acc[v]);
    if (beta != 0.0f)
      r = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m, c + 16 * v), r);
    _mm512_mask_storeu_ps(c + 16 * v, m, r);
  }
}

/// Row-times-matrix c = alpha·a·B + beta·c (1×k times k×n), in column blocks of up to 256.
template <std::size_t... V>
void row_times_matrix(std::size_t n, std::size_t k, float alpha, const float* a, const float* b,
                      std::size_t ldb, float beta, float* c, std::index_sequence<V...>) {
  using Block = void (*)(std::size_t, float, const float*, const float*, std::size_t, float,
                         float*, __mmask16);
  static constexpr Block blocks[] = {&row_block<int(V) + 1>...};
  for (std::size_t j = 0; j < n; j += 256) {
    const std::size_t width = std::min<std::size_t>(256, n - j), vectors = (width + 15) / 16;
    const __mmask16 tail = __mmask16(0xFFFFu >> (16 * vectors - width));
    blocks[vectors - 1](k, alpha, a, b + j, ldb, beta, c + j, tail);
  }
}
#endif

/// The configured backend on one thread.
template <class T>
void gemm_serial(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
                 const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                 std::size_t ldc) {
#ifdef RESILINET_GEMM_EIGEN
  gemm_eigen(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
#if defined(__AVX512F__)
  // One row (a batch-1 layer) streams B once: the health network's batch-1 products took
  // 36.4 us through BLAS and 30 us here (bench_health_step, gemm_us_b1).
  if constexpr (std::is_same_v<T, float>)
    if (m == 1 && ta == Trans::no && tb == Trans::no && n > 0)
      return row_times_matrix(n, k, alpha, a, b, ldb, beta, c, std::make_index_sequence<16>());
#endif
  gemm_blas(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

}  // namespace detail

/// Row-major C = alpha·op(A)·op(B) + beta·C with op(A) of M×K and op(B) of K×N.
///
/// `lda`, `ldb`, `ldc` are the row strides of the matrices as stored. C must not alias A or B.
/// Large products are split over resilinet's threads (rows of C, or columns when C is wide),
/// each part a single-threaded BLAS call; inside a parallel_for the call stays on its thread.
template <class T>
void gemm(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
          std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
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
                              c + begin * ldc, ldc);
        } else {
          const T* bp = b + begin * (tb == Trans::no ? 1 : ldb);
          detail::gemm_serial(ta, tb, m, end - begin, k, alpha, a, lda, bp, ldb, beta, c + begin,
                              ldc);
        }
      },
      grain);
}

}  // namespace resilinet
