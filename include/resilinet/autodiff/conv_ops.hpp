#pragma once
/// \file
/// 2-D convolutions on NHWC tensors: conv2d (im2col + GEMM, 1x1 as one GEMM) and
/// depthwise_conv2d (a direct kernel vectorised over channels).
///
/// Shape letters: N batch, H/W input height/width, C input channels, F output channels
/// (filters), KH/KW kernel, OH/OW output. Kernels are Keras-shaped: conv (KH, KW, C, F),
/// depthwise (KH, KW, C, 1). Work is split over the batch with parallel_for, each thread
/// with its scratch from the Context's Workspace (ops keep a share of it for backward); the
/// depthwise kernel gradient is summed from per-thread partials in thread order, conv2d's
/// backward splits its products over the threads inside gemm(), so results are reproducible
/// for a given thread count.

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "resilinet/autodiff/channel_sums.hpp"
#include "resilinet/autodiff/linear_ops.hpp"
#include "resilinet/autodiff/tape.hpp"
#include "resilinet/core/context.hpp"
#include "resilinet/core/gemm.hpp"
#include "resilinet/core/lanes.hpp"
#include "resilinet/core/threads.hpp"

namespace resilinet {

/// How a window operation treats the border (Keras names).
enum class Padding {
  /// No padding: OH = floor((H − KH) / stride) + 1.
  valid,
  /// Zero padding so that OH = ceil(H / stride), the odd pixel of padding at the bottom/right.
  same,
};

/// Where a sliding window of a convolution or pooling falls on its input.
struct WindowGeometry {
  std::size_t n = 0;         ///< input batch size N
  std::size_t h = 0;         ///< input height H
  std::size_t w = 0;         ///< input width W
  std::size_t c = 0;         ///< input channels C
  std::size_t kh = 1;        ///< window height
  std::size_t kw = 1;        ///< window width
  std::size_t sh = 1;        ///< vertical stride
  std::size_t sw = 1;        ///< horizontal stride
  std::size_t pad_top = 0;   ///< padding rows above (the rest goes below)
  std::size_t pad_left = 0;  ///< padding columns on the left (the rest goes right)
  std::size_t oh = 0;        ///< output height
  std::size_t ow = 0;        ///< output width

  /// Input rows (or columns) a window starting at output index o covers: [o·s − pad, +k).
  long first_row(std::size_t oy) const { return long(oy * sh) - long(pad_top); }
  /// See first_row().
  long first_col(std::size_t ox) const { return long(ox * sw) - long(pad_left); }

  /// Calls f(tap, offset) for every cell of output (oy, ox)'s window that lies inside the
  /// input: tap = ky·KW + kx, offset = (iy·W + ix)·C within the image.
  template <class F>
  void for_each_tap(std::size_t oy, std::size_t ox, F&& f) const {
    for (std::size_t ky = 0; ky < kh; ++ky) {
      const long iy = first_row(oy) + long(ky);
      if (iy < 0 || iy >= long(h)) continue;
      for (std::size_t kx = 0; kx < kw; ++kx) {
        const long ix = first_col(ox) + long(kx);
        if (ix < 0 || ix >= long(w)) continue;
        f(ky * kw + kx, (std::size_t(iy) * w + std::size_t(ix)) * c);
      }
    }
  }
};

/// Computes the geometry of a KH×KW window with the given strides over an NHWC shape;
/// `op` names the caller in errors.
inline WindowGeometry window_geometry(const char* op, const Shape& x, std::size_t kh,
                                      std::size_t kw, std::size_t sh, std::size_t sw,
                                      Padding padding) {
  require<ShapeError>(x.rank() == 4, op, ": needs an NHWC input of rank 4, got ", x);
  require(kh > 0 && kw > 0 && sh > 0 && sw > 0, op, ": window ", kh, "x", kw, " and strides ", sh,
          "x", sw, " must be positive");
  WindowGeometry g;
  g.n = x[0], g.h = x[1], g.w = x[2], g.c = x[3];
  g.kh = kh, g.kw = kw, g.sh = sh, g.sw = sw;
  if (padding == Padding::valid) {
    require<ShapeError>(g.h >= kh && g.w >= kw, op, ": a ", kh, "x", kw,
                        " 'valid' window does not fit input ", x);
    g.oh = (g.h - kh) / sh + 1;
    g.ow = (g.w - kw) / sw + 1;
  } else {
    g.oh = (g.h + sh - 1) / sh;
    g.ow = (g.w + sw - 1) / sw;
    const std::size_t ph = std::max<long>(long((g.oh - 1) * sh + kh) - long(g.h), 0);
    const std::size_t pw = std::max<long>(long((g.ow - 1) * sw + kw) - long(g.w), 0);
    g.pad_top = ph / 2;
    g.pad_left = pw / 2;
  }
  return g;
}

namespace detail {

/// The kernel taps a convolution actually uses: rows [ky0, ky1) × columns [kx0, kx1) of the
/// window, those that fall inside the input for at least one output. On small feature maps
/// (ResNet's 1x1 and 2x2 stages) most taps only ever see padding, and skipping them skips
/// their share of the kernel: 9x less work and weight traffic for a 3x3 "same" conv on 1x1.
struct TapPlan {
  std::size_t ky0 = 0, ky1 = 0, kx0 = 0, kx1 = 0, kw = 0, c = 0;

  /// Values per im2col row: active taps × channels.
  std::size_t row() const { return (ky1 - ky0) * (kx1 - kx0) * c; }

