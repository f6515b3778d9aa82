#pragma once
/// \file
/// TapedPass<T>: the forward pass of a Partition recorded on the tape — training (with
/// failout) and taped inference under a failure mask.
///
/// Every pass records the same sequence of ops whatever failout draws (the output of a node
/// with failout always goes through mask_rows, every link of weight ≠ 1 through its weight),
/// so a training step reuses every tape node and allocates nothing.

#include <cstdint>
#include <vector>

#include "resilinet/autodiff/elementwise_ops.hpp"
#include "resilinet/autodiff/row_ops.hpp"
#include "resilinet/autodiff/shape_ops.hpp"
#include "resilinet/resilience/partition.hpp"

namespace resilinet {

/// True when a batch's main tensor does not sum to exactly 0: MergeRule::mux_batch_sum's test,
/// the same in both executions.
template <class T>
bool batch_sum_nonzero(TensorView<const T> main_value) {
  T total = T(0);
  for (T v : main_value) total += v;
  return total != T(0);
}

/// The taped forward pass over a partition; keeps its per-pass scratch between passes.
template <class T>
class TapedPass {
 public:
  /// Records the pass and returns the network's answer: with `mask` (failure order) the
  /// failable nodes fail as it says and failout is not applied, and when no information flows
  /// to the output the answering exit's logits are returned (Partition::answering_exit);
  /// without it failout draws from ctx.rng() when training and every node is alive when
  /// inferring. Every exit head reads its node's output as computed, before failout masks it.
  Var<T> run(Partition<T>& p, Var<T> x, const FailureMask* mask, Context<T>& ctx) {
    const std::size_t batch = x.shape().rank() ? x.shape()[0] : 1;
    outputs_.assign(p.nodes().size(), Var<T>());
    exit_outputs_.assign(p.exits().size(), Var<T>());
    alive_.resize(p.nodes().size());
    for (std::size_t n = 0; n < p.nodes().size(); ++n) {
      PhysicalNode<T>& node = *p.nodes()[n];
      outputs_[n] = node.layers.forward(node_input(p, n, x, ctx), ctx);
      for (std::size_t e = 0; e < p.exits().size(); ++e)
        if (p.exits()[e].node == n) exit_outputs_[e] = p.exits()[e].head->forward(outputs_[n], ctx);
      alive_[n].assign(batch, 1);
      if (!node.failable) continue;
      if (mask)
        alive_[n].assign(batch, p.node_alive(*mask, n));
      else if (ctx.training())
        node.failout.sample(ctx.rng(), batch, alive_[n], ctx.shard());
      // Without a mask, a node whose survival rate is 1 is alive in every pass: nothing to mask.
      if (mask || (ctx.training() && node.failout.survival_rate() < 1))
        outputs_[n] = mask_rows(outputs_[n], alive_[n]);
    }
    const std::size_t answering = mask ? p.answering_exit(*mask) : Partition<T>::npos;
    return answering == Partition<T>::npos ? outputs_.back() : exit_outputs_[answering];
  }

  /// The logits of every exit head in the last pass (Partition::exits order).
  const std::vector<Var<T>>& exit_outputs() const { return exit_outputs_; }

 private:
  /// The weighted (and transformed) value a link delivers.
  Var<T> link_value(const Link<T>& l, Context<T>& ctx) {
    Var<T> v = outputs_[l.from];
    if (l.transform) v = l.transform->forward(v, ctx);
    return l.weight == 1.0 ? v : multiply(v, T(l.weight));
  }

  /// Combines one mux group: the main link `m` and the skips that joined it.
  Var<T> merge_group(const Partition<T>& p, std::size_t m, Context<T>& ctx) {
    const Link<T>& main = p.links()[m];
    Var<T> main_value = link_value(main, ctx);
    Var<T> skips;
    for (std::size_t l : p.nodes()[main.to]->inputs) {
      if (p.links()[l].kind != LinkKind::skip || p.links()[l].group != m) continue;
      Var<T> s = link_value(p.links()[l], ctx);
      skips = skips ? add(skips, s) : s;
    }
    if (!skips) return main_value;
    switch (p.effective_rule(ctx.training())) {
      case MergeRule::mux:
        return select_rows(alive_[main.from], main_value, skips);
      case MergeRule::mux_batch_sum:
        flags_.assign(main_value.shape()[0], std::uint8_t(batch_sum_nonzero<T>(main_value.value())));
        return select_rows(flags_, main_value, skips);
      default:
        return add(main_value, skips);
    }
  }

  /// The merged input of node `n` (the network input or its slots for an input node).
  Var<T> node_input(const Partition<T>& p, std::size_t n, Var<T> x, Context<T>& ctx) {
    const PhysicalNode<T>& node = *p.nodes()[n];
    Var<T> input;
    if (node.inputs.empty() && node.input_slots.empty()) input = x;
    for (std::size_t slot : node.input_slots) {
      Var<T> v = take(x, 1, slot);
      input = input ? add(input, v) : v;
    }
    for (std::size_t l : node.inputs) {
      if (p.links()[l].kind != LinkKind::main) continue;
      Var<T> g = merge_group(p, l, ctx);
      input = input ? add(input, g) : g;
    }
    return input;
  }

  std::vector<Var<T>> outputs_;
  std::vector<Var<T>> exit_outputs_;
  std::vector<RowFlags> alive_;
  RowFlags flags_;
};

}  // namespace resilinet
