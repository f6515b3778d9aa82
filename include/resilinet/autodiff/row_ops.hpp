#pragma once
/// \file
/// Per-example ops on the leading (batch) axis: mask_rows and select_rows.
///
/// They carry failure: a failed node's rows are zeroed (mask_rows), and an input mux takes
/// each example from the main or the skip path (select_rows). Flags are one byte per example.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "resilinet/autodiff/tape.hpp"
#include "resilinet/core/threads.hpp"

namespace resilinet {

/// One flag per example (row): 1 = keep / alive / take the first input, 0 = the other.
using RowFlags = std::vector<std::uint8_t>;

namespace detail {

/// Throws unless `flags` has one entry per row of `x`.
template <class T>
void require_row_flags(const char* op, Var<T> x, const RowFlags& flags) {
  require<ShapeError>(x.shape().rank() >= 1 && x.shape()[0] == flags.size(), op, ": ",
                      flags.size(), " row flags for a tensor of shape ", x.shape());
}

/// Adds the rows of g (w values each) whose flag equals `pass` into dst's gradient and
/// zero for the others (assigning for the first writer), a row at a time.
template <class T>
void add_rows_grad(Node<T>& dst, const T* g, const RowFlags& flags, std::uint8_t pass,
                   std::size_t w) {
  T* d = dst.grad.data();
  const bool added = dst.grad_written;
  parallel_for_each(
      flags.size(),
      [&](std::size_t i) {
        T* di = d + i * w;
        const T* gi = g + i * w;
        if ((flags[i] != 0) == (pass != 0)) {
          if (added)
            for (std::size_t j = 0; j < w; ++j) di[j] += gi[j];
          else
            std::copy_n(gi, w, di);
        } else if (!added) {
          std::fill_n(di, w, T(0));
        }
      },
      items_per_grain(w));
  dst.grad_written = true;
}

/// y_i = keep_i ? x_i : 0.
template <class T>
struct MaskRowsOp : Node<T> {
  Node<T>* x = nullptr;
  RowFlags keep;
  void backward() override { add_rows_grad(*x, this->grad.data(), keep, 1, this->value.shape().row_size()); }
};

/// y_i = first_i ? a_i : b_i.
template <class T>
struct SelectRowsOp : Node<T> {
  Node<T>* a = nullptr;
  Node<T>* b = nullptr;
  RowFlags first;
  void backward() override {
    const std::size_t w = this->value.shape().row_size();
    if (a->requires_grad) add_rows_grad(*a, this->grad.data(), first, 1, w);
    if (b->requires_grad) add_rows_grad(*b, this->grad.data(), first, 0, w);
  }
};

}  // namespace detail

/// Zeroes every example whose flag is 0; kept examples pass unchanged (no rescaling).
template <class T>
Var<T> mask_rows(Var<T> x, const RowFlags& keep) {
  detail::require_row_flags("mask_rows", x, keep);
  Tape<T>& tape = detail::tape_of({x});
  auto& op = tape.template record<detail::MaskRowsOp<T>>();
  op.x = x.node();
  op.keep = keep;
  op.requires_grad = x.requires_grad();
  op.value.resize(x.shape());
  const std::size_t w = x.shape().row_size();
  const T* xv = x.value().data();
  T* y = op.value.data();
  parallel_for_each(
      keep.size(),
      [&](std::size_t i) {
        if (keep[i])
          std::copy_n(xv + i * w, w, y + i * w);
        else
          std::fill_n(y + i * w, w, T(0));
      },
      items_per_grain(w));
  return Var<T>(&op, &tape);
}

/// Takes each example from `a` where its flag is 1 and from `b` where it is 0 (same shapes).
template <class T>
Var<T> select_rows(const RowFlags& first, Var<T> a, Var<T> b) {
  require<ShapeError>(a.shape() == b.shape(), "select_rows: shapes ", a.shape(), " and ",
                      b.shape(), " differ");
  detail::require_row_flags("select_rows", a, first);
  Tape<T>& tape = detail::tape_of({a, b});
  auto& op = tape.template record<detail::SelectRowsOp<T>>();
  op.a = a.node();
  op.b = b.node();
  op.first = first;
  op.requires_grad = a.requires_grad() || b.requires_grad();
  op.value.resize(a.shape());
  const std::size_t w = a.shape().row_size();
  parallel_for_each(
      first.size(),
      [&](std::size_t i) {
        std::copy_n((first[i] ? a : b).value().data() + i * w, w, op.value.data() + i * w);
      },
      items_per_grain(w));
  return Var<T>(&op, &tape);
}

}  // namespace resilinet