  /// Calls f(column offset in an im2col row, first kernel row, width) for each contiguous
  /// block of kernel rows (K = KH·KW·C rows in (ky, kx, c) order) that the active taps use.
  template <class F>
  void for_each_block(F&& f) const {
    const std::size_t width = (kx1 - kx0) * c;
    if (kx1 - kx0 == kw) {
      f(std::size_t(0), ky0 * kw * c, row());
      return;
    }
    for (std::size_t ky = ky0; ky < ky1; ++ky)
      f((ky - ky0) * width, (ky * kw + kx0) * c, width);
  }
};

/// The active taps of `g` (see TapPlan).
inline TapPlan plan_taps(const WindowGeometry& g) {
  auto active = [](std::size_t k, std::size_t out, std::size_t stride, std::size_t pad,
                   std::size_t in) {
    for (std::size_t o = 0; o < out; ++o) {
      const long i = long(o * stride + k) - long(pad);
      if (i >= 0 && i < long(in)) return true;
    }
    return false;
  };
  TapPlan p;
  p.kw = g.kw;
  p.c = g.c;
  p.ky0 = g.kh, p.kx0 = g.kw;
  for (std::size_t k = 0; k < g.kh; ++k)
    if (active(k, g.oh, g.sh, g.pad_top, g.h)) p.ky0 = std::min(p.ky0, k), p.ky1 = k + 1;
  for (std::size_t k = 0; k < g.kw; ++k)
    if (active(k, g.ow, g.sw, g.pad_left, g.w)) p.kx0 = std::min(p.kx0, k), p.kx1 = k + 1;
  return p;
}

/// Counts of a window row's taps left of the input, inside it (contiguous in memory, from
/// input column `column`) and right of it.
struct TapSpan {
  std::size_t before, inside, after, column;
};

/// The taps [kx0, kx1) of a window row starting at input column `first`, split as TapSpan.
inline TapSpan tap_span(long first, std::size_t kx0, std::size_t kx1, std::size_t w) {
  const long lo = first + long(kx0), hi = first + long(kx1);  // input columns [lo, hi)
  const long in_lo = std::clamp(lo, 0L, long(w)), in_hi = std::clamp(hi, in_lo, long(w));
  return {std::size_t(in_lo - lo), std::size_t(in_hi - in_lo), std::size_t(hi - in_hi),
          std::size_t(in_lo)};
}

/// cols (OH·OW, active taps·C) ← the input patches of one image x (H, W, C); zeros off the
/// border. Each window row is one copy of its taps inside the input (7 taps of 3 channels on
/// ResNet's stem: one 21-value copy, not seven of 3).
template <class T>
void im2col(const WindowGeometry& g, const TapPlan& p, const T* x, T* cols) {
  const std::size_t width = (p.kx1 - p.kx0) * g.c;
  for (std::size_t oy = 0; oy < g.oh; ++oy)
    for (std::size_t ox = 0; ox < g.ow; ++ox) {
      T* out = cols + (oy * g.ow + ox) * p.row();
      const TapSpan s = tap_span(g.first_col(ox), p.kx0, p.kx1, g.w);
      for (std::size_t ky = p.ky0; ky < p.ky1; ++ky, out += width) {
        const long iy = g.first_row(oy) + long(ky);
        if (iy < 0 || iy >= long(g.h) || s.inside == 0) {
          std::fill_n(out, width, T(0));
          continue;
        }
        std::fill_n(out, s.before * g.c, T(0));
        std::copy_n(x + (std::size_t(iy) * g.w + s.column) * g.c, s.inside * g.c,
                    out + s.before * g.c);
        std::fill_n(out + (s.before + s.inside) * g.c, s.after * g.c, T(0));
      }
    }
}

/// dx (H, W, C) += the patch gradients dcols (OH·OW, active taps·C) of one image.
template <class T>
void col2im_add(const WindowGeometry& g, const TapPlan& p, const T* dcols, T* dx) {
  const std::size_t width = (p.kx1 - p.kx0) * g.c;
  for (std::size_t oy = 0; oy < g.oh; ++oy)
    for (std::size_t ox = 0; ox < g.ow; ++ox) {
      const T* in = dcols + (oy * g.ow + ox) * p.row();
      const TapSpan s = tap_span(g.first_col(ox), p.kx0, p.kx1, g.w);
      for (std::size_t ky = p.ky0; ky < p.ky1; ++ky, in += width) {
        const long iy = g.first_row(oy) + long(ky);
        if (iy < 0 || iy >= long(g.h) || s.inside == 0) continue;
        T* d = dx + (std::size_t(iy) * g.w + s.column) * g.c;
        const T* src = in + s.before * g.c;
        for (std::size_t i = 0, n = s.inside * g.c; i < n; ++i) d[i] += src[i];
      }
    }
}

/// Images whose im2col columns go into one GEMM: as many as fit in 8M values (32 MB of
/// float), so small feature maps still make large products.
inline std::size_t images_per_chunk(const WindowGeometry& g, const TapPlan& p) {
  const std::size_t per_image = std::max<std::size_t>(1, g.oh * g.ow * p.row());
  return std::max<std::size_t>(1, (std::size_t(1) << 23) / per_image);
}

/// Whether a convolution is a plain (N·H·W, C) × (C, F) product: 1x1, stride 1.
inline bool is_pointwise(const WindowGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1;
}

/// Zeroes the rows of a (K, F) kernel gradient that no active tap of `p` reaches, split over
/// the threads (on ResNet's 1x1 maps, 8.4 of a 512 -> 512 kernel's 9.4 MB).
template <class T>
void zero_inactive_rows(const TapPlan& p, std::size_t k, std::size_t f, T* dw) {
  const auto zero = [&](std::size_t r0, std::size_t r1) {
    parallel_for(
        r1 - r0,
        [&](std::size_t a, std::size_t b, std::size_t) {
          std::fill(dw + (r0 + a) * f, dw + (r0 + b) * f, T(0));
        },
        items_per_grain(f));
  };
  std::size_t next = 0;
  p.for_each_block([&](std::size_t, std::size_t krow, std::size_t width) {
    zero(next, krow);
    next = krow + width;
  });
  zero(next, k);
}

/// The threads whose partial results a parallel_for over `n` items leaves: [first, first+count).
struct ThreadSpan {
  std::size_t first = 0, count = 1;
};

/// Runs body(first_image, end_image, thread) over the batch, zeroing the partial gradient
/// (`partial_size` values in workspace `slot`) of every thread that will run first.
template <class T, class Body>
ThreadSpan over_batch_with_partials(Workspace<T>& ws, std::size_t batch, std::size_t slot,
                                    std::size_t partial_size, Body&& body) {
  ws.reserve_threads(std::size_t(max_threads()));
  ThreadSpan span;
  if (in_parallel())
    span.first = thread_index();  // nested: runs serially on this thread
  else
    span.count = std::max<std::size_t>(1, std::min<std::size_t>(std::size_t(max_threads()), batch));
  for (std::size_t t = span.first; t < span.first + span.count; ++t)
    std::fill_n(ws.buffer(t, slot, partial_size), partial_size, T(0));
  parallel_for(batch, [&](std::size_t b, std::size_t e, std::size_t t) { body(b, e, t); });
  return span;
}

/// Writes (first writer) or adds the partial gradients of `span`'s threads, `n` values each,
/// into `dst`, summed in thread order.
template <class T>
void reduce_partials(Workspace<T>& ws, std::size_t slot, ThreadSpan span, std::size_t n,
                     Node<T>& dst) {
  for (std::size_t t = span.first; t < span.first + span.count; ++t)
    add_grad(dst, ws.buffer(t, slot, n), n);
}

/// y = conv(x, w) + b on NHWC with a (KH, KW, C, F) kernel; an L2 penalty λ adds 2λw to dw.
template <class T>
struct Conv2dOp : Node<T>, OutputSums<T> {
  Node<T>* x = nullptr;
  Node<T>* w = nullptr;
  Node<T>* b = nullptr;
  WindowGeometry g;
  std::size_t filters = 0;
  T l2 = T(0);
  std::shared_ptr<Workspace<T>> ws;  // shared: backward may run after the Context is gone
  Tensor<T> bias_partials;           // per-part column sums of dy, reused across steps

