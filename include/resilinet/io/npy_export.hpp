#pragma once
/// \file
/// export_npy(): one `.npy` file per parameter, for inspection with NumPy.

#include <filesystem>
#include <string>

#include "resilinet/io/npy.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Writes each parameter of `module` to `<dir>/<name>.npy` (a `/` in the name becomes `.`),
/// each file atomically; `dir` is created if missing. Returns the paths written.
template <class T>
std::vector<std::string> export_npy(const Module<T>& module, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directory(dir, ec);
  if (ec) throw IoError("cannot create directory '" + dir + "': " + ec.message());
  std::vector<std::string> written;
  for (const Parameter<T>* p : module.parameters()) {
    std::string file = p->name();
    for (char& c : file)
      if (c == '/') c = '.';
    const std::string path = dir + "/" + file + ".npy";
    save_npy<T>(path, p->value());
    written.push_back(path);
  }
  return written;
}

}  // namespace resilinet
