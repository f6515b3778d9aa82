#pragma once
/// \file
/// save_parameters() / load_parameters(): every parameter of a module in one binary file.
///
/// Layout (little-endian): magic "RSLNPARM", u32 format version (2), u32 bytes per scalar
/// (4 or 8), u64 parameter count, then per parameter: u32 name length, name bytes, u32 rank,
/// rank × u64 dimensions, the values; then u64 length and the text of Module::describe()
/// (version 2 only: what else the forward pass depends on, e.g. hyperconnection weights).
/// Loading checks every name and shape, converts the scalar type and checks the description
/// against the module (Module::configure); it changes the module only when the whole file is
/// valid. Version 1 files (no description) still load.

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "resilinet/io/atomic_file.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

namespace detail {

inline constexpr char model_magic[8] = {'R', 'S', 'L', 'N', 'P', 'A', 'R', 'M'};
inline constexpr std::uint32_t model_format_version = 2;

template <class U>
void put(std::ostream& out, U v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

/// Sequential reader over a loaded file that names the file and field on truncation.
class ByteReader {
 public:
  ByteReader(std::string bytes, std::string path) : bytes_(std::move(bytes)), path_(std::move(path)) {}
  template <class U>
  U get(const char* what) {
    U v;
    need(sizeof v, what);
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string get_bytes(std::size_t n, const char* what) {
    need(n, what);
    pos_ += n;
    return bytes_.substr(pos_ - n, n);
  }
  bool at_end() const { return pos_ == bytes_.size(); }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  const std::string& path() const { return path_; }

 private:
  void need(std::size_t n, const char* what) {
    require<FormatError>(bytes_.size() - pos_ >= n, "'", path_, "': truncated while reading ",
                         what, " at byte ", pos_);
  }
  std::string bytes_;
  std::string path_;
  std::size_t pos_ = 0;
};

/// Multiplies `count` (values) by `dim` when the product, at `scalar_size` bytes each, fits
/// in the bytes `in` has left; returns false (count unchanged) when it cannot, so a header
/// never makes a reader allocate more than its file holds.
inline bool grow_count(std::uint64_t& count, std::uint64_t dim, const ByteReader& in,
                       std::size_t scalar_size) {
  if (dim != 0 && count > in.remaining() / scalar_size / dim) return false;
  count *= dim;
  return true;
}

/// Writes a tensor as u32 rank, rank × u64 dimensions, then its values.
template <class T>
void put_tensor(std::ostream& out, TensorView<const T> t) {
  put<std::uint32_t>(out, std::uint32_t(t.shape().rank()));
  for (std::size_t d = 0; d < t.shape().rank(); ++d) put<std::uint64_t>(out, t.shape()[d]);
  out.write(reinterpret_cast<const char*>(t.data()), std::streamsize(t.size() * sizeof(T)));
}

/// Reads a tensor written by put_tensor() with `scalar_size`-byte values (4 or 8), converting
/// them to T; `what` names it in errors.
template <class T>
Tensor<T> get_tensor(ByteReader& in, std::uint32_t scalar_size, const std::string& what) {
  const auto rank = in.get<std::uint32_t>("a tensor rank");
  require<FormatError>(rank <= Shape::max_rank, "'", in.path(), "': ", what, " has rank ", rank);
  std::vector<std::size_t> dims;
  std::uint64_t count = 1;  // checked against the bytes left before anything is allocated
  for (std::uint32_t d = 0; d < rank; ++d) {
    const auto dim = in.get<std::uint64_t>("a dimension");
    require<FormatError>(grow_count(count, dim, in, scalar_size), "'", in.path(), "': ", what,
                         " claims more values than the file holds");
    dims.push_back(std::size_t(dim));
  }
  require<FormatError>(count <= in.remaining() / scalar_size, "'", in.path(), "': ", what,
                       " claims ", count, " values but ", in.remaining(), " bytes are left");
  Tensor<T> t{Shape(dims)};
  for (T& v : t)
    v = scalar_size == 4 ? static_cast<T>(in.get<float>("tensor values"))
                         : static_cast<T>(in.get<double>("tensor values"));
  return t;
}

}  // namespace detail

/// Writes every parameter of `module` to `path` atomically (temporary file + rename).
template <class T>
void save_parameters(const Module<T>& module, const std::string& path) {
  const std::vector<Parameter<T>*> params = module.parameters();
  write_atomically(path, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary);
    if (!out) throw IoError("cannot create '" + temp + "': " + detail::os_reason());
    out.write(detail::model_magic, sizeof detail::model_magic);
    detail::put<std::uint32_t>(out, detail::model_format_version);
    detail::put<std::uint32_t>(out, sizeof(T));
    detail::put<std::uint64_t>(out, params.size());
    for (const Parameter<T>* p : params) {
      detail::put<std::uint32_t>(out, std::uint32_t(p->name().size()));
      out.write(p->name().data(), std::streamsize(p->name().size()));
      detail::put_tensor<T>(out, p->value());
    }
    const std::string description = module.describe();
    detail::put<std::uint64_t>(out, description.size());
    out.write(description.data(), std::streamsize(description.size()));
    out.close();
    if (!out) throw IoError("cannot write '" + temp + "': " + detail::os_reason());
  });
}

