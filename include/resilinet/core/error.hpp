#pragma once
/// \file
/// Exception types; every message names the offending value.

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace resilinet {

/// Base class of every error resilinet throws.
class Error : public std::runtime_error {
 public:
  /// Creates an error carrying a complete, one-line message.
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// A tensor shape does not fit the operation.
class ShapeError : public Error {
 public:
  /// Creates a shape error with a one-line message.
  using Error::Error;
};

/// An argument is outside its documented range (a probability outside [0,1], a zero size...).
class ValueError : public Error {
 public:
  /// Creates a value error with a one-line message.
  using Error::Error;
};

/// A file could not be opened, read, written or renamed.
class IoError : public Error {
 public:
  /// Creates an I/O error with a one-line message.
  using Error::Error;
};

/// A file was opened but its contents are malformed, truncated or of the wrong kind.
class FormatError : public Error {
 public:
  /// Creates a format error with a one-line message.
  using Error::Error;
};

/// Training produced a non-finite loss or gradient.
class NumericalError : public Error {
 public:
  /// Creates a numerical error with a one-line message.
  using Error::Error;
};

namespace detail {

/// Concatenates streamable parts into one string (used to build error messages).
template <class... Parts>
std::string cat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

/// The operating system's reason for the last failed call (errno), for I/O error messages.
inline std::string os_reason() { return errno != 0 ? std::strerror(errno) : "no reason given by the system"; }

}  // namespace detail

/// `text` made safe to quote in a one-line message: non-printable bytes become `\xNN` and
/// anything past `max_length` characters is cut and marked with "...".
inline std::string quoted(const std::string& text, std::size_t max_length = 40) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max_length; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (text.size() > max_length) out += "...";
  return out;
}

/// Throws `E` with the concatenated message unless `condition` holds.
template <class E = ValueError, class... Parts>
void require(bool condition, Parts&&... parts) {
  if (!condition) throw E(detail::cat(std::forward<Parts>(parts)...));
}

}  // namespace resilinet
