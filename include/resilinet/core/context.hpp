#pragma once
/// \file
/// Context<T>: what a forward pass needs besides its input (mode, randomness, scratch memory).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/core/large_page_allocator.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/core/threads.hpp"

namespace resilinet {

/// Whether a forward pass trains (failout, dropout and batch statistics act) or infers.
enum class Mode { infer, train };

/// Scratch memory reused across steps: per thread, a few growable buffers ("slots"), so
/// kernels that need temporary space (im2col columns, per-thread partial gradients) allocate
/// only until they have seen their largest shape.
///
/// Kernels use it in forward and backward; ops that need it in backward share its ownership
/// (Context::shared_workspace), so the Context that recorded them may go first.
template <class T>
class Workspace {
 public:
  /// Buffers per thread.
  static constexpr std::size_t slots = 4;

  /// At least `n` elements of scratch in `slot` of thread `thread` (contents undefined).
  /// Call reserve_threads() before handing out buffers inside a parallel region.
  T* buffer(std::size_t thread, std::size_t slot, std::size_t n) {
    require(thread < buffers_.size() && slot < slots, "Workspace::buffer: thread ", thread,
            " slot ", slot, " outside ", buffers_.size(), " prepared threads x ", slots,
            " slots (call reserve_threads first)");
    LargePageVector<T>& b = buffers_[thread][slot];
    if (b.size() < n) b.resize(n);
    return b.data();
  }

  /// Makes buffers available for threads 0..threads−1.
  void reserve_threads(std::size_t threads) {
    if (buffers_.size() < threads) buffers_.resize(threads);
  }

 private:
  std::vector<std::array<LargePageVector<T>, slots>> buffers_;
};

/// The rows of a global batch one process computes in data-parallel training (fit() with a
/// Collective). Random layers draw for the whole global batch, the same stream in every
/// process, and keep their rows: N processes draw exactly what one process draws.
struct Shard {
  /// First row of the global batch computed here.
  std::size_t offset = 0;
  /// Rows in the global batch; 0 when the batch is not sharded.
  std::size_t global = 0;

  /// Draws from `rng` for a batch of `rows` local rows of `per_row` values each: discards the
  /// draws of the rows before this shard, calls `draw(i)` for local value i, then discards
  /// the draws of the rows after it.
  template <class Draw>
  void draw(Rng& rng, std::size_t rows, std::size_t per_row, Draw&& draw_one) const {
    require<ShapeError>(global == 0 || offset + rows <= global, "Shard: rows ", offset, "+", rows,
                        " outside a global batch of ", global);
    const std::size_t before = global ? offset * per_row : 0;
    const std::size_t after = global ? (global - offset - rows) * per_row : 0;
    for (std::size_t i = 0; i < before; ++i) rng.next_u64();
    for (std::size_t i = 0; i < rows * per_row; ++i) draw_one(i);
    for (std::size_t i = 0; i < after; ++i) rng.next_u64();
  }
};

/// The state a forward pass reads besides its input: the mode, the generator that failout
/// and dropout draw from, and scratch memory. One context serves a whole training run, so its
/// generator's stream (and therefore every draw) follows from its seed.
template <class T>
class Context {
 public:
  /// Creates a context in `mode` whose generator is seeded with `seed`.
  explicit Context(Mode mode = Mode::infer, std::uint64_t seed = 0)
      : mode_(mode), rng_(seed), workspace_(std::make_shared<Workspace<T>>()) {
    workspace_->reserve_threads(std::size_t(max_threads()));
  }

  /// A copy with the same mode, generator state and shard, and scratch memory of its own.
  Context(const Context& other)
      : mode_(other.mode_), rng_(other.rng_), shard_(other.shard_),
        workspace_(std::make_shared<Workspace<T>>()) {}

  /// Takes `other`'s mode, generator state and shard; keeps its own scratch memory.
  Context& operator=(const Context& other) {
    mode_ = other.mode_;
    rng_ = other.rng_;
    shard_ = other.shard_;
    return *this;
  }

  /// Whether layers behave as in training.
  bool training() const { return mode_ == Mode::train; }

  /// The current mode.
  Mode mode() const { return mode_; }

  /// Switches between training and inference.
  void set_mode(Mode mode) { mode_ = mode; }

  /// The generator every random layer of the pass draws from.
  Rng& rng() { return rng_; }

  /// The rows of the global batch this process computes (data-parallel training).
  const Shard& shard() const { return shard_; }
  /// Sets the rows of the global batch this process computes; fit() sets it every step.
  void set_shard(const Shard& shard) { shard_ = shard; }
  /// Scratch memory for kernels.
  Workspace<T>& workspace() { return *shared_workspace(); }
  /// The scratch memory as a shared handle, for ops that use it again in backward.
  const std::shared_ptr<Workspace<T>>& shared_workspace() {
    workspace_->reserve_threads(std::size_t(max_threads()));
    return workspace_;
  }

 private:
  Mode mode_;
  Rng rng_;
  Shard shard_;
  std::shared_ptr<Workspace<T>> workspace_;
};

}  // namespace resilinet
