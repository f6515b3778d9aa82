#pragma once
// Shared test helpers: random tensors, parameters from tensors, the data directory.

#include <cstdlib>
#include <string>

#include <resilinet/resilinet.hpp>

namespace testing {

/// A tensor of the given shape with values uniform in [low, high).
template <class T>
resilinet::Tensor<T> random_tensor(const resilinet::Shape& shape, resilinet::Rng& rng,
                                   double low = -1.0, double high = 1.0) {
  resilinet::Tensor<T> t(shape);
  for (T& v : t) v = static_cast<T>(rng.uniform(low, high));
  return t;
}

/// The shared data directory from RESILINET_DATA_DIR, or "" when unset.
inline std::string data_dir() {
  const char* d = std::getenv("RESILINET_DATA_DIR");
  return d ? d : "";
}

/// True when tests needing ../shared/data must run (CI sets RESILINET_DATA_DIR).
inline bool require_data() { return !data_dir().empty() || std::getenv("CI") != nullptr; }

}  // namespace testing
