#pragma once
/// \file
/// Threads: one pool behind one knob, set_num_threads(); BLAS always runs on one thread inside
/// it, so two pools never fight over the same cores.
///
/// The pool's threads sleep between parallel loops (after polling for the next one for at most
/// poll_time), and the calling thread runs every part of a loop that no pool thread has started
/// yet, so on a machine busy with other work a loop costs about what it costs on one thread
/// instead of waiting for threads the operating system has not scheduled.

#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <Eigen/Core>

#include "resilinet/core/error.hpp"

namespace resilinet {
namespace detail {

/// Pins OpenBLAS and Eigen to one thread each (found at runtime so another BLAS still links).
inline void single_threaded_blas() {
  using SetFn = void (*)(int);
  Eigen::setNbThreads(1);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(1);
}

/// The CPUs this process may run on (its affinity mask, so `taskset` and container limits count).
inline int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

/// The pool size; the first use also pins BLAS to one thread.
inline int& pool_size() {
  static int size = [] {
    single_threaded_blas();
    return available_cpus();
  }();
  return size;
}

/// Tells the core this thread is polling (x86's pause; nothing elsewhere).
inline void pause_once() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// The part of a parallel loop the calling thread runs (0 outside any loop).
inline thread_local std::size_t current_part = 0;
/// Whether the calling thread is running a part of a parallel loop.
inline thread_local bool in_part = false;
/// Set on threads that must not start parallel loops of their own (see SerialScope).
inline thread_local bool serial_thread = false;

/// How long a thread polls before it sleeps on a condition variable: a pool thread for the next
/// loop, a caller for the pool thread's last part. Waking a sleeping thread costs 6–17 µs on a
/// virtualised host, more than most gaps between a training step's loops; longer gaps cost
/// at most this much CPU time per loop.
inline constexpr std::chrono::microseconds poll_time{50};

/// Polls done() (pausing between polls) until it holds or poll_time has passed.
template <class P>
void poll_briefly(P&& done) {
  const auto end = std::chrono::steady_clock::now() + poll_time;
  while (!done()) {
    for (int i = 0; i < 16; ++i) pause_once();
    if (std::chrono::steady_clock::now() > end) return;
  }
}

/// One parallel loop: `parts` calls of run(body, part), claimed in order by whichever thread
/// comes first.
struct Loop {
  void (*run)(void*, std::size_t) = nullptr;
  void* body = nullptr;
  std::size_t parts = 0;
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;  // the first part's exception, guarded by the pool's mutex
};

/// Threads that sleep on a condition variable until a loop is posted, claim its parts, and
/// go back to sleep. One loop runs at a time; a caller that finds the pool taken runs its loop
/// on its own thread, part by part, which gives the same results.
class ThreadPool {
 public:
  /// The process's pool.
  static ThreadPool& instance() {
    static ThreadPool pool;
    return pool;
  }

  /// Runs loop.run(loop.body, p) for every part p in [0, loop.parts), on the calling thread and
  /// up to parts − 1 pool threads; rethrows the first exception a part threw.
  void run(Loop& loop) {
    std::unique_lock<std::mutex> taken(busy_, std::try_to_lock);
    if (!taken.owns_lock()) {
      run_parts(loop);
      rethrow(loop);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (workers_.size() + 1 < loop.parts) workers_.emplace_back([this] { work(); });
      loop_ = &loop;
      ++generation_;
    }
    for (std::size_t i = 1; i < loop.parts; ++i) wake_.notify_one();
    run_parts(loop);
    poll_briefly([&] { return joined_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return joined_ == 0; });
    loop_ = nullptr;
    lock.unlock();
    rethrow(loop);
  }

  /// Stops and joins the pool's threads.
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

 private:
  ThreadPool() = default;

  // Claims and runs parts until none is left; records the first exception.
  void run_parts(Loop& loop) {
    const std::size_t part_before = current_part;
    const bool in_before = in_part;
    in_part = true;
    for (std::size_t p; (p = loop.next.fetch_add(1)) < loop.parts;) {
      current_part = p;
      try {
        loop.run(loop.body, p);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!loop.error) loop.error = std::current_exception();
      }
    }
    current_part = part_before;
    in_part = in_before;
  }

  static void rethrow(const Loop& loop) {
    if (loop.error) std::rethrow_exception(loop.error);
  }