  void backward() override {
    const std::size_t rows = g.oh * g.ow, k = g.kh * g.kw * g.c, f = filters;
    const T* dy = this->grad.data();
    if (b && b->requires_grad) bias_backward(*b, dy, g.n * rows, f, bias_partials);
    if (is_pointwise(g)) {
      // A matmul over all N·H·W rows: dx = dy·wᵀ, dw = xᵀ·dy.
      matmul_backward(*x, *w, dy, g.n * rows, k, f);
      if (w->requires_grad) add_l2(*w);
      return;
    }
    // Chunk by chunk of images: im2col split over images, then each product split over the
    // threads by gemm(). Products over the whole chunk leave no per-thread kernel gradients to
    // zero and add (on ResNet's 1x1 maps a 512 -> 512 kernel is 9.4 MB, its product 128 rows),
    // and dw's sums run in the order k fixes, whatever the thread count.
    const bool dx_added = x->grad_written;
    const TapPlan p = plan_taps(g);
    const std::size_t image = g.h * g.w * g.c, chunk = images_per_chunk(g, p), kr = p.row();
    const T dw_beta = w->requires_grad ? grad_beta(*w) : T(1);
    if (dw_beta == T(0)) zero_inactive_rows(p, k, f, w->grad.data());
    ws->reserve_threads(std::size_t(max_threads()));
    T* cols = ws->buffer(in_parallel() ? thread_index() : 0, 0, std::min(chunk, g.n) * rows * kr);
    for (std::size_t i = 0; i < g.n; i += chunk) {
      const std::size_t m = std::min(chunk, g.n - i), r = m * rows;
      const T* dyi = dy + i * rows * f;
      if (w->requires_grad) {
        parallel_for(m, [&](std::size_t first, std::size_t end, std::size_t) {
          for (std::size_t j = first; j < end; ++j)
            im2col(g, p, x->value.data() + (i + j) * image, cols + j * rows * kr);
        });
        p.for_each_block([&](std::size_t col, std::size_t krow, std::size_t width) {
          gemm(Trans::yes, Trans::no, width, f, r, T(1), cols + col, kr, dyi, f,
               i == 0 ? dw_beta : T(1), w->grad.data() + krow * f, f);
        });
      }
      if (x->requires_grad) {
        p.for_each_block([&](std::size_t col, std::size_t krow, std::size_t width) {
          gemm(Trans::no, Trans::yes, r, width, f, T(1), dyi, f, w->value.data() + krow * f, f,
               T(0), cols + col, kr);
        });
        parallel_for(m, [&](std::size_t first, std::size_t end, std::size_t) {
          for (std::size_t j = first; j < end; ++j) {
            T* dxj = x->grad.data() + (i + j) * image;
            if (!dx_added) std::fill_n(dxj, image, T(0));
            col2im_add(g, p, cols + j * rows * kr, dxj);
          }
        });
      }
    }
    if (x->requires_grad) x->grad_written = true;
    if (w->requires_grad) add_l2(*w);
  }

