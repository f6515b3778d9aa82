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

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#define RESILINET_ROW_KERNEL 1
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

#if defined(RESILINET_ROW_KERNEL)
#if defined(__AVX512F__)
/// The vector operations of the one-row kernel: AVX-512, 16 floats, masked by bits.
struct RowSimd {
  using Vec = __m512;
  using Mask = __mmask16;
  static constexpr int lanes = 16;
  static constexpr int max_vectors = 16;  // accumulators (of 32 registers)
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec broadcast(float x) { return _mm512_set1_ps(x); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static Vec load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, Mask m, Vec v) { _mm512_mask_storeu_ps(p, m, v); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static Mask first(int used) { return Mask(0xFFFFu >> (lanes - used)); }
};
#else
/// The vector operations of the one-row kernel: AVX2 with FMA, 8 floats, masked by lanes.
struct RowSimd {
  using Vec = __m256;
  using Mask = __m256i;
  static constexpr int lanes = 8;
  static constexpr int max_vectors = 12;  // accumulators, leaving 4 of 16 registers
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec broadcast(float x) { return _mm256_set1_ps(x); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static Vec load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, Mask m, Vec v) { _mm256_maskstore_ps(p, m, v); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Mask first(int used) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(used), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};
#endif

/// c[0..lanes·V) (the last vector masked by `tail`) = alpha·(a·B) + beta·c for one row `a` of
/// length k and the k×(lanes·V) block of row-major B at `b` (row stride ldb): B is read once,
/// row after row, into V accumulator registers, so the product runs at the speed B streams in.
template <int V>
void row_block(std::size_t k, float alpha, const float* a, const float* b, std::size_t ldb, float beta, float* c,
               RowSimd::Mask tail) {
  constexpr int L = RowSimd::lanes;
  RowSimd::Vec acc[V];
  for (int v = 0; v < V; ++v) acc[v] = RowSimd::zero();
  for (std::size_t i = 0; i < k; ++i) {
    const RowSimd::Vec ai = RowSimd::broadcast(a[i]);
    const float* row = b + i * ldb;
    for (int v = 0; v + 1 < V; ++v) acc[v] = RowSimd::fmadd(ai, RowSimd::load(row + L * v), acc[v]);
    acc[V - 1] = RowSimd::fmadd(ai, RowSimd::load(row + L * (V - 1), tail), acc[V - 1]);
  }
  for (int v = 0; v < V; ++v) {
    const RowSimd::Mask m = v + 1 < V ? RowSimd::first(L) : tail;
    RowSimd::Vec r = RowSimd::mul(RowSimd::broadcast(alpha), acc[v]);
    if (beta != 0.0f) r = RowSimd::fmadd(RowSimd::broadcast(beta), RowSimd::load(c + L * v, m), r);
    RowSimd::store(c + L * v, m, r);
  }
}

/// Row-times-matrix c = alpha·a·B + beta·c (1×k times k×n), in column blocks of up to
/// lanes·max_vectors (256 with AVX-512, 96 with AVX2).
template <std::size_t... V>
void row_times_matrix(std::size_t n, std::size_t k, float alpha, const float* a, const float* b, std::size_t ldb,
                      float beta, float* c, std::index_sequence<V...>) {
  using Block = void (*)(std::size_t, float, const float*, const float*, std::size_t, float, float*, RowSimd::Mask);
  static constexpr Block blocks[] = {&row_block<int(V) + 1>...};
  constexpr std::size_t L = RowSimd::lanes, widest = L * sizeof...(V);
  for (std::size_t j = 0; j < n; j += widest) {
    const std::size_t width = std::min(widest, n - j), vectors = (width + L - 1) / L;
    blocks[vectors - 1](k, alpha, a, b + j, ldb, beta, c + j, RowSimd::first(int(width - L * (vectors - 1))));
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
#if defined(RESILINET_ROW_KERNEL)
  // One row (a batch-1 layer) streams B once: the health network's batch-1 products took
  // 36.4 us through BLAS and 30 us here with AVX-512 (bench_health_step, gemm_us_b1).
  if constexpr (std::is_same_v<T, float>)
    if (m == 1 && ta == Trans::no && tb == Trans::no && n > 0)
      return row_times_matrix(n, k, alpha, a, b, ldb, beta, c, std::make_index_sequence<RowSimd::max_vectors>());
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
