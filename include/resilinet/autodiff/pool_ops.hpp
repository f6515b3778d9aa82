#pragma once
/// \file
/// Window and border ops on NHWC tensors: max_pool2d, global_average_pool2d, zero_pad2d.
///
/// Shape letters as in conv_ops.hpp: N batch, H/W height/width, C channels, OH/OW output.

#include <cstdint>
#include <limits>
#include <vector>

#include "resilinet/autodiff/conv_ops.hpp"
#include "resilinet/autodiff/tape.hpp"
#include "resilinet/core/threads.hpp"

namespace resilinet {
namespace detail {

/// y = the maximum of each window; remembers where each maximum came from.
template <class T>
struct MaxPoolOp : Node<T> {
  Node<T>* x = nullptr;
  WindowGeometry g;
  std::vector<std::uint32_t> argmax;  // per output element: the input offset within its image
  void backward() override {
    const std::size_t in_image = g.h * g.w * g.c, out_image = g.oh * g.ow * g.c;
    const bool added = x->grad_written;
    const T* dy = this->grad.data();
    parallel_for(g.n, [&](std::size_t first, std::size_t end, std::size_t) {
      for (std::size_t i = first; i < end; ++i) {
        T* dx = x->grad.data() + i * in_image;
        if (!added) std::fill_n(dx, in_image, T(0));
        for (std::size_t o = 0; o < out_image; ++o)
          dx[argmax[i * out_image + o]] += dy[i * out_image + o];
      }
    });
    x->grad_written = true;
  }
};

/// y (N, C) = the mean over H and W of x (N, H, W, C).
template <class T>
struct GlobalAveragePoolOp : Node<T> {
  Node<T>* x = nullptr;
  std::size_t pixels = 0, channels = 0;
  void backward() override {
    const T* dy = this->grad.data();
    const T scale = T(1) / T(pixels);
    const std::size_t c = channels, image = pixels * c;
    add_grad_with(*x, x->value.size(),
                  [&](std::size_t j) { return dy[(j / image) * c + j % c] * scale; });
  }
};

/// y = x with zero rows/columns added around H and W.
template <class T>
struct ZeroPadOp : Node<T> {
  Node<T>* x = nullptr;
  std::size_t n = 0, h = 0, w = 0, c = 0, top = 0, left = 0, oh = 0, ow = 0;
  void backward() override {
    const bool added = x->grad_written;
    const T* dy = this->grad.data();
    T* dx = x->grad.data();
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t y = 0; y < h; ++y) {
        const T* src = dy + ((i * oh + y + top) * ow + left) * c;
        T* dst = dx + (i * h + y) * w * c;
        if (added)
          for (std::size_t k = 0; k < w * c; ++k) dst[k] += src[k];
        else
          std::copy_n(src, w * c, dst);
      }
    x->grad_written = true;
  }
};

}  // namespace detail

/// Max over KH×KW windows with strides (sh, sw); with Padding::same the padded cells are
/// ignored (never the maximum). Ties go to the first cell in row-major window order.
template <class T>
Var<T> max_pool2d(Var<T> x, std::size_t kh, std::size_t kw, std::size_t sh, std::size_t sw,
                  Padding padding) {
  const WindowGeometry g = window_geometry("max_pool2d", x.shape(), kh, kw, sh, sw, padding);
  require<ShapeError>(g.h * g.w * g.c <= std::numeric_limits<std::uint32_t>::max(),
                      "max_pool2d: image of shape ", x.shape(), " too large");
  Tape<T>& tape = detail::tape_of({x});
  auto& op = tape.template record<detail::MaxPoolOp<T>>();
  op.x = x.node();
  op.g = g;
  op.requires_grad = x.requires_grad();
  op.value.resize(Shape{g.n, g.oh, g.ow, g.c});
  op.argmax.resize(op.value.size());
  const T* xv = x.value().data();
  T* y = op.value.data();
  std::uint32_t* arg = op.argmax.data();
  const std::size_t c = g.c;
  parallel_for(g.n, [&](std::size_t first, std::size_t end, std::size_t) {
    for (std::size_t i = first; i < end; ++i) {
      const T* xi = xv + i * g.h * g.w * c;
      for (std::size_t oy = 0; oy < g.oh; ++oy)
        for (std::size_t ox = 0; ox < g.ow; ++ox) {
          const std::size_t o = ((i * g.oh + oy) * g.ow + ox) * c;
          std::fill_n(y + o, c, -std::numeric_limits<T>::infinity());
          g.for_each_tap(oy, ox, [&](std::size_t, std::size_t at) {
            for (std::size_t ch = 0; ch < c; ++ch)
              if (xi[at + ch] > y[o + ch]) {
                y[o + ch] = xi[at + ch];
                arg[o + ch] = std::uint32_t(at + ch);
              }
          });
        }
    }
  });
  return Var<T>(&op, &tape);
}