/// Reads parameters saved by save_parameters() into `module`; names, count and shapes must
/// match. Throws IoError / FormatError and leaves the module unchanged on any problem.
template <class T>
void load_parameters(Module<T>& module, const std::string& path) {
  detail::ByteReader in(detail::read_file_bytes(path), path);
  const std::string magic = in.get_bytes(sizeof detail::model_magic, "the magic number");
  require<FormatError>(magic == std::string(detail::model_magic, sizeof detail::model_magic),
                       "'", path, "': not a resilinet parameter file (bad magic)");
  const auto version = in.get<std::uint32_t>("the format version");
  require<FormatError>(version == 1 || version == detail::model_format_version, "'", path,
                       "': unsupported format version ", version, " (expected 1 or ",
                       detail::model_format_version, ")");
  const auto scalar = in.get<std::uint32_t>("the scalar size");
  require<FormatError>(scalar == 4 || scalar == 8, "'", path, "': scalar size ", scalar,
                       " is neither 4 nor 8 bytes");
  const std::vector<Parameter<T>*> params = module.parameters();
  const auto count = in.get<std::uint64_t>("the parameter count");
  require<FormatError>(count == params.size(), "'", path, "' holds ", count,
                       " parameters but module '", module.name(), "' has ", params.size());
  std::vector<Tensor<T>> loaded;
  for (const Parameter<T>* p : params) {
    const auto len = in.get<std::uint32_t>("a parameter name length");
    const std::string name = in.get_bytes(len, "a parameter name");
    require<FormatError>(name == p->name(), "'", path, "': found parameter '", quoted(name),
                         "' where module '", module.name(), "' expects '", p->name(), "'");
    Tensor<T> t = detail::get_tensor<T>(in, scalar, "parameter '" + quoted(name) + "'");
    require<FormatError>(t.shape() == p->value().shape(), "'", path, "': parameter '", name,
                         "' has shape ", t.shape(), " but the module expects ",
                         p->value().shape());
    loaded.push_back(std::move(t));
  }
  std::string description;
  if (version >= 2) {
    const auto len = in.get<std::uint64_t>("the description length");
    description = in.get_bytes(std::size_t(len), "the description");
  }
  require<FormatError>(in.at_end(), "'", path, "': unexpected bytes after the last parameter");
  if (version >= 2) {
    try {
      module.configure(description, false);  // validate before changing anything
    } catch (const FormatError& e) {
      throw FormatError("'" + path + "': " + e.what());
    }
  }
  for (std::size_t i = 0; i < params.size(); ++i) params[i]->set_value(loaded[i]);
  if (version >= 2) module.configure(description, true);
}

}  // namespace resilinet
