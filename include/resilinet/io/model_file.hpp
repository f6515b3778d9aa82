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

namespace detail {

/// Everything a model file holds, its values converted to T.
template <class T>
struct ModelFileContents {
  /// The format version (1 or 2).
  std::uint32_t version = 0;
  /// Each parameter's name, in file order.
  std::vector<std::string> names;
  /// Each parameter's values.
  std::vector<Tensor<T>> values;
  /// The module's describe() text (empty in version 1).
  std::string description;
};

/// Reads and checks the whole file at `path` (IoError / FormatError naming the problem).
template <class T>
ModelFileContents<T> read_model_file(const std::string& path) {
  ByteReader in(read_file_bytes(path), path);
  const std::string magic = in.get_bytes(sizeof model_magic, "the magic number");
  require<FormatError>(magic == std::string(model_magic, sizeof model_magic), "'", path,
                       "': not a resilinet parameter file (bad magic)");
  ModelFileContents<T> file;
  file.version = in.get<std::uint32_t>("the format version");
  require<FormatError>(file.version == 1 || file.version == model_format_version, "'", path,
                       "': unsupported format version ", file.version, " (expected 1 or ",
                       model_format_version, ")");
  const auto scalar = in.get<std::uint32_t>("the scalar size");
  require<FormatError>(scalar == 4 || scalar == 8, "'", path, "': scalar size ", scalar,
                       " is neither 4 nor 8 bytes");
  const auto count = in.get<std::uint64_t>("the parameter count");
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto len = in.get<std::uint32_t>("a parameter name length");
    file.names.push_back(in.get_bytes(len, "a parameter name"));
    file.values.push_back(get_tensor<T>(in, scalar, "parameter '" + resilinet::quoted(file.names.back()) + "'"));
  }
  if (file.version >= 2) {
    const auto len = in.get<std::uint64_t>("the description length");
    file.description = in.get_bytes(std::size_t(len), "the description");
  }
  require<FormatError>(in.at_end(), "'", path, "': unexpected bytes after the last parameter");
  return file;
}

/// Checks that `value` (parameter `name` of the file at `path`) fits `p`.
template <class T>
void check_parameter_shape(const Parameter<T>& p, const Tensor<T>& value, const std::string& path) {
  require<FormatError>(value.shape() == p.value().shape(), "'", path, "': parameter '", resilinet::quoted(p.name()),
                       "' has shape ", value.shape(), " but the module expects ", p.value().shape());
}

/// Checks `description` against `module` (Module::configure) and then sets every parameter
/// to its value in `values`, so the module changes only when everything fits.
template <class T>
void adopt_model_file(Module<T>& module, const std::vector<Parameter<T>*>& params, std::vector<Tensor<T>*> values,
                      const ModelFileContents<T>& file, const std::string& path) {
  if (file.version >= 2) {
    try {
      module.configure(file.description, false);  // validate before changing anything
    } catch (const FormatError& e) {
      throw FormatError("'" + path + "': " + e.what());
    }
  }
  for (std::size_t i = 0; i < params.size(); ++i) params[i]->set_value(*values[i]);
  if (file.version >= 2) module.configure(file.description, true);
}

}  // namespace detail

/// Reads parameters saved by save_parameters() into `module`; names, count and shapes must
/// match. Throws IoError / FormatError and leaves the module unchanged on any problem.
template <class T>
void load_parameters(Module<T>& module, const std::string& path) {
  detail::ModelFileContents<T> file = detail::read_model_file<T>(path);
  const std::vector<Parameter<T>*> params = module.parameters();
  require<FormatError>(file.names.size() == params.size(), "'", path, "' holds ", file.names.size(),
                       " parameters but module '", module.name(), "' has ", params.size());
  std::vector<Tensor<T>*> values;
  for (std::size_t i = 0; i < params.size(); ++i) {
    require<FormatError>(file.names[i] == params[i]->name(), "'", path, "': found parameter '",
                         resilinet::quoted(file.names[i]), "' where module '", module.name(), "' expects '",
                         params[i]->name(), "'");
    detail::check_parameter_shape(*params[i], file.values[i], path);
    values.push_back(&file.values[i]);
  }
  detail::adopt_model_file(module, params, values, file, path);
}

}  // namespace resilinet
