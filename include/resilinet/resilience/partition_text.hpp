#pragma once
/// \file
/// The text form of a Partition, which model files store: one line per item, each kind of
/// line a small record that both writes and reads itself, so the format is written down once.
///
///     partitioned-network 1
///     merge <rule>
///     node <name> <tier> <failable> <survival> <granularity>
///     input <name> <slot>...
///     link <key> <from> <to> <kind> <group key> <transform or -> <weight> <enabled>
///     failure-order <name>...
///     exit <node> <loss weight>          (one per early exit, none in a network without)
///     layers <node>                      (version 2: each node's layers, then each link
///     <the node's layer lines>            transform's, then each exit head's, as LayerReader
///     transform <link key>                reads them, so that load_network() rebuilds the
///     <the transform's layer lines>       network from the file)
///     head <node>
///     <the exit head's layer lines>
///
/// A file is read against a partition built the same way: every word before the layers must
/// match except a node's failout settings and a link's weight and enabled flag, which the file
/// may carry differently (it scores with exactly the weights it was trained with); the layers
/// are checked by their parameters' names and shapes. Version 1 (no layers) reads the same.

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/nn/layer_reader.hpp"
#include "resilinet/resilience/partition.hpp"

namespace resilinet {

namespace detail {

/// The number in `word` of line `line` (FormatError when it is not a finite number).
inline double text_number(const std::string& word, std::size_t line) {
  char* end = nullptr;
  const double v = std::strtod(word.c_str(), &end);
  require<FormatError>(!word.empty() && *end == '\0' && std::isfinite(v), "line ", line, ": '",
                       resilinet::quoted(word), "' is not a number");
  return v;
}

/// The whitespace-separated words of a line.
inline std::vector<std::string> text_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace detail

/// A node line: "node <name> <tier> <failable> <survival> <granularity>".
struct NodeRecord {
  /// The words a file must share with the built partition ("node", name, tier, failable).
  static constexpr std::size_t identity_words = 4;

  /// Writes node `n`'s line.
  template <class T>
  static void write(std::ostream& out, const PhysicalNode<T>& n) {
    out << "node " << n.name << " " << int(n.tier) << " " << int(n.failable) << " "
        << n.failout.survival_rate() << " " << int(n.failout.granularity()) << "\n";
  }

  /// The failout a node line (`words` of line number `line`) carries; FormatError when out of range.
  static Failout read(const std::vector<std::string>& words, const std::string& text, std::size_t line) {
    const double survival = detail::text_number(words[4], line);
    const double granularity = detail::text_number(words[5], line);
    require<FormatError>(survival >= 0 && survival <= 1 && (granularity == 0 || granularity == 1),
                         "line ", line, ": failout '", resilinet::quoted(text, 120), "' out of range");
    return Failout(survival, FailoutGranularity(int(granularity)));
  }
};

/// A link line: "link <key> <from> <to> <kind> <group key> <transform or -> <weight> <enabled>".
struct LinkRecord {
  /// The words a file must share with the built partition (all but weight and enabled).
  static constexpr std::size_t identity_words = 7;

  /// Writes link `l` of `p`.
  template <class T>
  static void write(std::ostream& out, const Partition<T>& p, const Link<T>& l) {
    out << "link " << l.key << " " << p.nodes()[l.from]->name << " " << p.nodes()[l.to]->name << " "
        << int(l.kind) << " " << p.links()[l.group].key << " "
        << (l.transform ? l.transform->name() : "-") << " " << l.weight << " " << int(l.enabled) << "\n";
  }

  /// A link line's weight and enabled flag.
  struct Settings {
    /// The link's fixed weight.
    double weight;
    /// Whether the link carries data.
    bool enabled;
  };