/// The mean over H and W: (N, H, W, C) → (N, C).
template <class T>
Var<T> global_average_pool2d(Var<T> x) {
  const Shape& s = x.shape();
  require<ShapeError>(s.rank() == 4 && s[1] * s[2] > 0,
                      "global_average_pool2d: needs a non-empty NHWC input, got ", s);
  Tape<T>& tape = detail::tape_of({x});
  auto& op = tape.template record<detail::GlobalAveragePoolOp<T>>();
  op.x = x.node();
  op.pixels = s[1] * s[2];
  op.channels = s[3];
  op.requires_grad = x.requires_grad();
  op.value.resize(Shape{s[0], s[3]});
  const T* xv = x.value().data();
  T* y = op.value.data();
  const T scale = T(1) / T(op.pixels);
  for (std::size_t i = 0; i < s[0]; ++i) {
    T* out = y + i * s[3];
    std::fill_n(out, s[3], T(0));
    for (std::size_t p = 0; p < op.pixels; ++p) {
      const T* in = xv + (i * op.pixels + p) * s[3];
      for (std::size_t c = 0; c < s[3]; ++c) out[c] += in[c];
    }
    for (std::size_t c = 0; c < s[3]; ++c) out[c] *= scale;
  }
  return Var<T>(&op, &tape);
}

/// x (N, H, W, C) with `top`/`bottom` zero rows and `left`/`right` zero columns added.
template <class T>
Var<T> zero_pad2d(Var<T> x, std::size_t top, std::size_t bottom, std::size_t left,
                  std::size_t right) {
  const Shape& s = x.shape();
  require<ShapeError>(s.rank() == 4, "zero_pad2d: needs an NHWC input of rank 4, got ", s);
  Tape<T>& tape = detail::tape_of({x});
  auto& op = tape.template record<detail::ZeroPadOp<T>>();
  op.x = x.node();
  op.n = s[0], op.h = s[1], op.w = s[2], op.c = s[3];
  op.top = top, op.left = left;
  op.oh = s[1] + top + bottom, op.ow = s[2] + left + right;
  op.requires_grad = x.requires_grad();
  op.value.resize(Shape{op.n, op.oh, op.ow, op.c});
  const T* xv = x.value().data();
  const std::size_t c = op.c, row = op.ow * c;
  for (std::size_t i = 0; i < op.n; ++i) {
    T* img = op.value.data() + i * op.oh * row;
    std::fill_n(img, top * row, T(0));                              // rows above
    std::fill_n(img + (top + op.h) * row, bottom * row, T(0));      // rows below
    for (std::size_t y = 0; y < op.h; ++y) {
      T* out = img + (y + top) * row;
      std::fill_n(out, left * c, T(0));
      std::copy_n(xv + (i * op.h + y) * op.w * c, op.w * c, out + left * c);
      std::fill_n(out + (left + op.w) * c, right * c, T(0));
    }
  }
  return Var<T>(&op, &tape);
}

}  // namespace resilinet
