#pragma once
/// \file
/// Deployment: where each physical node of a network runs, read from a small text file.
///
/// One item per line, `#` starts a comment:
///
///     model Health1average_accuracy_ResiliNet.rsln   # model file, relative to this file: it
///                                                    # holds the whole network (load_network)
///     input 23                                       # shape of one example
///     source tcp://127.0.0.1:5600                    # where input nodes pull examples from
///     deadline-ms 500                                # how long a request may take in all
///     max-message-bytes 16777216                     # larger messages are refused
///     node iot tcp://127.0.0.1:5601                  # one line per physical node: its name
///     node edge tcp://127.0.0.1:5602                 # (as in the network) and the endpoint
///     ...                                            # it binds and its sources connect to
///
/// Optional `link FROM TO latency-ms=L mbit=B loss=P` lines give the link that carries FROM's
/// answers to TO (a node, or `client` for the output node's answers; FROM `client` for the
/// examples an input node pulls from the source) a one-way delay, a rate and a loss
/// probability, which the sending side emulates (LinkEmulator), so one machine behaves like
/// the IoT/edge/fog/cloud hierarchy. The pulls that ask for data travel free. An optional
/// `uplink NODE mbit=B` line gives NODE (or `client`) one transmitter of B Mbit/s that every
/// answer it sends, to any consumer, goes out on in turn (a sensor's one radio), in place of
/// per-link rates; its links may still add latency and loss.
///
/// An optional `curve-keys DIR` line (relative to this file) makes every connection a CURVE
/// one: each process's key pair is in DIR (`<name>.key`, `<name>.pub`; `resilinet-keys` writes
/// them), and a node admits only the keys of the processes named here (CurveSecurity).
///
/// Optional `sensor NAME ENDPOINT SLOT...` lines make sensors (e.g. the camera network's six
/// cameras) the example source in place of `source`: each is its own process that binds
/// ENDPOINT and serves the named slots of the input's first axis (`input 6 32 32 3`: slots 0 to
/// 5), and an input node pulls its slots from the sensors that serve them. A sensor answers
/// request r with example r of its recording (modulo its length), so every sensor of a
/// request serves the same moment.
///
/// An optional `network <builder> key=value...` line (e.g. `network health variant=resilinet
/// partition=1`) builds the network in code instead, for model files saved before they held
/// their layers.

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/core/shape.hpp"

namespace resilinet::runtime {

/// Where one physical node runs.
struct DeployedNode {
  /// Name of the node in the network.
  std::string name;
  /// ZeroMQ endpoint the node binds ("tcp://127.0.0.1:5602").
  std::string endpoint;
};

/// A sensor process that serves some slots of the network input (a `sensor` line).
struct DeployedSensor {
  /// Name of the sensor process ("cam1").
  std::string name;
  /// ZeroMQ endpoint the sensor binds.
  std::string endpoint;
  /// The slots of the input's first axis it serves, in the order its answers hold them.
  std::vector<std::size_t> slots;
};

/// The conditions of the link carrying one node's answers to one consumer.
struct LinkConditions {
  /// Sending node, or "client" for the examples the client serves to an input node.
  std::string from;
  /// Receiving node, or "client" for the output node's answers to the client.
  std::string to;
  /// One-way delay added to every answer, in milliseconds.
  double latency_ms = 0;
  /// Rate in Mbit/s (10^6 bits per second); 0 means unlimited.
  double mbit = 0;
  /// Probability that an answer is lost (its consumer then misses it at its deadline).
  double loss = 0;
};

/// A whole deployment description (see the file comment).
struct Deployment {
  /// Builder of the network ("health"); empty: the model file holds the whole network.
  std::string network;
  /// The builder's options (variant, partition, mux, ...).
  std::map<std::string, std::string> options;
  /// Path of the model file (made absolute against the description's folder).
  std::string model;
  /// Shape of one example of the network input.
  Shape input;
  /// Endpoint of the example source that input nodes pull from (the launcher binds it).
  std::string source;
  /// Milliseconds a request may take end to end; each node plans its waits within it.
  double deadline_ms = 500;
  /// Largest message a socket accepts, in bytes.
  std::size_t max_message_bytes = std::size_t(1) << 24;
  /// Every physical node, in the order of the description.
  std::vector<DeployedNode> nodes;
  /// The emulated links (`link` lines); every other link is the machine's own.
  std::vector<LinkConditions> links;
  /// Shared uplink rates in Mbit/s by sending node (`uplink` lines).
  std::map<std::string, double> uplinks;
  /// Folder of the processes' CURVE keys (made absolute like `model`); empty: no CURVE.
  std::string curve_keys;
  /// The sensors (`sensor` lines); empty: input nodes pull whole examples from `source`.
  std::vector<DeployedSensor> sensors;

  /// The node called `name` (ValueError when the deployment has none).
  const DeployedNode& node(const std::string& name) const {
    for (const DeployedNode& n : nodes)
      if (n.name == name) return n;
    throw ValueError("the deployment has no node '" + name + "'");
  }

