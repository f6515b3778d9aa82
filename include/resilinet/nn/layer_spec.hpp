#pragma once
/// \file
/// LayerSpec: one module's kind, name and settings as a line of words, which model files store
/// so that load_network() can rebuild a network without the code that built it:
///
///     dense name=edge_output_layer in=128 units=128 act=relu bias=1
///
/// Each layer writes its own line (Module::spec()); a composite's children follow its line
/// (Sequential says how many). Names and other text values escape whitespace and '%' as %XX.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "resilinet/autodiff/activation_ops.hpp"
#include "resilinet/autodiff/conv_ops.hpp"
#include "resilinet/core/error.hpp"
#include "resilinet/core/shape.hpp"

namespace resilinet {

/// A module's kind, name and key=value settings; see the file comment.
class LayerSpec {
 public:
  /// Starts the line of a module of kind `kind` called `name`.
  LayerSpec(std::string kind, const std::string& name) : kind_(std::move(kind)) { set("name", name); }

  /// Adds a text setting (escaped on output).
  LayerSpec& set(const std::string& key, const std::string& value) {
    keys_.push_back(key);
    values_[key] = value;
    return *this;
  }

  /// Adds a number setting, written with 17 significant digits.
  LayerSpec& set(const std::string& key, double value) {
    std::ostringstream out;
    out.precision(17);
    out << value;
    return set(key, out.str());
  }

  /// Adds a count or size setting.
  LayerSpec& set(const std::string& key, std::size_t value) { return set(key, std::to_string(value)); }

  /// Adds a flag setting (0 or 1).
  LayerSpec& set(const std::string& key, bool value) { return set(key, std::string(value ? "1" : "0")); }

  /// Adds an activation setting by its Keras name.
  LayerSpec& set(const std::string& key, Activation value) { return set(key, to_string(value)); }

  /// Adds a padding setting ("valid" or "same").
  LayerSpec& set(const std::string& key, Padding value) {
    return set(key, std::string(value == Padding::same ? "same" : "valid"));
  }

  /// Adds a shape setting as dimensions joined by 'x' ("1x1x48"; "-" for rank 0).
  LayerSpec& set(const std::string& key, const Shape& value) {
    std::string text;
    for (std::size_t d = 0; d < value.rank(); ++d) text += (d ? "x" : "") + std::to_string(value[d]);
    return set(key, text.empty() ? std::string("-") : text);
  }

  /// The line: the kind, then every setting in the order it was added.
  std::string text() const {
    std::string out = kind_;
    for (const std::string& k : keys_) out += " " + k + "=" + escape(values_.at(k));
    return out;
  }

  /// Parses a line written by text(); `where` names it in errors (FormatError when malformed).
  static LayerSpec parse(const std::string& line, const std::string& where) {
    std::istringstream in(line);
    std::string kind, word;
    in >> kind;
    require<FormatError>(!kind.empty(), where, ": empty layer line");
    LayerSpec spec(kind);
    while (in >> word) {
      const std::size_t eq = word.find('=');
      require<FormatError>(eq != std::string::npos && eq > 0, where, ": '", resilinet::quoted(word),
                           "' is not key=value");
      const std::string key = word.substr(0, eq);
      require<FormatError>(!spec.values_.count(key), where, ": setting '", resilinet::quoted(key), "' given twice");
      spec.set(key, unescape(word.substr(eq + 1), where));
    }
    spec.where_ = where;
    require<FormatError>(spec.values_.count("name"), where, ": layer '", resilinet::quoted(kind), "' has no name");
    return spec;
  }

  /// The module kind ("dense", "sequential", ...).
  const std::string& kind() const { return kind_; }

  /// Where the line came from ("model.rsln line 12"), for errors.
  const std::string& where() const { return where_; }

  /// The module's name.
  std::string name() const { return values_.at("name"); }