  void add_l2(Node<T>& kernel) const {
    if (l2 == T(0)) return;
    T* dw = kernel.grad.data();
    const T* v = kernel.value.data();
    parallel_for_each(kernel.value.size(), [&](std::size_t i) { dw[i] += T(2) * l2 * v[i]; });
  }
};

/// Channels a depthwise kernel keeps in registers at a time.
inline constexpr std::size_t depthwise_block = 32;

/// Calls f(rows, cols) with both as std::integral_constant when each is 1, 2 or 3 (so
/// depthwise_sum unrolls windows up to 3x3), else with both as they are.
template <class F>
void with_constant_window(std::size_t rows, std::size_t cols, F&& f) {
  using std::integral_constant;
  const auto with_cols = [&](auto r) {
    switch (cols) {
      case 1: return f(r, integral_constant<std::size_t, 1>());
      case 2: return f(r, integral_constant<std::size_t, 2>());
      default: return f(r, integral_constant<std::size_t, 3>());
    }
  };
  if (rows == 0 || rows > 3 || cols == 0 || cols > 3) return f(rows, cols);
  switch (rows) {
    case 1: return with_cols(integral_constant<std::size_t, 1>());
    case 2: return with_cols(integral_constant<std::size_t, 2>());
    default: return with_cols(integral_constant<std::size_t, 3>());
  }
}

/// Calls f(c0, n) for consecutive blocks [c0, c0 + n) covering c channels: n is a constant
/// depthwise_block for full blocks, so their accumulators stay in registers, and a constant
/// 8, 16 or 24 for such tails (MobileNet α 0.75 has 24 and 48 = 32 + 16 channels: their
/// forward ran 1.5–2x faster than with a variable count); any other tail gets a variable count.
template <class F>
void for_channel_blocks(std::size_t c, F&& f) {
  constexpr std::size_t B = depthwise_block;
  std::size_t c0 = 0;
  for (; c0 + B <= c; c0 += B) f(c0, std::integral_constant<std::size_t, B>());
  const std::size_t tail = c - c0;
  if (tail == 8) f(c0, std::integral_constant<std::size_t, 8>());
  else if (tail == 16) f(c0, std::integral_constant<std::size_t, 16>());
  else if (tail == 24) f(c0, std::integral_constant<std::size_t, 24>());
  else if (tail > 0) f(c0, tail);
}

/// out[ch] (=, or += when `add`) Σ over a rectangle of taps of x[ch]·k[ch]: rows
/// ty ∈ [0, rows), columns tx ∈ [0, cols), where tap (ty, tx) reads x at
/// x0 + ty·x_row + tx·x_col and k at k0 + ty·k_row + tx·k_col. Channels are accumulated in
/// registers per block (see for_channel_blocks); the pointer arithmetic keeps the compiler
/// vectorising over channels (a list of pointers made GCC vectorise over taps with gathers,
/// 30% slower). `rows` and `cols` may be std::integral_constant, which unrolls the taps (a
/// whole 3x3 window: the same sums in the same order, without the loops' overhead).
template <class T, class Rows, class Cols>
void depthwise_sum(std::size_t c, const T* x0, std::ptrdiff_t x_row, std::ptrdiff_t x_col,
                   const T* k0, std::ptrdiff_t k_row, std::ptrdiff_t k_col, Rows rows,
                   Cols cols, T* out, bool add) {
  for_channel_blocks(c, [&](std::size_t c0, auto n) {
    T acc[depthwise_block] = {};
    for (std::size_t ty = 0; ty < std::size_t(rows); ++ty)
      for (std::size_t tx = 0; tx < std::size_t(cols); ++tx) {
        const T* xp = x0 + std::ptrdiff_t(ty) * x_row + std::ptrdiff_t(tx) * x_col + c0;
        const T* kp = k0 + std::ptrdiff_t(ty) * k_row + std::ptrdiff_t(tx) * k_col + c0;
        for (std::size_t ch = 0; ch < std::size_t(n); ++ch) acc[ch] += xp[ch] * kp[ch];
      }
    if (add)
      for (std::size_t ch = 0; ch < std::size_t(n); ++ch) out[c0 + ch] += acc[ch];
    else
      for (std::size_t ch = 0; ch < std::size_t(n); ++ch) out[c0 + ch] = acc[ch];
  });
}

/// out[ch] += Σ over j < count of a[j·a_step + ch]·b[j·c + ch]: one tap's kernel gradient
/// over a run of outputs. Each channel keeps several partial sums (two for full blocks, whose
/// four would fill AVX2's 16 registers; four for tails), so consecutive additions do not wait
/// on each other's latency as one running sum did.
template <class T>
void depthwise_dot(std::size_t c, const T* a, std::ptrdiff_t a_step, const T* b, std::size_t count,
                   T* out) {
  for_channel_blocks(c, [&](std::size_t c0, auto n) {
    constexpr std::size_t S =
        std::is_same_v<decltype(n), std::integral_constant<std::size_t, depthwise_block>> ? 2 : 4;
    T acc[depthwise_block] = {};
    std::size_t j = 0;
    if (count >= 2 * S) {  // short runs (the last layers' 2x2 maps) skip the partial sums
      T part[S][depthwise_block] = {};
      for (; j + S <= count; j += S)
        for (std::size_t s = 0; s < S; ++s) {
          const T* ap = a + std::ptrdiff_t(j + s) * a_step + c0;
          const T* bp = b + (j + s) * c + c0;
          for (std::size_t ch = 0; ch < std::size_t(n); ++ch) part[s][ch] += ap[ch] * bp[ch];
        }
      for (std::size_t s = 0; s < S; ++s)
        for (std::size_t ch = 0; ch < std::size_t(n); ++ch) acc[ch] += part[s][ch];
    }
    for (; j < count; ++j) {
      const T* ap = a + std::ptrdiff_t(j) * a_step + c0;
      const T* bp = b + j * c + c0;
      for (std::size_t ch = 0; ch < std::size_t(n); ++ch) acc[ch] += ap[ch] * bp[ch];
    }
    for (std::size_t ch = 0; ch < std::size_t(n); ++ch) out[c0 + ch] += acc[ch];
  });
}

/// depthwise_run3x3 on one block of channels, V holding one value of each: a function of
/// its own with its arguments by value, so that stores to `out` cannot alias them.
template <class V, class T>
void depthwise_run3x3_block(const T* in, std::ptrdiff_t in_row, std::ptrdiff_t in_col,
                            std::ptrdiff_t in_step, const T* k, std::ptrdiff_t k_row,
                            std::ptrdiff_t k_col, std::size_t count, T* out, std::size_t c,
                            bool add) {
  V kv[9];
#pragma GCC unroll 9
  for (std::size_t t = 0; t < 9; ++t)
    kv[t] = load_vector<V>(k + std::ptrdiff_t(t / 3) * k_row + std::ptrdiff_t(t % 3) * k_col);
  for (std::size_t j = 0; j < count; ++j, in += in_step, out += c) {
    // The next output row's new input row: a block walks its row at a stride of c values,
    // which the hardware prefetcher does not follow (1.2–1.5x slower passes without).
    __builtin_prefetch(in + 3 * in_row);
    V acc = V{};
#pragma GCC unroll 9
    for (std::size_t t = 0; t < 9; ++t)
      acc += load_vector<V>(in + std::ptrdiff_t(t / 3) * in_row + std::ptrdiff_t(t % 3) * in_col) *
             kv[t];
    store_vector(out, add ? load_vector<V>(out) + acc : acc);
  }
}

/// depthwise_sum over a 3x3 window for `count` consecutive outputs: out[j·c + ch] (=, or +=
/// when `add`) Σ over taps (ty, tx) of in[j·in_step + ty·in_row + tx·in_col + ch]·
/// k[ty·k_row + tx·k_col + ch], the same sums in the same order, with each channel block's
/// nine kernel values held in registers across the run instead of loaded per output.
template <class T>
void depthwise_run3x3(std::size_t c, const T* in, std::ptrdiff_t in_row, std::ptrdiff_t in_col,
                      std::ptrdiff_t in_step, const T* k, std::ptrdiff_t k_row,
                      std::ptrdiff_t k_col, std::size_t count, T* out, bool add) {
  for_vector_blocks<T>(c, [&](std::size_t c0, auto n) {
    depthwise_run3x3_block<typename VectorOf<T, decltype(n)::value>::type>(
        in + c0, in_row, in_col, in_step, k + c0, k_row, k_col, count, out + c0, c, add);
  });
}

/// depthwise_kernel_grad_run3x3 on one block of channels, V holding one value of each.
template <class V, class T>
void depthwise_kernel_grad_block(const T* x, std::ptrdiff_t x_row, std::ptrdiff_t x_col,
                                 std::ptrdiff_t x_step, const T* dy, std::ptrdiff_t dy_row,
                                 std::size_t count, T* dw, std::size_t c) {
  V acc[9] = {};
  for (std::size_t j = 0; j < count; ++j, x += x_step, dy += c) {
    // The next output row's new input row and its dy, as in depthwise_run3x3_block (1.6x
    // slower without).
    __builtin_prefetch(x + 3 * x_row);
    __builtin_prefetch(dy + dy_row);
    const V d = load_vector<V>(dy);
#pragma GCC unroll 9
    for (std::size_t t = 0; t < 9; ++t)
      acc[t] += load_vector<V>(x + std::ptrdiff_t(t / 3) * x_row + std::ptrdiff_t(t % 3) * x_col) * d;
  }
#pragma GCC unroll 9
  for (std::size_t t = 0; t < 9; ++t)
    store_vector(dw + t * c, load_vector<V>(dw + t * c) + acc[t]);
}

/// dw[(ty·3 + tx)·c + ch] += Σ over j < count of x[j·x_step + ty·x_row + tx·c + ch]·
/// dy[j·c + ch]: a 3x3 kernel's gradient over a run of outputs whose windows lie inside the
/// input (dy_row: the distance to the next row of dy), each channel block's nine sums held in
/// registers across the run: one load of dy and nine of x per output, against two loads per
/// product in depthwise_dot.
template <class T>
void depthwise_kernel_grad_run3x3(std::size_t c, const T* x, std::ptrdiff_t x_row,
                                  std::ptrdiff_t x_step, const T* dy, std::ptrdiff_t dy_row,
                                  std::size_t count, T* dw) {
  for_vector_blocks<T>(c, [&](std::size_t c0, auto n) {
    depthwise_kernel_grad_block<typename VectorOf<T, decltype(n)::value>::type>(
        x + c0, x_row, std::ptrdiff_t(c), x_step, dy + c0, dy_row, count, dw + c0, c);
  });
}

/// The shortest runs of outputs given to depthwise_run3x3 (4) and to
/// depthwise_kernel_grad_run3x3 (8): on shorter ones output by output was as fast, and for
/// the kernel gradient on 7x7 maps (runs of 5) up to 17% faster with AVX2.
inline constexpr std::size_t min_run = 4, min_grad_run = 8;

/// The outputs [lo, hi) along one window dimension whose k taps all land inside [0, in), or
/// an empty range when they are fewer than `shortest`.
inline void full_windows(std::size_t pad, std::size_t s, std::size_t k, std::size_t in,
                         std::size_t out, std::size_t shortest, std::size_t& lo, std::size_t& hi) {
  lo = (pad + s - 1) / s;
  hi = in + pad >= k ? std::min(out, (in + pad - k) / s + 1) : 0;
  if (hi < lo + shortest) hi = lo;
}

/// The taps k ∈ [k_lo, k_hi) of a window dimension that land inside [0, in) for output o.
inline void valid_taps(long first, std::size_t k, std::size_t in, std::size_t& k_lo,
                       std::size_t& k_hi) {
  k_lo = first < 0 ? std::size_t(-first) : 0;
  const long hi = long(in) - first;
  k_hi = std::min<std::size_t>(k, hi < 0 ? 0 : std::size_t(hi));
  if (k_hi < k_lo) k_hi = k_lo;
}

/// The outputs o ∈ [lo, hi) along one window dimension whose tap k lands inside [0, in): those
/// with 0 ≤ o·s + k − pad < in, among `out` outputs.
inline void outputs_for_tap(std::size_t k, std::size_t pad, std::size_t s, std::size_t in,
                            std::size_t out, std::size_t& lo, std::size_t& hi) {
  lo = k >= pad ? 0 : (pad - k + s - 1) / s;
  hi = in + pad > k ? std::min(out, (in + pad - k - 1) / s + 1) : 0;
  if (hi < lo) hi = lo;
}

/// y = depthwise conv(x, w) on NHWC with a (KH, KW, C, 1) kernel (depth multiplier 1).
template <class T>
struct DepthwiseConv2dOp : Node<T>, OutputSums<T> {
  Node<T>* x = nullptr;
  Node<T>* w = nullptr;
  WindowGeometry g;
  std::shared_ptr<Workspace<T>> ws;  // shared: backward may run after the Context is gone