  // A pool thread: sleeps until a loop is posted, helps with it, reports when it is done, and
  // polls briefly for the next loop before sleeping again.
  void work() {
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (loop_ == nullptr) continue;
      Loop& loop = *loop_;
      ++joined_;
      lock.unlock();
      run_parts(loop);
      lock.lock();
      if (--joined_ == 0) done_.notify_one();
      lock.unlock();
      poll_briefly([&] { return generation_.load(std::memory_order_acquire) != seen; });
      lock.lock();
    }
  }

  std::mutex busy_;   // held by the thread whose loop the pool runs
  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  Loop* loop_ = nullptr;
  std::atomic<std::uint64_t> generation_{0};  // written under mutex_, polled without it
  std::atomic<std::size_t> joined_{0};        // pool threads working on loop_; the same
  bool stop_ = false;
};

}  // namespace detail

/// Number of threads resilinet's kernels use (the CPUs this process may run on by default).
inline int max_threads() { return detail::pool_size(); }

/// Sets the number of threads of every kernel (≥ 1).
inline void set_num_threads(int threads) {
  require(threads >= 1, "set_num_threads: threads must be at least 1, got ", threads);
  detail::pool_size() = threads;
}

/// Index of the part of a parallel_for the calling thread runs (0 outside): a slot for
/// per-part scratch that no other part uses at the same time.
inline std::size_t thread_index() { return detail::current_part; }

/// While alive, kernels called on this thread run serially: a background thread (a batch
/// prefetcher) uses it so that it never competes with the main thread for the pool.
class SerialScope {
 public:
  /// Marks the calling thread serial.
  SerialScope() : was_(detail::serial_thread) { detail::serial_thread = true; }
  /// Restores the previous state.
  ~SerialScope() { detail::serial_thread = was_; }
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  bool was_;
};

/// Whether work started here must stay on the calling thread: inside a parallel_for (nested
/// work) or inside a SerialScope.
inline bool in_parallel() { return detail::in_part || detail::serial_thread; }

/// Values an element-wise pass needs per part before it is split over threads: a shorter part
/// takes about as long as handing it to a pool thread, so it stays on the calling one.
inline constexpr std::size_t element_grain = std::size_t(1) << 14;

/// Items of `values` values each that a part needs to hold element_grain values (at least 1):
/// the grain of a parallel_for over rows, images or other items.
inline constexpr std::size_t items_per_grain(std::size_t values) {
  return values == 0 ? element_grain : (element_grain + values - 1) / values;
}

/// Values of T in one 64-byte cache line.
template <class T>
inline constexpr std::size_t values_per_line = 64 / sizeof(T);

/// Distance in values of T between two parts' slots of per-part sums of `n` values: n rounded
/// up to whole cache lines, plus one line, so that two parts never write the same line
/// whatever the buffer's alignment (threads adding into one line stall each other every time).
template <class T>
constexpr std::size_t part_stride(std::size_t n) {
  constexpr std::size_t line = values_per_line<T>;
  return (n + line - 1) / line * line + line;
}

/// Calls f(begin, end, part) on contiguous, disjoint ranges covering [0, n), one part per
/// thread, in parallel; each part gets at least `grain` items, so small loops stay on one
/// thread. Nested calls run on the calling thread. The split and the part numbers depend only
/// on n, grain and the thread count (never on which thread runs a part), so results are
/// reproducible for a given thread count.
template <class F>
void parallel_for(std::size_t n, F&& f, std::size_t grain = 1) {
  if (n == 0) return;
  std::size_t parts = std::min<std::size_t>(std::size_t(max_threads()), n / std::max<std::size_t>(grain, 1));
  if (in_parallel()) parts = 1;
  if (parts <= 1) {
    f(std::size_t(0), n, thread_index());
    return;
  }
  auto body = [&](std::size_t p) { f(p * n / parts, (p + 1) * n / parts, p); };
  detail::Loop loop;
  loop.run = [](void* b, std::size_t p) { (*static_cast<decltype(body)*>(b))(p); };
  loop.body = &body;
  loop.parts = parts;
  detail::ThreadPool::instance().run(loop);
}

/// Calls f(i) for every i in [0, n), split over threads in parts of at least `grain` items
/// (by default element_grain, for items of one value): a pass whose items are independent,
/// so its results do not depend on the split.
template <class F>
void parallel_for_each(std::size_t n, F&& f, std::size_t grain = element_grain) {
  parallel_for(
      n,
      [&](std::size_t first, std::size_t end, std::size_t) {
        for (std::size_t i = first; i < end; ++i) f(i);
      },
      grain);
}

}  // namespace resilinet