  /// Text setting `key` (FormatError when missing).
  std::string text(const std::string& key) const {
    const auto it = values_.find(key);
    require<FormatError>(it != values_.end(), where_, ": layer '", resilinet::quoted(name()), "' (", kind_,
                         ") has no setting '", key, "'");
    read_.push_back(key);
    return it->second;
  }

  /// Finite number setting `key`.
  double number(const std::string& key) const {
    const std::string v = text(key);
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    require<FormatError>(!v.empty() && *end == '\0' && std::isfinite(d), where_, ": ", key, "='",
                         resilinet::quoted(v), "' is not a number");
    return d;
  }

  /// Non-negative integer setting `key`.
  std::size_t size(const std::string& key) const {
    const std::string v = text(key);
    require<FormatError>(is_count(v), where_, ": ", key, "='", resilinet::quoted(v), "' is not a count");
    return std::size_t(std::stoull(v));
  }

  /// Flag setting `key` (0 or 1).
  bool flag(const std::string& key) const {
    const std::string v = text(key);
    require<FormatError>(v == "0" || v == "1", where_, ": ", key, "='", resilinet::quoted(v), "' is not 0 or 1");
    return v == "1";
  }

  /// Activation setting `key` (linear, relu or relu6).
  Activation activation(const std::string& key) const {
    const std::string v = text(key);
    for (Activation a : {Activation::linear, Activation::relu, Activation::relu6})
      if (v == to_string(a)) return a;
    throw FormatError(where_ + ": unknown activation " + key + "='" + resilinet::quoted(v) + "'");
  }

  /// Padding setting `key` (valid or same).
  Padding padding(const std::string& key) const {
    const std::string v = text(key);
    require<FormatError>(v == "valid" || v == "same", where_, ": padding ", key, "='", resilinet::quoted(v),
                         "' is not valid or same");
    return v == "same" ? Padding::same : Padding::valid;
  }

  /// Shape setting `key` (dimensions joined by 'x', "-" for rank 0).
  Shape shape(const std::string& key) const {
    const std::string v = text(key);
    std::vector<std::size_t> dims;
    if (v != "-") {
      std::istringstream in(v);
      for (std::string d; std::getline(in, d, 'x');) {
        require<FormatError>(is_count(d) && dims.size() < Shape::max_rank, where_, ": ", key, "='",
                             resilinet::quoted(v), "' is not a shape");
        dims.push_back(std::size_t(std::stoull(d)));
      }
    }
    return Shape(dims);
  }

  /// Throws FormatError naming the first setting no reader asked for (an option this version
  /// does not know).
  void require_all_read() const {
    for (const std::string& k : keys_) {
      bool read = k == "name";
      for (const std::string& r : read_) read = read || r == k;
      require<FormatError>(read, where_, ": layer '", resilinet::quoted(name()), "' (", kind_,
                           ") has unknown option '", resilinet::quoted(k), "'");
    }
  }

 private:
  explicit LayerSpec(std::string kind) : kind_(std::move(kind)) {}

  // 1 to 18 decimal digits: a size that fits std::size_t.
  static bool is_count(const std::string& s) {
    return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  static std::string escape(const std::string& s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
      if (c == '%' || c == '=' || c <= ' ' || c == 127) {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += char(c);
      }
    }
    return out.empty() ? "%" : out;  // a lone '%' stands for the empty text
  }

  static std::string unescape(const std::string& s, const std::string& where) {
    if (s == "%") return "";
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '%') {
        out += s[i];
        continue;
      }
      const auto hex = [&](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        throw FormatError(where + ": bad escape in '" + resilinet::quoted(s) + "'");
      };
      require<FormatError>(i + 2 < s.size(), where, ": bad escape in '", resilinet::quoted(s), "'");
      out += char(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    }
    return out;
  }

  std::string kind_;
  std::vector<std::string> keys_;
  std::map<std::string, std::string> values_;
  std::string where_ = "layer";
  mutable std::vector<std::string> read_;
};

}  // namespace resilinet
