#pragma once
/// \file
/// load_network(): a PartitionedNetwork rebuilt from its model file alone, as Keras's
/// `load_model` does: the file's description (version 2, partition_text.hpp) names every node,
/// link, transform and layer, and its parameters fill them. The network is ready to train
/// further, evaluate or serve; no code that built it is needed.

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "resilinet/io/model_file.hpp"
#include "resilinet/nn/layer_reader.hpp"
#include "resilinet/resilience/partitioned_network.hpp"

namespace resilinet {

namespace detail {

/// Builds the network a version-2 partition description names (`where` names it in errors):
/// nodes, input slots, layers, links with their transforms, the failure order and the exits; its failout,
/// link weights and enabled flags are then adopted through configure(). Parameters start at 0
/// and none may hold more than `max_values` values.
template <class T>
std::unique_ptr<PartitionedNetwork<T>> build_from_description(const std::string& description, const std::string& name,
                                                              const std::string& where, std::size_t max_values) {
  const PartitionTextParts parts = split_partition_text(description);
  require<FormatError>(description.rfind("partitioned-network 2\n", 0) == 0, where,
                       ": the model file holds no layers (saved before format 'partitioned-network 2' or not "
                       "by a PartitionedNetwork): build the network in code and use load_parameters()");
  std::istringstream in(parts.structure);
  std::vector<std::vector<std::string>> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(text_words(line));
  const auto bad = [&](std::size_t i) {
    std::string text;
    for (const std::string& w : lines[i]) text += (text.empty() ? "" : " ") + w;
    return FormatError(where + " line " + std::to_string(i + 1) + ": malformed '" + resilinet::quoted(text, 120) + "'");
  };
  const auto small = [&](std::size_t i, std::size_t k, int limit) {
    const double v = text_number(lines[i][k], i + 1);
    if (v != double(int(v)) || v < 0 || v > limit) throw bad(i);
    return int(v);
  };
  std::unique_ptr<PartitionedNetwork<T>> net;
  for (std::size_t i = 0; i < lines.size(); ++i) {  // the merge rule and the nodes
    const std::vector<std::string>& w = lines[i];
    if (w.empty()) throw bad(i);
    if (w[0] == "merge" && w.size() == 2 && !net) {
      net = std::make_unique<PartitionedNetwork<T>>(name, MergeRule(small(i, 1, int(MergeRule::mux_batch_sum))));
    } else if (w[0] == "node" && w.size() == 6 && net) {
      net->add_node(w[1], Tier(small(i, 2, int(Tier::cloud))), small(i, 3, 1) == 1);  // failout: configure()
    } else if (w[0] == "input" && w.size() >= 2 && net) {
      std::vector<std::size_t>& slots = net->nodes()[net->index_of(w[1])]->input_slots;
      for (std::size_t k = 2; k < w.size(); ++k) slots.push_back(std::size_t(small(i, k, 1 << 20)));
    } else if (w[0] != "partitioned-network" && w[0] != "link" && w[0] != "failure-order" && w[0] != "exit") {
      throw bad(i);
    }
  }
  require<FormatError>(net != nullptr, where, ": the description has no merge line");
  std::map<std::string, std::unique_ptr<Module<T>>> transforms, heads;
  std::vector<bool> filled(net->nodes().size(), false);
  for (std::size_t i = 0; i < parts.layers.size();) {  // each node's layers, each transform
    const std::vector<std::string> w = text_words(parts.layers[i]);
    std::size_t end = i + 1;
    while (end < parts.layers.size() && !starts_section(parts.layers[end])) ++end;
    LayerReader<T> reader(std::vector<std::string>(parts.layers.begin() + long(i) + 1, parts.layers.begin() + long(end)),
                          where, parts.first_layer_line + i + 1, max_values);
    require<FormatError>(w.size() == 2, where, " line ", parts.first_layer_line + i, ": malformed '",
                         resilinet::quoted(parts.layers[i], 120), "'");
    if (w[0] == "layers") {
      const std::size_t n = net->index_of(w[1]);
      require<FormatError>(!filled[n], where, ": two layer sections for node '", w[1], "'");
      reader.fill(net->nodes()[n]->layers);
      filled[n] = true;
    } else {
      auto& into = w[0] == "head" ? heads : transforms;
      require<FormatError>(!into.count(w[1]), where, ": two ", w[0], "s for '", resilinet::quoted(w[1]), "'");
      into[w[1]] = reader.next();
    }
    require<FormatError>(reader.at_end(), where, " line ", parts.first_layer_line + i,
                         ": more layer lines than '", resilinet::quoted(parts.layers[i], 120), "' holds");
    i = end;
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {  // the links and the failure order
    const std::vector<std::string>& w = lines[i];
    if (w[0] == "link") {
      if (w.size() != 9) throw bad(i);
      const std::string& key = w[1];
      auto transform = transforms.find(key);
      const bool has_transform = w[6] != "-";
      require<FormatError>(has_transform == (transform != transforms.end()), where, " line ", i + 1, ": link '",
                           resilinet::quoted(key), "' names transform '", resilinet::quoted(w[6]), "' but the layers ",
                           has_transform ? "hold none for it" : "hold one");
      if (small(i, 4, int(LinkKind::skip)) == int(LinkKind::main)) {
        require<FormatError>(!has_transform && w[5] == key, where, " line ", i + 1, ": main link '", resilinet::quoted(key),
                             "' must open its own group and carry no transform");
        net->add_main_link(w[2], w[3], key);
      } else {
        const std::string main_source = net->nodes()[net->links()[net->partition().link_index(w[5])].from]->name;
        net->add_skip(w[2], w[3], key, main_source, has_transform ? std::move(transform->second) : nullptr);
        if (has_transform) transforms.erase(transform);
      }
    } else if (w[0] == "failure-order") {
      net->set_failure_order(std::vector<std::string>(w.begin() + 1, w.end()));
    } else if (w[0] == "exit") {
      if (w.size() != 3) throw bad(i);
      auto head = heads.find(w[1]);
      require<FormatError>(head != heads.end(), where, " line ", i + 1, ": exit at '", resilinet::quoted(w[1]),
                           "' but the layers hold no head for it");
      net->add_exit(w[1], std::move(head->second), text_number(w[2], i + 1));
      heads.erase(head);
    }
  }
  for (std::size_t n = 0; n < filled.size(); ++n)
    require<FormatError>(filled[n], where, ": no layers for node '", net->nodes()[n]->name, "'");
  require<FormatError>(transforms.empty(), where, ": a transform for link '",
                       transforms.empty() ? "" : resilinet::quoted(transforms.begin()->first), "', which the network does not have");
  require<FormatError>(heads.empty(), where, ": an exit head for node '",
                       heads.empty() ? "" : resilinet::quoted(heads.begin()->first), "', which has no exit line");
  net->configure(description, true);  // failout, link weights and enabled flags
  return net;
}

}  // namespace detail

/// The network saved at `path` by save_parameters(), rebuilt from the file alone and named
/// `name` (default: the file's name without folder and extension). Throws IoError /
/// FormatError naming the problem: a file saved before layers were stored, an unknown layer
/// kind or option, a parameter missing or of the wrong shape.
template <class T>
std::unique_ptr<PartitionedNetwork<T>> load_network(const std::string& path, std::string name = "") {
  if (name.empty()) {
    name = path.substr(path.find_last_of('/') + 1);
    name = name.substr(0, name.find_last_of('.'));
  }
  detail::ModelFileContents<T> file = detail::read_model_file<T>(path);
  std::unique_ptr<PartitionedNetwork<T>> net;
  try {
    std::size_t values = 0;
    for (const Tensor<T>& v : file.values) values = std::max(values, v.size());
    net = detail::build_from_description<T>(file.description, name, "'" + path + "'", values);
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {  // a description the builder's own checks refuse
    throw FormatError("'" + path + "': " + e.what());
  }
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < file.names.size(); ++i)
    require<FormatError>(index.emplace(file.names[i], i).second, "'", path, "': parameter '",
                         resilinet::quoted(file.names[i]), "' appears twice");
  const std::vector<Parameter<T>*> params = net->parameters();
  require<FormatError>(params.size() == file.names.size(), "'", path, "' holds ", file.names.size(),
                       " parameters but its layers have ", params.size());
  std::vector<Tensor<T>*> values;
  for (Parameter<T>* p : params) {
    const auto it = index.find(p->name());
    require<FormatError>(it != index.end(), "'", path, "': no values for parameter '", resilinet::quoted(p->name()), "'");
    detail::check_parameter_shape(*p, file.values[it->second], path);
    values.push_back(&file.values[it->second]);
  }
  detail::adopt_model_file(*net, params, values, file, path);
  return net;
}

}  // namespace resilinet
