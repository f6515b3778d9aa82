#pragma once
/// \file
/// Threads: one pool (OpenMP) behind one knob, set_num_threads(); BLAS always runs on one
/// thread inside it, so two pools never fight over the same cores.
///
/// Without OpenMP (a consumer compiling without `-fopenmp`) everything runs on one thread.

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>

#include <Eigen/Core>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "resilinet/core/error.hpp"

namespace resilinet {
namespace detail {

/// Pins OpenBLAS and Eigen to one thread each (found at runtime so another BLAS still links).
inline void single_threaded_blas() {
  using SetFn = void (*)(int);
  Eigen::setNbThreads(1);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(1);
}

/// The pool size; the first use also pins BLAS to one thread.
inline int& pool_size() {
  static int size = [] {
    single_threaded_blas();
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
  }();
  return size;
}

}  // namespace detail

/// Number of threads resilinet's kernels use (OMP_NUM_THREADS or the core count by default).
inline int max_threads() { return detail::pool_size(); }

/// Sets the number of threads of every kernel (≥ 1); returns false when resilinet was built
/// without OpenMP, in which case it stays at one.
inline bool set_num_threads(int threads) {
  require(threads >= 1, "set_num_threads: threads must be at least 1, got ", threads);
#ifdef _OPENMP
  detail::pool_size() = threads;
  omp_set_num_threads(threads);
  return true;
#else
  detail::pool_size() = 1;
  return threads == 1;
#endif
}

/// Index of the calling thread inside a parallel_for (0 outside).
inline std::size_t thread_index() {
#ifdef _OPENMP
  return std::size_t(omp_get_thread_num());
#else
  return 0;
#endif
}

namespace detail {
/// Set on threads that must not start parallel regions of their own (see SerialScope).
inline thread_local bool serial_thread = false;
}  // namespace detail

/// While alive, kernels called on this thread run serially: a background thread (a batch
/// prefetcher) uses it so that it never starts a second pool competing with the main one.
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

/// Whether work started here must stay on the calling thread: inside a parallel region
/// (nested work) or inside a SerialScope.
inline bool in_parallel() {
#ifdef _OPENMP
  if (omp_in_parallel() != 0) return true;
#endif
  return detail::serial_thread;
}

/// Calls f(begin, end, thread) on contiguous, disjoint ranges covering [0, n), one per thread,
/// in parallel; each thread gets at least `grain` items, so small loops stay on one thread.
/// Nested calls run on the calling thread. The split depends only on n, grain and the thread
/// count, so results are reproducible for a given thread count.
template <class F>
void parallel_for(std::size_t n, F&& f, std::size_t grain = 1) {
  if (n == 0) return;
  std::size_t chunks = std::min<std::size_t>(std::size_t(max_threads()), n / std::max<std::size_t>(grain, 1));
  if (in_parallel()) chunks = 1;
  if (chunks <= 1) {
    f(std::size_t(0), n, thread_index());
    return;
  }
#ifdef _OPENMP
#pragma omp parallel for num_threads(int(chunks)) schedule(static, 1)
#endif
  for (std::size_t c = 0; c < chunks; ++c) f(c * n / chunks, (c + 1) * n / chunks, thread_index());
}

}  // namespace resilinet