  /// The settings a link line (`words` of line number `line`) carries; FormatError when malformed.
  static Settings read(const std::vector<std::string>& words, std::size_t line) {
    const double weight = detail::text_number(words[7], line);
    require<FormatError>(words[8] == "0" || words[8] == "1", "line ", line, ": enabled flag '",
                         resilinet::quoted(words[8]), "' is not 0 or 1");
    return Settings{weight, words[8] == "1"};
  }
};

/// The text form of `p` (see the file comment), version 2 with its layers or 1 without;
/// numbers with 17 significant digits.
template <class T>
std::string describe_partition(const Partition<T>& p, bool with_layers = true) {
  std::ostringstream out;
  out.precision(17);
  out << "partitioned-network " << (with_layers ? 2 : 1) << "\nmerge " << int(p.merge_rule()) << "\n";
  for (const auto& n : p.nodes()) NodeRecord::write(out, *n);
  for (const auto& n : p.nodes()) {
    if (n->input_slots.empty()) continue;
    out << "input " << n->name;
    for (std::size_t slot : n->input_slots) out << " " << slot;
    out << "\n";
  }
  for (const Link<T>& l : p.links()) LinkRecord::write(out, p, l);
  out << "failure-order";
  for (std::size_t n : p.failure_order()) out << " " << p.nodes()[n]->name;
  out << "\n";
  for (const ExitHead<T>& e : p.exits()) out << "exit " << p.nodes()[e.node]->name << " " << e.loss_weight << "\n";
  if (!with_layers) return out.str();
  for (const auto& n : p.nodes()) {
    out << "layers " << n->name << "\n";
    write_layer_specs(n->layers, out);
  }
  for (const Link<T>& l : p.links()) {
    if (!l.transform) continue;
    out << "transform " << l.key << "\n";
    write_layer_specs(*l.transform, out);
  }
  for (const ExitHead<T>& e : p.exits()) {
    out << "head " << p.nodes()[e.node]->name << "\n";
    write_layer_specs(*e.head, out);
  }
  return out.str();
}

namespace detail {

/// The lines of a partition's text form before its layers, the header read as version 1, and
/// the layer lines after them (see the file comment).
struct PartitionTextParts {
  /// Everything up to the exits, as describe_partition(p, false) writes it.
  std::string structure;
  /// The "layers", "transform" and "head" sections (empty for version 1).
  std::vector<std::string> layers;
  /// Line number of layers[0] in the whole text.
  std::size_t first_layer_line = 0;
};

/// True for the first line of a layer section ("layers", "transform" or "head").
inline bool starts_section(const std::string& line) {
  return line.rfind("layers ", 0) == 0 || line.rfind("transform ", 0) == 0 || line.rfind("head ", 0) == 0;
}

/// Splits `description` into its structure and layer lines.
inline PartitionTextParts split_partition_text(const std::string& description) {
  PartitionTextParts parts;
  std::istringstream in(description);
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (number == 1 && line == "partitioned-network 2") line = "partitioned-network 1";
    const bool section = starts_section(line);
    if (parts.layers.empty() && !section) {
      parts.structure += line + "\n";
      continue;
    }
    if (parts.layers.empty()) parts.first_layer_line = number;
    parts.layers.push_back(line);
  }
  return parts;
}

}  // namespace detail

/// Checks that `description` was made by a partition built like `p` (FormatError naming the
/// first differing line; `network` names p in it); with `apply` adopts its failout settings,
/// link weights and enabled flags.
template <class T>
void configure_partition(Partition<T>& p, const std::string& description, bool apply, const std::string& network) {
  const std::string mine = describe_partition(p, false);
  std::istringstream theirs_in(detail::split_partition_text(description).structure), mine_in(mine);
  std::string theirs_line, mine_line;
  std::size_t line = 0, node = 0, link = 0;
  while (true) {
    const bool more_theirs = bool(std::getline(theirs_in, theirs_line));
    const bool more_mine = bool(std::getline(mine_in, mine_line));
    if (!more_theirs && !more_mine) break;
    ++line;
    const auto a = detail::text_words(theirs_line), b = detail::text_words(mine_line);
    const bool is_node = !b.empty() && b[0] == "node", is_link = !b.empty() && b[0] == "link";
    const std::size_t fixed = is_node ? NodeRecord::identity_words : is_link ? LinkRecord::identity_words : b.size();
    bool same = a.size() == b.size();
    for (std::size_t k = 0; same && k < fixed; ++k) same = a[k] == b[k];
    require<FormatError>(same, "the saved network differs from '", network, "' at line ", line,
                         ": saved '", resilinet::quoted(theirs_line, 120), "', built '", mine_line, "'");
    if (is_node) {
      const Failout failout = NodeRecord::read(a, theirs_line, line);
      if (apply) p.nodes()[node++]->failout = failout;
    } else if (is_link) {
      const LinkRecord::Settings settings = LinkRecord::read(a, line);
      if (!apply) continue;
      Link<T>& l = p.link(link++);
      l.weight = settings.weight;
      l.enabled = settings.enabled;
    }
  }
}

}  // namespace resilinet