  /// The sensor called `name` (ValueError when the deployment has none).
  const DeployedSensor& sensor(const std::string& name) const {
    for (const DeployedSensor& n : sensors)
      if (n.name == name) return n;
    throw ValueError("the deployment has no sensor '" + name + "'");
  }

  /// The endpoint of node or sensor `name` (ValueError when the deployment has neither).
  const std::string& endpoint_of(const std::string& name) const {
    for (const DeployedSensor& n : sensors)
      if (n.name == name) return n.endpoint;
    return node(name).endpoint;
  }

  /// Every process of the deployment: "client" (the launcher), the nodes, the sensors.
  std::vector<std::string> process_names() const {
    std::vector<std::string> names{"client"};
    for (const DeployedNode& n : nodes) names.push_back(n.name);
    for (const DeployedSensor& n : sensors) names.push_back(n.name);
    return names;
  }
};

/// True for a tcp endpoint on 127.0.0.1 or localhost (what a node binds without being told to
/// listen on other interfaces).
inline bool is_loopback_endpoint(const std::string& endpoint) {
  return endpoint.rfind("tcp://127.0.0.1:", 0) == 0 || endpoint.rfind("tcp://localhost:", 0) == 0;
}

namespace detail {

/// Checks that `endpoint` is tcp://HOST:PORT with a port in 1..65535.
inline void check_endpoint(const std::string& endpoint, const std::string& where) {
  const std::size_t colon = endpoint.rfind(':');
  bool ok = endpoint.rfind("tcp://", 0) == 0 && colon != std::string::npos && colon > 6 &&
            colon + 1 < endpoint.size() && endpoint.size() - colon <= 6;
  long port = 0;
  for (std::size_t i = colon + 1; ok && i < endpoint.size(); ++i) {
    ok = endpoint[i] >= '0' && endpoint[i] <= '9';
    port = port * 10 + (endpoint[i] - '0');
  }
  require<FormatError>(ok && port >= 1 && port <= 65535, where, ": endpoint '", resilinet::quoted(endpoint),
                       "' is not tcp://HOST:PORT with a port in 1..65535");
}

}  // namespace detail

/// Reads a deployment description; FormatError naming the file, line and value on any
/// problem (unknown item, missing value, bad endpoint, duplicate node, missing items).
inline Deployment read_deployment(const std::string& path) {
  std::ifstream in(path);
  require<IoError>(bool(in), "cannot open deployment description '", path, "': ", resilinet::detail::os_reason());
  Deployment d;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = "'" + path + "' line " + std::to_string(number);
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string s; words >> s;) w.push_back(s);
    if (w.empty()) continue;
    const std::string& key = w[0];
    const auto need = [&](std::size_t count) {
      require<FormatError>(w.size() == count, where, ": '", key, "' takes ", count - 1,
                           count == 2 ? " value" : " values", ", got ", w.size() - 1);
    };
    const auto number_of = [&](const std::string& text, double lo, double hi, const std::string& what = "") {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      require<FormatError>(!text.empty() && *end == '\0' && v >= lo && v <= hi, where, ": ",
                           what.empty() ? key : what, " '", resilinet::quoted(text), "' is not a number in [", lo, ", ", hi, "]");
      return v;
    };
    if (key == "network") {
      require<FormatError>(w.size() >= 2, where, ": 'network' needs a builder name");
      d.network = w[1];
      for (std::size_t k = 2; k < w.size(); ++k) {
        const std::size_t eq = w[k].find('=');
        require<FormatError>(eq != std::string::npos && eq > 0, where, ": network option '",
                             resilinet::quoted(w[k]), "' is not key=value");
        d.options[w[k].substr(0, eq)] = w[k].substr(eq + 1);
      }
    } else if (key == "model" || key == "curve-keys") {
      need(2);
      const std::size_t slash = path.rfind('/');
      (key == "model" ? d.model : d.curve_keys) =
          w[1][0] == '/' || slash == std::string::npos ? w[1] : path.substr(0, slash + 1) + w[1];
    } else if (key == "input") {
      require<FormatError>(w.size() >= 2 && w.size() <= 1 + Shape::max_rank - 1, where,
                           ": 'input' takes 1 to ", Shape::max_rank - 1, " dimensions");
      std::vector<std::size_t> dims;
      for (std::size_t k = 1; k < w.size(); ++k) dims.push_back(std::size_t(number_of(w[k], 1, 1e6)));
      d.input = Shape(dims);
    } else if (key == "source") {
      need(2);
      detail::check_endpoint(w[1], where);
      d.source = w[1];
    } else if (key == "deadline-ms") {
      need(2);
      d.deadline_ms = number_of(w[1], 1, 3.6e6);
    } else if (key == "max-message-bytes") {
      need(2);
      d.max_message_bytes = std::size_t(number_of(w[1], 1024, 1 << 30));
    } else if (key == "node") {
      need(3);
      detail::check_endpoint(w[2], where);
      for (const DeployedNode& n : d.nodes) {
        require<FormatError>(n.name != w[1], where, ": node '", w[1], "' is listed twice");
        require<FormatError>(n.endpoint != w[2], where, ": endpoint '", w[2], "' is used by '",
                             n.name, "' already");
      }
      d.nodes.push_back({w[1], w[2]});
    } else if (key == "sensor") {
      require<FormatError>(w.size() >= 4, where, ": 'sensor' takes NAME ENDPOINT and at least one SLOT");
      detail::check_endpoint(w[2], where);
      DeployedSensor sensor{w[1], w[2], {}};
      for (std::size_t k = 3; k < w.size(); ++k) sensor.slots.push_back(std::size_t(number_of(w[k], 0, 1e6, "slot")));
      d.sensors.push_back(sensor);
    } else if (key == "link") {
      require<FormatError>(w.size() >= 4, where, ": 'link' takes FROM TO and at least one of latency-ms=, mbit=, loss=");
      LinkConditions c{w[1], w[2]};
      for (const LinkConditions& l : d.links)
        require<FormatError>(l.from != c.from || l.to != c.to, where, ": link ", c.from, " -> ", c.to, " is listed twice");
      for (std::size_t k = 3; k < w.size(); ++k) {
        const std::size_t eq = w[k].find('=');
        const std::string name = w[k].substr(0, eq), value = eq == std::string::npos ? "" : w[k].substr(eq + 1);
        if (name == "latency-ms") c.latency_ms = number_of(value, 0, 6e4, name);
        else if (name == "mbit") c.mbit = number_of(value, 1e-3, 1e6, name);
        else if (name == "loss") c.loss = number_of(value, 0, 0.99, name);
        else throw FormatError(where + ": link setting '" + resilinet::quoted(w[k]) + "' is not latency-ms=, mbit= or loss=");
      }
      d.links.push_back(c);
    } else if (key == "uplink") {
      need(3);
      require<FormatError>(w[2].rfind("mbit=", 0) == 0, where, ": uplink setting '", resilinet::quoted(w[2]),
                           "' is not mbit=");
      require<FormatError>(!d.uplinks.count(w[1]), where, ": uplink ", w[1], " is listed twice");
      d.uplinks[w[1]] = number_of(w[2].substr(5), 1e-3, 1e6, "mbit");
    } else {
      throw FormatError(where + ": unknown item '" + resilinet::quoted(key) +
                        "' (expected network, model, input, source, deadline-ms, "
                        "max-message-bytes, node, sensor, link, uplink or curve-keys)");
    }
  }
  for (const auto& [item, missing] : {std::pair<const char*, bool>{"model", d.model.empty()},
                                      {"input", d.input.rank() == 0},
                                      {"source", d.source.empty()},
                                      {"node", d.nodes.empty()}})
    require<FormatError>(!missing, "'", path, "': no '", item, "' line");
  std::map<std::string, std::string> endpoints{{d.source, "the source"}};  // every process's, once
  const auto claim = [&](const std::string& endpoint, const std::string& who) {
    const auto [it, fresh] = endpoints.emplace(endpoint, who);
    require<FormatError>(fresh, "'", path, "': ", who, " has the endpoint of ", it->second, ": '", endpoint, "'");
  };
  std::map<std::string, int> names;
  for (const std::string& name : d.process_names())
    require<FormatError>(++names[name] == 1, "'", path, "': '", name, "' ",
                         name == "client" ? "names the launcher; a node or sensor may not take it" : "is listed twice");
  std::vector<std::string> served(d.input[0]);  // the sensor serving each slot
  for (const DeployedSensor& sensor : d.sensors) {
    claim(sensor.endpoint, "sensor '" + sensor.name + "'");
    for (std::size_t slot : sensor.slots) {
      require<FormatError>(slot < d.input[0], "'", path, "': sensor '", sensor.name, "' serves slot ", slot,
                           " but the input ", d.input, " has slots 0 to ", d.input[0] - 1);
      require<FormatError>(served[slot].empty(), "'", path, "': slot ", slot, " is served by '", served[slot],
                           "' and '", sensor.name, "'");
      served[slot] = sensor.name;
    }
  }
  for (const DeployedNode& n : d.nodes) claim(n.endpoint, "node '" + n.name + "'");
  const auto deployed = [&](const std::string& name) {
    return std::any_of(d.nodes.begin(), d.nodes.end(), [&](const DeployedNode& n) { return n.name == name; }) ||
           std::any_of(d.sensors.begin(), d.sensors.end(), [&](const DeployedSensor& n) { return n.name == name; });
  };
  for (const LinkConditions& l : d.links)
    require<FormatError>((deployed(l.from) || l.from == "client") && (deployed(l.to) || l.to == "client") &&
                             l.from != l.to,
                         "'", path, "': link ", l.from, " -> ", l.to,
                         " does not join two deployed processes (nodes, sensors or client)");
  for (const auto& [from, mbit] : d.uplinks) {
    require<FormatError>(deployed(from) || from == "client", "'", path, "': uplink ", from,
                         " is not a deployed node, sensor or client");
    for (const LinkConditions& l : d.links)
      require<FormatError>(l.from != from || l.mbit == 0, "'", path, "': link ", l.from, " -> ", l.to,
                           " sets mbit= but ", from, " sends on a shared uplink");
  }
  return d;
}

}  // namespace resilinet::runtime
