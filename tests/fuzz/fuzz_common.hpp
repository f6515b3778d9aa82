// Shared by the libFuzzer targets: hand the input to a real file parser through a temporary
// file, and treat resilinet's own errors as the expected answer to bad input. Anything else
// (a crash, a sanitizer report, another exception, a leak) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include <resilinet/core/error.hpp>

namespace fuzz {

/// A temporary directory for this process, created once.
inline const std::string& temp_dir() {
  static const std::string dir = [] {
    std::string d = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                    "/resilinet_fuzz_" + std::to_string(::getpid());
    std::string cmd = "mkdir -p '" + d + "'";
    if (std::system(cmd.c_str()) != 0) std::abort();
    return d;
  }();
  return dir;
}

/// Writes the fuzz input to `name` inside temp_dir() and returns its path.
inline std::string write_input(const uint8_t* data, size_t size, const std::string& name) {
  const std::string path = temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path;
}

/// Runs `parse`; a resilinet::Error is the expected answer to malformed input.
template <class F>
void expect_clean(F&& parse) {
  try {
    parse();
  } catch (const resilinet::Error&) {
  }
}

}  // namespace fuzz
