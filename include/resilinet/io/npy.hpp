#pragma once
/// \file
/// load_npy() / save_npy(): tensors to and from NumPy's `.npy` files (read by our own parser,
/// which checks every size before allocating; written through xtensor).

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

#include "resilinet/core/error.hpp"
#include "resilinet/core/tensor.hpp"
#include "resilinet/io/atomic_file.hpp"
#include "resilinet/io/model_file.hpp"

namespace resilinet {

namespace detail {

/// The value after `'key':` in a .npy header dictionary (up to the next top-level comma).
inline std::string npy_field(const std::string& header, const std::string& key, const std::string& path) {
  const std::size_t at = header.find("'" + key + "'");
  require<FormatError>(at != std::string::npos, "'", path, "': .npy header has no '", key, "'");
  std::size_t p = header.find(':', at);
  require<FormatError>(p != std::string::npos, "'", path, "': .npy header: no value for '", key, "'");
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  const std::size_t end = header[p] == '(' ? header.find(')', p) + 1 : header.find_first_of(",}", p);
  require<FormatError>(end != std::string::npos && end > p, "'", path, "': .npy header: bad value for '", key, "'");
  return header.substr(p, end - p);
}

}  // namespace detail

/// Reads a `.npy` file (format 1, 2 or 3) of float32 or float64 values (little-endian, C or
/// Fortran order) into a row-major Tensor<T>, converting the scalar type; throws IoError or
/// FormatError naming the file and what is wrong, before allocating anything the file cannot
/// hold.
template <class T>
Tensor<T> load_npy(const std::string& path) {
  detail::ByteReader in(detail::read_file_bytes(path), path);
  require<FormatError>(in.get_bytes(6, "the magic string") == std::string("\x93NUMPY", 6), "'", path,
                       "' is not a .npy file (bad magic)");
  const auto major = in.get<std::uint8_t>("the format version");
  in.get<std::uint8_t>("the format version");
  require<FormatError>(major >= 1 && major <= 3, "'", path, "': unsupported .npy format version ", int(major));
  const std::size_t header_len = major == 1 ? std::size_t(in.get<std::uint16_t>("the header length"))
                                            : std::size_t(in.get<std::uint32_t>("the header length"));
  const std::string header = in.get_bytes(header_len, "the header");
  const std::string descr = detail::npy_field(header, "descr", path);
  const std::string order = detail::npy_field(header, "fortran_order", path);
  const std::string shape_text = detail::npy_field(header, "shape", path);
  const bool f4 = descr == "'<f4'", f8 = descr == "'<f8'";
  require<FormatError>(f4 || f8, "'", path, "' holds dtype ", resilinet::quoted(descr, 20), "; load_npy reads <f4 or <f8");
  require<FormatError>(order == "False" || order == "True", "'", path, "': fortran_order ",
                       resilinet::quoted(order, 20), " is neither True nor False");
  require<FormatError>(shape_text.size() >= 2 && shape_text.front() == '(' && shape_text.back() == ')',
                       "'", path, "': shape ", resilinet::quoted(shape_text, 40), " is not a tuple");
  std::vector<std::size_t> dims;
  const std::size_t scalar = f4 ? 4 : 8;
  std::uint64_t count = 1;
  std::istringstream tuple(shape_text.substr(1, shape_text.size() - 2));
  for (std::string item; std::getline(tuple, item, ',');) {
    const std::size_t first = item.find_first_not_of(' ');
    if (first == std::string::npos) continue;  // "(3,)" ends with an empty item
    char* end = nullptr;
    const unsigned long long d = std::strtoull(item.c_str() + first, &end, 10);
    require<FormatError>(end != item.c_str() + first && item.find_first_not_of(' ', std::size_t(end - item.c_str())) == std::string::npos &&
                             item[first] != '-',
                         "'", path, "': shape ", resilinet::quoted(shape_text, 40), " has a bad dimension");
    require<FormatError>(detail::grow_count(count, d, in, scalar), "'", path, "': shape ",
                         resilinet::quoted(shape_text, 40), " claims more values than the file holds");
    dims.push_back(std::size_t(d));
  }
  require<FormatError>(dims.size() <= Shape::max_rank, "'", path, "': ", dims.size(), " dimensions");
  require<FormatError>(in.remaining() == count * scalar, "'", path, "': ", in.remaining(),
                       " data bytes for shape ", resilinet::quoted(shape_text, 40), " of ", descr);
  Tensor<T> t{Shape(dims)};
  std::vector<T> values(count);
  for (T& v : values) v = f4 ? T(in.get<float>("values")) : T(in.get<double>("values"));
  if (order == "False" || dims.size() < 2) {
    std::copy(values.begin(), values.end(), t.begin());
    return t;
  }
  // Fortran order: the first index varies fastest.
  std::vector<std::size_t> index(dims.size(), 0);
  for (std::size_t c = 0; c < count; ++c) {
    std::size_t f = 0;
    for (std::size_t d = dims.size(); d-- > 0;) f = f * dims[d] + index[d];
    t[c] = values[f];
    for (std::size_t d = dims.size(); d-- > 0;) {  // next row-major index
      if (++index[d] < dims[d]) break;
      index[d] = 0;
    }
  }
  return t;
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
