#pragma once
/// \file
/// resilinet's own float GEMM kernels: one row times a matrix (a batch-1 layer), for builds with
/// AVX-512 or AVX2 + FMA, and a packed, cache-blocked product for everything larger, for builds
/// with AVX-512.
///
/// The packed product follows the layout of BLIS and OpenBLAS: B is copied in panels of 2 or 3
/// vectors' width in the order the register tile reads them (a transposed B is undone while
/// copying), A is read in place (a transposed A is copied in panels of rows first), and a tile of
/// rows × vectors accumulators sums each k-block of 256 in registers. A kernel gradient (Aᵀ·B,
/// both stored k-major, k long and m, n short) reads Aᵀ in place, and B too when m is short.
/// Every element of C sums its products in the same order whatever m, n, the tile or the thread
/// split (the one-row kernel too), so a row's result does not depend on the batch it is part of.

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "resilinet/core/threads.hpp"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#define RESILINET_GEMM_KERNELS 1
#endif

namespace resilinet {

/// Whether an operand of gemm() is used as stored or transposed.
enum class Trans { no, yes };

#if defined(RESILINET_GEMM_KERNELS)
namespace detail {

#if defined(__AVX512F__)
/// The vector operations of the kernels: AVX-512, 16 floats, masked by bits.
struct Simd {
  using Vec = __m512;
  using Mask = __mmask16;
  static constexpr int lanes = 16;
  static constexpr int max_vectors = 16;  // one-row accumulators (of 32 registers)
  static constexpr int tile_rows = 12;    // packed tile: 12 rows × 2 vectors (or 8 × 3) of accumulators
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
/// The vector operations of the kernels: AVX2 with FMA, 8 floats, masked by lanes.
struct Simd {
  using Vec = __m256;
  using Mask = __m256i;
  static constexpr int lanes = 8;
  static constexpr int max_vectors = 12;  // one-row accumulators, leaving 4 of 16 registers
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

/// Writes r (first `mask` lanes) to c as alpha·r + beta·c, reading c only when beta ≠ 0.
inline void store_scaled(float* c, Simd::Mask mask, Simd::Vec r, float alpha, float beta) {
  r = Simd::mul(Simd::broadcast(alpha), r);
  if (beta != 0.0f) r = Simd::fmadd(Simd::broadcast(beta), Simd::load(c, mask), r);
  Simd::store(c, mask, r);
}

/// c[0..lanes·V) (the last vector masked by `tail`) = alpha·(a·B) + beta·c for one row `a` of
/// length k and the k×(lanes·V) block of row-major B at `b` (row stride ldb): B is read once,
/// row after row, into V accumulator registers, so the product runs at the speed B streams in.
/// Loops over registers here and in packed_tile() carry `#pragma GCC unroll`: at -O2 (CMake's
/// RelWithDebInfo) GCC left them rolled with the accumulators in memory, and a 2400×96×96
/// product ran at 53 GFLOP/s instead of 206.
template <int V>
void row_block(std::size_t k, float alpha, const float* a, const float* b, std::size_t ldb, float beta, float* c,
               Simd::Mask tail) {
  constexpr int L = Simd::lanes;
  Simd::Vec acc[V];
#pragma GCC unroll 16
  for (int v = 0; v < V; ++v) acc[v] = Simd::zero();
  for (std::size_t i = 0; i < k; ++i) {
    const Simd::Vec ai = Simd::broadcast(a[i]);
    const float* row = b + i * ldb;
#pragma GCC unroll 16
    for (int v = 0; v + 1 < V; ++v) acc[v] = Simd::fmadd(ai, Simd::load(row + L * v), acc[v]);
    acc[V - 1] = Simd::fmadd(ai, Simd::load(row + L * (V - 1), tail), acc[V - 1]);
  }
  for (int v = 0; v < V; ++v) store_scaled(c + L * v, v + 1 < V ? Simd::first(L) : tail, acc[v], alpha, beta);
}

/// k per block of both kernels: each block's sum is scaled by alpha and added to C, so a row's
/// result is the same whichever kernel computes it.
constexpr std::size_t gemm_k_block = 256;

/// Row-times-matrix c = alpha·a·B + beta·c (1×k times k×n), in column blocks of up to
/// lanes·max_vectors (256 with AVX-512, 96 with AVX2) and k-blocks of gemm_k_block.
template <std::size_t... V>
void row_times_matrix(std::size_t n, std::size_t k, float alpha, const float* a, const float* b, std::size_t ldb,
                      float beta, float* c, std::index_sequence<V...>) {
  using Block = void (*)(std::size_t, float, const float*, const float*, std::size_t, float, float*, Simd::Mask);
  static constexpr Block blocks[] = {&row_block<int(V) + 1>...};
  constexpr std::size_t L = Simd::lanes, widest = L * sizeof...(V);
  for (std::size_t j = 0; j < n; j += widest) {
    const std::size_t width = std::min(widest, n - j), vectors = (width + L - 1) / L;
    for (std::size_t p0 = 0; p0 == 0 || p0 < k; p0 += gemm_k_block)  // once when k = 0 (C = beta·C)
      blocks[vectors - 1](std::min(gemm_k_block, k - p0), alpha, a + p0, b + p0 * ldb + j, ldb, p0 == 0 ? beta : 1.0f,
                          c + j, Simd::first(int(width - L * (vectors - 1))));
  }
}

#if defined(__AVX512F__)
// The packed product is AVX-512 only: built for AVX2 with a 6 × 16 tile it matched OpenBLAS's
// Haswell kernels on products with many rows (71-108 against 73-108 GFLOP/s, one run, the
// shapes of docs/performance.md) and lost on kernel gradients (Aᵀ·B with k the batch's
// pixels: 33-52 against 65-107), so AVX2 builds keep BLAS.

/// Block sizes of the packed product: a k-block of A's rows stays in L2, one panel of B in L1.
struct PackedBlocks {
  static constexpr std::size_t kc = gemm_k_block;  ///< k per block (a panel of B: 256 × 48 floats = 48 KB at most)
  static constexpr std::size_t mc = 240;   ///< rows of A per block (240 × 256 floats = 240 KB)
  static constexpr std::size_t nc = 1024;  ///< columns of B per block
};

/// This thread's copies of A's and B's blocks, allocated whole on the thread's first product
/// (258 KB and 1.1 MB: a block rounded up to whole panels of either tile, at most tile_rows rows
/// and 3 vectors wide) so that no later product allocates.
struct PackBuffers {
  static constexpr std::size_t a_size = (PackedBlocks::mc + Simd::tile_rows) * PackedBlocks::kc;  ///< A's room
  static constexpr std::size_t b_size = (PackedBlocks::nc + 3 * Simd::lanes) * PackedBlocks::kc;  ///< B's room
  std::vector<float> a = std::vector<float>(a_size);  ///< A's panels
  std::vector<float> b = std::vector<float>(b_size);  ///< B's panels