  void backward() override {
    const std::size_t c = g.c, taps = g.kh * g.kw;
    const T* dy = this->grad.data();
    const T* xv = x->value.data();
    const T* wv = w->value.data();
    const bool dx_added = x->grad_written;
    const std::ptrdiff_t dy_row(g.ow * c), w_row = -std::ptrdiff_t(g.sh * g.kw * c),
                         w_col = -std::ptrdiff_t(g.sw * c);
    // Runs for 3x3 windows: the inputs [dx_lo, dx_hi) of a row that all nine taps reach, with
    // stride 1 (input ix meets dy's columns ix + pad − 2 to ix + pad: a window over dy padded
    // by 2 − pad), and the outputs [lo, hi) whose window lies inside the image.
    std::size_t dx_lo = 0, dx_hi = 0, lo = 0, hi = 0;
    if (g.kh == 3 && g.kw == 3) {
      if (g.sh == 1 && g.sw == 1 && g.pad_left <= 2)
        full_windows(2 - g.pad_left, 1, 3, g.ow, g.w, min_run, dx_lo, dx_hi);
      full_windows(g.pad_left, g.sw, 3, g.w, g.ow, min_grad_run, lo, hi);
    }
    const ThreadSpan threads = over_batch_with_partials(
        *ws, g.n, 1, w->requires_grad ? taps * c : 0,
        [&](std::size_t first, std::size_t end, std::size_t t) {
          T* dw = ws->buffer(t, 1, w->requires_grad ? taps * c : 0);
          for (std::size_t i = first; i < end; ++i) {
            const T* xi = xv + i * g.h * g.w * c;
            const T* dyi = dy + i * g.oh * g.ow * c;
            if (x->requires_grad) {
              // Gather: dx[iy, ix] = Σ over the taps whose window covered (iy, ix) of dy·w,
              // written once per element (no zero-fill, no scatter). With stride s, the taps
              // reaching (iy, ix) are ky ≡ iy + pad (mod s): a rectangle stepping by s.
              T* dxi = x->grad.data() + i * g.h * g.w * c;
              for (std::size_t iy = 0; iy < g.h; ++iy) {
                const std::size_t ry = iy + g.pad_top;
                // ky = ry − oy·sh for oy ∈ [oy_lo, oy_hi] with 0 ≤ ky < kh, oy < oh.
                const std::size_t oy_hi = std::min(ry / g.sh, g.oh - 1);
                const std::size_t oy_lo = ry + 1 > g.kh ? (ry + 1 - g.kh + g.sh - 1) / g.sh : 0;
                const std::size_t ny = oy_hi + 1 > oy_lo && ry / g.sh >= oy_lo ? oy_hi + 1 - oy_lo : 0;
                const auto gather = [&](std::size_t ix) {
                  const std::size_t rx = ix + g.pad_left;
                  const std::size_t ox_hi = std::min(rx / g.sw, g.ow - 1);
                  const std::size_t ox_lo = rx + 1 > g.kw ? (rx + 1 - g.kw + g.sw - 1) / g.sw : 0;
                  const std::size_t nx =
                      ox_hi + 1 > ox_lo && rx / g.sw >= ox_lo ? ox_hi + 1 - ox_lo : 0;
                  T* out = dxi + (iy * g.w + ix) * c;
                  if (ny == 0 || nx == 0) {
                    if (!dx_added) std::fill_n(out, c, T(0));
                    return;
                  }
                  // Start at (oy_lo, ox_lo), i.e. tap (ry − oy_lo·sh, rx − ox_lo·sw); each next
                  // output row moves dy by OW·C and the tap back by sh kernel rows.
                  const T* dyp = dyi + (oy_lo * g.ow + ox_lo) * c;
                  const T* wp = wv + ((ry - oy_lo * g.sh) * g.kw + (rx - ox_lo * g.sw)) * c;
                  with_constant_window(ny, nx, [&](auto rows, auto cols) {
                    depthwise_sum(c, dyp, dy_row, std::ptrdiff_t(c), wp, w_row, w_col, rows, cols,
                                  out, dx_added);
                  });
                };
                // The run in one call (the same sums in the same order), on rows that all
                // three kernel rows reach.
                const bool run = dx_hi > dx_lo && ny == 3;
                for (std::size_t ix = 0; ix < (run ? dx_lo : g.w); ++ix) gather(ix);
                if (!run) continue;
                depthwise_run3x3(c, dyi + (oy_lo * g.ow + dx_lo + g.pad_left - 2) * c, dy_row,
                                 std::ptrdiff_t(c), std::ptrdiff_t(c), wv + 8 * c, w_row, w_col,
                                 dx_hi - dx_lo, dxi + (iy * g.w + dx_lo) * c, dx_added);
                for (std::size_t ix = dx_hi; ix < g.w; ++ix) gather(ix);
              }
            }
            if (!w->requires_grad) continue;
            // dw[tap] += Σ x·dy over the outputs whose tap lands inside the image: per output
            // row and tap, one run of outputs summed in registers (the row's inputs and dy stay
            // in cache across its taps) instead of loading and storing dw per output and tap.
            // On rows that all three kernel rows reach, outputs [lo, hi) go in one call with the
            // nine taps' sums in registers, and the tap-by-tap runs skip them.
            for (std::size_t oy = 0; oy < g.oh; ++oy) {
              std::size_t ky0, ky1;
              valid_taps(g.first_row(oy), g.kh, g.h, ky0, ky1);
              const bool run = hi > lo && ky1 - ky0 == 3;
              const std::size_t skip_lo = run ? lo : g.ow, skip_hi = run ? hi : g.ow;
              if (run)
                depthwise_kernel_grad_run3x3(
                    c, xi + (std::size_t(g.first_row(oy)) * g.w + std::size_t(g.first_col(lo))) * c,
                    std::ptrdiff_t(g.w * c), std::ptrdiff_t(g.sw * c), dyi + (oy * g.ow + lo) * c,
                    std::ptrdiff_t(g.ow * c), hi - lo, dw);
              for (std::size_t ky = ky0; ky < ky1; ++ky) {
                const std::size_t iy = std::size_t(g.first_row(oy) + long(ky));
                for (std::size_t kx = 0; kx < g.kw; ++kx) {
                  std::size_t ox0, ox1;
                  outputs_for_tap(kx, g.pad_left, g.sw, g.w, g.ow, ox0, ox1);
                  T* dwt = dw + (ky * g.kw + kx) * c;
                  const auto dot = [&](std::size_t a, std::size_t b) {
                    if (b > a)
                      depthwise_dot(c, xi + (iy * g.w + a * g.sw + kx - g.pad_left) * c,
                                    std::ptrdiff_t(g.sw * c), dyi + (oy * g.ow + a) * c, b - a, dwt);
                  };
                  dot(ox0, std::min(ox1, skip_lo));
                  dot(std::max(ox0, skip_hi), ox1);
                }
              }
            }
          }
        });
    if (x->requires_grad) x->grad_written = true;
    if (w->requires_grad) reduce_partials(*ws, 1, threads, taps * c, *w);
  }
};


/// The geometry of convolving NHWC input `x` with a (KH, KW, C, F) kernel (F = 1 for
/// `depthwise`); ShapeError naming both shapes when they do not fit.
inline WindowGeometry conv_geometry(const char* op, const Shape& x, const Shape& ks, bool depthwise,
                                    std::size_t sh, std::size_t sw, Padding padding) {
  require<ShapeError>(ks.rank() == 4 && (!depthwise || ks[3] == 1), op, ": kernel must be ",
                      depthwise ? "(KH, KW, C, 1)" : "(KH, KW, C, F)", ", got ", ks);
  const WindowGeometry g = window_geometry(op, x, ks[0], ks[1], sh, sw, padding);
  require<ShapeError>(ks[2] == g.c, op, ": kernel ", ks, " does not match the ", g.c,
                      " channels of input ", x);
  return g;
}

/// y (N, OH, OW, F) = conv(x, w) + b (b null: none): the forward pass of conv2d(), shared by
/// the tape and tape-free inference. im2col columns come from `ws`. Given `sums`, a 1x1 stride-1
/// convolution adds up its output's per-channel Σy and Σy² block by block as the product
/// finishes each (in cache), and combines them; other convolutions do not touch `sums`.
template <class T>
void conv2d_forward(const WindowGeometry& g, std::size_t f, const T* x, const T* w, const T* b,
                    Workspace<T>& ws, T* y, ChannelSums<T>* sums = nullptr) {
  const std::size_t rows = g.oh * g.ow, k = g.kh * g.kw * g.c;  // k: the pointwise path only
  if (b) seed_rows_with_bias(y, b, g.n * rows, f);
  const T beta = b ? T(1) : T(0);
  if (is_pointwise(g)) {
    if (!sums) return gemm(Trans::no, Trans::no, g.n * rows, f, k, T(1), x, k, w, f, beta, y, f);
    sums->start(f);
    gemm_then(Trans::no, Trans::no, g.n * rows, f, k, T(1), x, k, w, f, beta, y, f,
              [&](std::size_t i0, std::size_t i1, std::size_t j0, std::size_t j1) {
                sums->add_values(y, i0, i1, j0, j1);
              });
    sums->combine();
    return;
  }
  const TapPlan p = plan_taps(g);
  const std::size_t image = g.h * g.w * g.c, chunk = images_per_chunk(g, p), kr = p.row();
  ws.reserve_threads(std::size_t(max_threads()));
  parallel_for(g.n, [&](std::size_t first, std::size_t end, std::size_t t) {
    for (std::size_t i = first; i < end; i += chunk) {
      const std::size_t m = std::min(chunk, end - i);
      T* cols = ws.buffer(t, 0, m * rows * kr);
      for (std::size_t j = 0; j < m; ++j) im2col(g, p, x + (i + j) * image, cols + j * rows * kr);
      T block_beta = beta;  // the first block writes (or adds to the bias), later ones add
      p.for_each_block([&](std::size_t col, std::size_t krow, std::size_t width) {
        gemm_serial(Trans::no, Trans::no, m * rows, f, width, T(1), cols + col, kr,
                    w + krow * f, f, block_beta, y + i * rows * f, f);
        block_beta = T(1);
      });
    }
  });
}

/// y (N, OH, OW, C) = depthwise conv(x, w): the forward pass of depthwise_conv2d(), shared by
/// the tape and tape-free inference. Split over output rows (of any image), not images, so a
/// batch of one uses every thread; each output is the same sum whatever the split. Given
/// `sums`, each output row's per-channel Σy and Σy² are added up while it is in cache.
template <class T>
void depthwise_conv2d_forward(const WindowGeometry& g, const T* x, const T* w, T* y,
                              ChannelSums<T>* sums = nullptr) {
  const std::size_t c = g.c;
  if (sums) sums->start(c);
  parallel_for(g.n * g.oh, [&](std::size_t first, std::size_t end, std::size_t) {
    const std::ptrdiff_t x_row(g.w * c), w_row(g.kw * c);
    // A 3x3 window wholly inside the input: on rows whose three taps all do, the outputs
    // [lo, hi) go in one call.
    std::size_t lo = 0, hi = 0;
    if (g.kh == 3 && g.kw == 3) full_windows(g.pad_left, g.sw, 3, g.w, g.ow, min_run, lo, hi);
    for (std::size_t row = first; row < end; ++row) {
      const std::size_t i = row / g.oh, oy = row % g.oh;
      std::size_t ky0, ky1;
      valid_taps(g.first_row(oy), g.kh, g.h, ky0, ky1);
      T* out_row = y + row * g.ow * c;
      const auto output = [&](std::size_t ox) {
        std::size_t kx0, kx1;
        valid_taps(g.first_col(ox), g.kw, g.w, kx0, kx1);
        const std::size_t iy = std::size_t(g.first_row(oy) + long(ky0));
        const std::size_t ix = std::size_t(g.first_col(ox) + long(kx0));
        const T* xp = x + ((i * g.h + iy) * g.w + ix) * c;
        const T* wp = w + (ky0 * g.kw + kx0) * c;
        with_constant_window(ky1 - ky0, kx1 - kx0, [&](auto rows, auto cols) {
          depthwise_sum(c, xp, x_row, std::ptrdiff_t(c), wp, w_row, std::ptrdiff_t(c), rows, cols,
                        out_row + ox * c, false);
        });
      };
      const bool run = hi > lo && ky1 - ky0 == 3;
      for (std::size_t ox = 0; ox < (run ? lo : g.ow); ++ox) output(ox);
      if (run) {
        depthwise_run3x3(c, x + ((i * g.h + std::size_t(g.first_row(oy))) * g.w +
                                 std::size_t(g.first_col(lo))) * c,
                         x_row, std::ptrdiff_t(c), std::ptrdiff_t(g.sw * c), w, w_row,
                         std::ptrdiff_t(c), hi - lo, out_row + lo * c, false);
        for (std::size_t ox = hi; ox < g.ow; ++ox) output(ox);
      }
      if (sums) sums->add_values(y, row * g.ow, (row + 1) * g.ow, 0, c);
    }
  }, items_per_grain(9 * g.ow * c));
  if (sums) sums->combine();
}

}  // namespace detail

/// Convolution of NHWC `x` with a (KH, KW, C, F) kernel `w` and strides (sh, sw), plus an
/// optional bias `b` (F); `l2` > 0 adds the gradient 2·l2·w of Keras's kernel regulariser
/// l2·Σw² (the penalty itself is not added to the loss value).
template <class T>
Var<T> conv2d(Var<T> x, Var<T> w, Var<T> b, std::size_t sh, std::size_t sw, Padding padding,
              Context<T>& ctx, T l2 = T(0)) {
  const WindowGeometry g =
      detail::conv_geometry("conv2d", x.shape(), w.shape(), false, sh, sw, padding);
  const std::size_t f = w.shape()[3];
  if (b)
    require<ShapeError>(b.shape().rank() == 1 && b.shape()[0] == f, "conv2d: bias ", b.shape(),
                        " does not match ", f, " filters");
  Tape<T>& tape = detail::tape_of({x, w});
  auto& op = tape.template record<detail::Conv2dOp<T>>();
  op.x = x.node();
  op.w = w.node();
  op.b = b ? b.node() : nullptr;
  op.g = g;
  op.filters = f;
  op.l2 = l2;
  op.ws = ctx.shared_workspace();
  op.requires_grad = x.requires_grad() || w.requires_grad() || (b && b.requires_grad());
  op.value.resize(Shape{g.n, g.oh, g.ow, f});
  op.output_sums.clear();
  detail::conv2d_forward(g, f, x.value().data(), w.value().data(), b ? b.value().data() : nullptr,
                         *op.ws, op.value.data(), ctx.training() ? &op.output_sums : nullptr);
  return Var<T>(&op, &tape);
}

/// Depthwise convolution (depth multiplier 1) of NHWC `x` with a (KH, KW, C, 1) kernel.
template <class T>
Var<T> depthwise_conv2d(Var<T> x, Var<T> w, std::size_t sh, std::size_t sw, Padding padding,
                        Context<T>& ctx) {
  const WindowGeometry g =
      detail::conv_geometry("depthwise_conv2d", x.shape(), w.shape(), true, sh, sw, padding);
  Tape<T>& tape = detail::tape_of({x, w});
  auto& op = tape.template record<detail::DepthwiseConv2dOp<T>>();
  op.x = x.node();
  op.w = w.node();
  op.g = g;
  op.ws = ctx.shared_workspace();
  op.requires_grad = x.requires_grad() || w.requires_grad();
  op.value.resize(Shape{g.n, g.oh, g.ow, g.c});
  op.output_sums.clear();
  detail::depthwise_conv2d_forward(g, x.value().data(), w.value().data(), op.value.data(),
                                   ctx.training() ? &op.output_sums : nullptr);
  return Var<T>(&op, &tape);
}

}  // namespace resilinet
