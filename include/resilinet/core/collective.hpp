#pragma once
/// \file
/// Collective: what data-parallel training needs from a group of processes (sums and
/// broadcasts), so fit() spreads one training over several processes without the library
/// depending on MPI (dist/mpi.hpp implements it over MPI).

#include <cstddef>

namespace resilinet {

/// A group of processes training one model together; every process calls each operation in
/// the same order.
class Collective {
 public:
  virtual ~Collective() = default;
  /// This process's index in the group; rank 0 writes files and logs.
  virtual int rank() const = 0;
  /// Number of processes in the group.
  virtual int size() const = 0;
  /// Replaces `data` (n values) in every process by the element-wise sum over all processes;
  /// every process receives bit-identical sums.
  virtual void sum(float* data, std::size_t n) = 0;
  /// The double-precision version of sum().
  virtual void sum(double* data, std::size_t n) = 0;
  /// Copies rank 0's `data` (n values) to every process.
  virtual void broadcast(float* data, std::size_t n) = 0;
  /// The double-precision version of broadcast().
  virtual void broadcast(double* data, std::size_t n) = 0;
  /// Returns once every process has called it; a process that arrives early sleeps, not spins.
  virtual void wait_for_all() = 0;
};

}  // namespace resilinet