  /// The calling thread's buffers.
  static PackBuffers& local() {
    thread_local PackBuffers buffers;
    return buffers;
  }
};

/// Prefetches the lines of `count` consecutive floats at p for reading.
inline void prefetch_run(const float* p, std::size_t count) {
  for (std::size_t q = 0; q < count; q += values_per_line<float>) __builtin_prefetch(p + q, 0, 3);
}

/// Copies rows [p0, p0+kc) × columns [j0, j0+cols) of a row-major matrix (row stride ld) as
/// panels of W columns, each stored row after row (W values per row), the last panel's missing
/// columns zero.
template <std::size_t W>
void pack_rows(const float* src, std::size_t ld, std::size_t p0, std::size_t kc, std::size_t j0, std::size_t cols,
               float* dst) {
  for (std::size_t j = 0; j < cols; j += W, dst += W * kc) {
    const std::size_t used = std::min(W, cols - j);
    for (std::size_t p = 0; p < kc; ++p) {
      const float* row = src + (p0 + p) * ld + j0 + j;
      if (used == W)
        for (std::size_t c = 0; c < W; ++c) dst[p * W + c] = row[c];  // a constant count: no call to memmove
      else
        for (std::size_t c = 0; c < W; ++c) dst[p * W + c] = c < used ? row[c] : 0.0f;
    }
  }
}

/// Copies k-range [p0, p0+kc) × columns [j0, j0+cols) of op(B) = Bᵀ (op(B)(p, j) = b[j·ldb + p])
/// as panels of W columns, each stored k-major, the last panel's missing columns zero.
template <std::size_t W>
void pack_columns(const float* b, std::size_t ldb, std::size_t p0, std::size_t kc, std::size_t j0, std::size_t cols,
                  float* dst) {
  for (std::size_t j = 0; j < cols; j += W, dst += W * kc) {
    const std::size_t used = std::min(W, cols - j);
    for (std::size_t c = 0; c < W; ++c) {
      if (c < used) {
        const float* src = b + (j0 + j + c) * ldb + p0;
        for (std::size_t p = 0; p < kc; ++p) dst[p * W + c] = src[p];
      } else {
        for (std::size_t p = 0; p < kc; ++p) dst[p * W + c] = 0.0f;
      }
    }
  }
}

/// The register tile: rows × cols of c (rows ≤ R, cols ≤ lanes·V) = alpha·(op(A) rows · B
/// panel over kc) + beta·c, with B's panel k-major (a step of ldb: W in a packed panel, B's row
/// stride in place) and A either k-major (KMajorA: R values per step, a step of lda: R in a
/// packed panel, A's row stride for Aᵀ in place) or `rows` rows read in place at row stride lda
/// (rows past `rows` repeat the last). While it sums, the tile prefetches its lines of C (a
/// product over DRAM-sized A and C with k = 24 ran at 89 GFLOP/s, with them at 163: the stores
/// no longer wait for C's lines) and, given `next`, the rows of A the next tile reads in place. Never
/// inlined: where GCC inlined it into its caller's loops (a driver calling gemm_serial() from
/// main) a 32768×64×147 product ran at 46–60 GFLOP/s, against 98–147 as a call.
template <int R, int V, bool KMajorA>
[[gnu::noinline]] void packed_tile(std::size_t kc, const float* a, std::size_t lda, const float* bp,
                                   std::size_t ldb, std::size_t rows, std::size_t cols, float alpha, float beta,
                                   float* c, std::size_t ldc, const float* next = nullptr) {
  constexpr int L = Simd::lanes;
  const float* ar[R];
  for (int r = 0; r < R; ++r) ar[r] = a + std::min<std::size_t>(std::size_t(r), rows - 1) * lda;
  Simd::Vec acc[R][V];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r][v] = Simd::zero();
  for (std::size_t p = 0; p < kc; ++p, bp += ldb, a += KMajorA ? lda : 0) {
    // One line per step, row after row: C's lines for writing, then the next tile's A.
    const std::size_t row = p % R, line = p / R * values_per_line<float>;
    if (line < cols && row < rows) __builtin_prefetch(c + row * ldc + line, 1, 3);
    if (next && line < kc) __builtin_prefetch(next + row * lda + line, 0, 3);
    Simd::Vec bv[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) bv[v] = Simd::load(bp + L * v);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const Simd::Vec x = Simd::broadcast(KMajorA ? a[r] : ar[r][p]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] = Simd::fmadd(x, bv[v], acc[r][v]);
    }
  }
  Simd::Mask masks[V];
  for (int v = 0; v < V; ++v)
    masks[v] = Simd::first(int(std::clamp<std::ptrdiff_t>(std::ptrdiff_t(cols) - L * v, 0, L)));
  for (std::size_t r = 0; r < rows; ++r)
    for (int v = 0; v < V; ++v) store_scaled(c + r * ldc + L * v, masks[v], acc[r][v], alpha, beta);
}

/// packed_gemm() with a register tile of R rows × V vectors.
template <int R, int V, class Finish>
void packed_gemm_tiles(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
                       const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                       std::size_t ldc, Finish& finish) {
  using P = PackedBlocks;
  constexpr std::size_t W = std::size_t(Simd::lanes) * V;
  static_assert((P::mc + R - 1) / R * R * P::kc <= PackBuffers::a_size &&
                    (P::nc + W - 1) / W * W * P::kc <= PackBuffers::b_size,
                "PackBuffers holds a block of whole panels of this tile");
  std::vector<float>& a_pack = PackBuffers::local().a;
  std::vector<float>& b_pack = PackBuffers::local().b;
  // A kernel gradient (Aᵀ·B as stored, k long) reads its whole panels of Aᵀ in place and packs
  // only a last, partial one: each k-block of Aᵀ serves few tiles, and copying it cost up to a
  // sixth of the product (medians of six alternated runs, 96x96x123008: 123.6 GFLOP/s packed,
  // 142.6 in place; 768x768x1152: 173.9 and 191.8). B is read in place too when Aᵀ has at most
  // 4 tiles of rows (24x48x123008: 102.0 GFLOP/s, 117.0 with B in place); with more, the packed
  // panel pays, and in place its rows, a long stride apart, fall into few L1 sets
  // (768x768x1152: 191.8 packed, 172.9 in place).
  const bool in_place = ta == Trans::yes && tb == Trans::no;
  const bool b_in_place = in_place && m <= 4 * R;
  for (std::size_t j0 = 0; j0 < n; j0 += P::nc) {
    const std::size_t cols = std::min(P::nc, n - j0);
    const std::size_t b_whole = b_in_place ? cols / W * W : 0;  // B's panels read in place
    for (std::size_t p0 = 0; p0 < k; p0 += P::kc) {
      const std::size_t kc = std::min(P::kc, k - p0);
      const float block_beta = p0 == 0 ? beta : 1.0f;
      if (tb == Trans::no)
        pack_rows<W>(b, ldb, p0, kc, j0 + b_whole, cols - b_whole, b_pack.data());
      else
        pack_columns<W>(b, ldb, p0, kc, j0, cols, b_pack.data());
      for (std::size_t i0 = 0; i0 < m; i0 += P::mc) {
        const std::size_t rows = std::min(P::mc, m - i0);
        const std::size_t a_whole = in_place ? rows / R * R : 0;  // Aᵀ's panels read in place
        if (ta == Trans::yes)  // Aᵀ's rows are A's columns
          pack_rows<R>(a, lda, p0, kc, i0 + a_whole, rows - a_whole, a_pack.data());
        // A product of one block of rows (a kernel gradient: k long, m and n short) reads a new
        // k-block of B and Aᵀ for every few tiles: each tile prefetches its share of the next
        // k-block's rows, so the reading (and any packing) finds them in cache, not DRAM
        // (96x96x123008 Aᵀ·B, both packed: 113 GFLOP/s before, 126 after).
        const std::size_t next_kc = m <= P::mc && p0 + kc < k ? std::min(P::kc, k - p0 - kc) : 0;
        const std::size_t tiles = (rows + R - 1) / R * ((cols + W - 1) / W);
        std::size_t t = 0;
        for (std::size_t j = 0; j < cols; j += W)
          for (std::size_t i = 0; i < rows; i += R, ++t) {
            for (std::size_t p = p0 + kc + t * next_kc / tiles; p < p0 + kc + (t + 1) * next_kc / tiles; ++p) {
              if (tb == Trans::no) prefetch_run(b + p * ldb + j0, cols);
              if (ta == Trans::yes) prefetch_run(a + p * lda + i0, rows);
            }
            const std::size_t tile_rows = std::min<std::size_t>(R, rows - i), tile_cols = std::min(W, cols - j);
            float* ct = c + (i0 + i) * ldc + j0 + j;
            const bool b_as_stored = j < b_whole, a_as_stored = i < a_whole;
            const float* bt = b_as_stored ? b + p0 * ldb + j0 + j : b_pack.data() + (j - b_whole) * kc;
            const std::size_t b_step = b_as_stored ? ldb : W;
            if (ta == Trans::yes)
              packed_tile<R, V, true>(kc, a_as_stored ? a + p0 * lda + i0 + i : a_pack.data() + (i - a_whole) * kc,
                                      a_as_stored ? lda : R, bt, b_step, tile_rows, tile_cols, alpha, block_beta,
                                      ct, ldc);
            else
              packed_tile<R, V, false>(kc, a + (i0 + i) * lda + p0, lda, bt, b_step, tile_rows,
                                       tile_cols, alpha, block_beta, ct, ldc,
                                       j == 0 && i0 + i + 2 * R <= m ? a + (i0 + i + R) * lda + p0 : nullptr);  // A's first reading
          }
        if (p0 + kc == k) finish(i0, i0 + rows, j0, j0 + cols);  // the block's last k-block
      }
    }
  }
}

/// Row-major C = alpha·op(A)·op(B) + beta·C (op(A) M×K, op(B) K×N) on one thread, with k ≥ 1,
/// through packed copies of B (and of A when transposed) in the thread's PackBuffers, calling
/// finish(i0, i1, j0, j1) on each block of C once its sums are complete, while it is in cache
/// (at most PackedBlocks::mc rows). The tile is 2 vectors wide, or 3 (with fewer rows) when
/// that pads N less.
template <class Finish>
void packed_gemm(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc, Finish& finish) {
  constexpr std::size_t L = Simd::lanes;
  if (m == 0 || n == 0) return;
  if ((n + 3 * L - 1) / (3 * L) * 3 < (n + 2 * L - 1) / (2 * L) * 2)
    packed_gemm_tiles<Simd::tile_rows * 2 / 3, 3>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, finish);
  else
    packed_gemm_tiles<Simd::tile_rows, 2>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, finish);
}

#endif  // __AVX512F__

}  // namespace detail
#endif

}  // namespace resilinet
