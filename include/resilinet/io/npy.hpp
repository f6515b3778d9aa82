#pragma once
/// \file
/// load_npy() / save_npy(): tensors to and from NumPy's `.npy` files (through xtensor).

#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

#include "resilinet/core/error.hpp"
#include "resilinet/core/tensor.hpp"
#include "resilinet/io/atomic_file.hpp"

namespace resilinet {

/// Reads a `.npy` file of float32 or float64 values (C or Fortran order) into a row-major
/// Tensor<T>, converting the scalar type; throws IoError or FormatError naming the file.
template <class T>
Tensor<T> load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open '" + path + "'");
  std::string dtype;
  try {
    xt::detail::npy_file file = xt::detail::load_npy_file(in);
    dtype = file.m_typestring;
    auto convert = [&](auto tag) {
      using U = decltype(tag);
      xt::xarray<T, xt::layout_type::row_major> a = xt::cast<T>(std::move(file).template cast<U>());
      return Tensor<T>::from_xt(a);
    };
    if (dtype == "<f4") return convert(float{});
    if (dtype == "<f8") return convert(double{});
  } catch (const std::exception& e) {
    throw FormatError("'" + path + "' is not a readable .npy file: " + e.what());
  }
  throw FormatError("'" + path + "' holds dtype '" + dtype + "'; load_npy reads <f4 or <f8");
}

/// Writes `t` to `path` as a row-major `.npy` file of T, atomically (temp file, then rename).
template <class T>
void save_npy(const std::string& path, TensorView<const T> t) {
  write_atomically(path, [&](const std::string& temp) {
    xt::dump_npy(temp, xt::xarray<T>(xt::adapt(t.data(), t.size(), xt::no_ownership(),
                                               t.shape().to_vector())));
  });
}

}  // namespace resilinet
