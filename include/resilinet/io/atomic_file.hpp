#pragma once
/// \file
/// write_atomically(): write a file through a temporary and rename, so readers never see half;
/// read_file_bytes(): read a whole file.

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include <unistd.h>

#include "resilinet/core/error.hpp"

namespace resilinet {

/// Writes `path` by calling `write` on a temporary file next to it, then renaming it over
/// `path`. On any failure the temporary is removed and `path` is left as it was.
inline void write_atomically(const std::string& path,
                             const std::function<void(const std::string& temp_path)>& write) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  try {
    write(temp);
  } catch (...) {
    std::remove(temp.c_str());
    throw;
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = detail::os_reason();
    std::remove(temp.c_str());
    throw IoError("cannot rename '" + temp + "' to '" + path + "': " + reason);
  }
}

namespace detail {

/// The whole file at `path` as bytes (IoError naming the path when it cannot be read).
inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open '" + path + "': " + detail::os_reason());
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw IoError("cannot read '" + path + "': " + detail::os_reason());
  return content.str();
}

}  // namespace detail

/// Writes `text` to `path` atomically (temporary file + rename).
inline void write_text_file(const std::string& path, const std::string& text) {
  write_atomically(path, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw IoError("cannot write '" + temp + "': " + detail::os_reason());
  });
}

}  // namespace resilinet
