#pragma once
/// \file
/// set_num_threads(): the one knob for every thread pool resilinet uses.

#include <dlfcn.h>

#include <Eigen/Core>

namespace resilinet {

/// Sets the number of threads of the BLAS library (OpenBLAS) and of Eigen; returns false when
/// the linked BLAS offers no such control.
///
/// One explicit knob avoids two thread pools fighting over the same cores.
inline bool set_num_threads(int threads) {
  using SetFn = void (*)(int);
  Eigen::setNbThreads(threads);
  // Looked up at runtime so that linking against a BLAS other than OpenBLAS still works.
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(threads);
    return true;
  }
  return false;
}

}  // namespace resilinet
