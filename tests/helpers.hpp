#pragma once
#include <doctest/doctest.h>
// Shared test helpers: random tensors, parameters from tensors, the data directory.

#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <vector>
#include <cstdlib>
#include <string>

#include <resilinet/resilinet.hpp>

namespace testing {

/// Runs the enclosing scope on two threads, so work split over threads (and per-thread partial
/// sums) is exercised, then restores the thread count, also when a check throws.
struct TwoThreads {
  int before = resilinet::max_threads();
  TwoThreads() { resilinet::set_num_threads(2); }
  ~TwoThreads() { resilinet::set_num_threads(before); }
};

/// Heap allocations through operator new since the test binary started (see count_allocations.cpp).
extern std::atomic<long> allocation_count;

/// Allocations made while running `f`.
template <class F>
long allocations_during(F&& f) {
  const long before = allocation_count.load();
  f();
  return allocation_count.load() - before;
}

/// A tensor of the given shape with values uniform in [low, high).
template <class T>
resilinet::Tensor<T> random_tensor(const resilinet::Shape& shape, resilinet::Rng& rng,
                                   double low = -1.0, double high = 1.0) {
  resilinet::Tensor<T> t(shape);
  for (T& v : t) v = static_cast<T>(rng.uniform(low, high));
  return t;
}

/// A double parameter of the given shape with values uniform in [-1, 1).
inline resilinet::Parameter<double> param(const char* name, const resilinet::Shape& shape,
                                          resilinet::Rng& rng) {
  return resilinet::Parameter<double>(name, random_tensor<double>(shape, rng));
}

/// Reduces any output to a scalar with fixed random weights so every output element matters.
inline resilinet::Var<double> project(resilinet::Var<double> y, const resilinet::Tensor<double>& r) {
  return resilinet::sum(resilinet::multiply(y, y.tape()->input(r)));
}

/// Finite-difference check of d(f)/d(params) in double; prints and asserts the max error.
inline void expect_gradients(const std::string& what,
                             const std::function<resilinet::Var<double>(resilinet::Tape<double>&)>& f,
                             std::vector<resilinet::Parameter<double>*> params) {
  const resilinet::GradCheckResult r = resilinet::check_gradients<double>(f, params);
  MESSAGE(what << ": max error " << r.max_error << " at " << r.worst << " over " << r.checked
               << " elements");
  CHECK(r.checked > 0);
  CHECK(r.max_error < 1e-6);
}

/// The fixed weight of the link called `key` (a test failure when there is none).
inline double link_weight(const resilinet::PartitionedNetwork<double>& net, const std::string& key) {
  for (const auto& l : net.links())
    if (l.key == key) return l.weight;
  FAIL("no link " << key);
  return 0;
}

/// The shared data directory from RESILINET_DATA_DIR, or "" when unset.
inline std::string data_dir() {
  const char* d = std::getenv("RESILINET_DATA_DIR");
  return d ? d : "";
}

/// True when tests needing ../shared/data must run (CI sets RESILINET_DATA_DIR).
inline bool require_data() { return !data_dir().empty() || std::getenv("CI") != nullptr; }

/// The path of `sub` under the shared data directory; "" (and a skip message) when it is
/// absent on a developer machine, a test failure when CI should have provided it.
inline std::string shared_data(const std::string& sub) {
  const std::string path = data_dir() + "/" + sub;
  struct stat st {};
  if (!data_dir().empty() && ::stat(path.c_str(), &st) == 0) return path;
  if (require_data()) FAIL("RESILINET_DATA_DIR does not hold " << sub << " (CI must provide ../shared/data)");
  MESSAGE("skipped: set RESILINET_DATA_DIR to ../shared/data to read " << sub);
  return "";
}

}  // namespace testing
