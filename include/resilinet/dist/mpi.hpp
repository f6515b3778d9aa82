#pragma once
/// \file
/// MPI for data-parallel training: MpiSession (initialises MPI when the process was started
/// by an MPI launcher) and MpiCollective (fit()'s Collective over an MPI communicator). Not
/// included by resilinet.hpp: it needs <mpi.h> (Debian: libopenmpi-dev).

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include "resilinet/core/collective.hpp"

namespace resilinet {

/// True when an MPI launcher (mpirun/mpiexec of Open MPI or MPICH, Slurm's srun) started this
/// process; a program started on its own then runs without initialising MPI.
inline bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

/// MPI for the lifetime of the object, when launched_by_mpi(): MPI_Init on construction,
/// MPI_Finalize on destruction; otherwise nothing.
class MpiSession {
 public:
  /// Initialises MPI if an MPI launcher started the process.
  MpiSession(int& argc, char**& argv) {
    if (launched_by_mpi()) {
      MPI_Init(&argc, &argv);
      active_ = true;
    }
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  /// Finalises MPI if this session initialised it.
  ~MpiSession() {
    if (active_) MPI_Finalize();
  }
  /// Whether MPI was initialised (the process is one of an MPI job).
  bool active() const { return active_; }

 private:
  bool active_ = false;
};

/// fit()'s Collective over an MPI communicator. Sums are reduced to rank 0 and broadcast, so
/// every process receives bit-identical sums (an allreduce may add in a different order on
/// different ranks).
class MpiCollective : public Collective {
 public:
  /// Wraps `comm` (MPI must be initialised).
  explicit MpiCollective(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  /// This process's rank.
  int rank() const override { return rank_; }
  /// Number of processes.
  int size() const override { return size_; }
  /// Element-wise sum over the processes, identical everywhere.
  void sum(float* data, std::size_t n) override { reduce_and_share(data, n, MPI_FLOAT); }
  /// Element-wise sum over the processes, identical everywhere.
  void sum(double* data, std::size_t n) override { reduce_and_share(data, n, MPI_DOUBLE); }
  /// Rank 0's values everywhere.
  void broadcast(float* data, std::size_t n) override { share(data, n, MPI_FLOAT); }
  /// Rank 0's values everywhere.
  void broadcast(double* data, std::size_t n) override { share(data, n, MPI_DOUBLE); }
  /// Returns once every process has called it, polling a barrier every 10 ms: MPI's blocking
  /// calls spin, which would take a core from other work while this process waits for others.
  void wait_for_all() override {
    MPI_Request request;
    MPI_Ibarrier(comm_, &request);
    for (int done = 0; MPI_Test(&request, &done, MPI_STATUS_IGNORE), !done;)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

 private:
  template <class T>
  void reduce_and_share(T* data, std::size_t n, MPI_Datatype type) {
    for (std::size_t at = 0; at < n; at += std::size_t(INT_MAX)) {
      const int count = int(std::min<std::size_t>(n - at, std::size_t(INT_MAX)));
      MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : data + at, data + at, count, type, MPI_SUM, 0, comm_);
    }
    share(data, n, type);
  }

  template <class T>
  void share(T* data, std::size_t n, MPI_Datatype type) {
    for (std::size_t at = 0; at < n; at += std::size_t(INT_MAX))
      MPI_Bcast(data + at, int(std::min<std::size_t>(n - at, std::size_t(INT_MAX))), type, 0, comm_);
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace resilinet
