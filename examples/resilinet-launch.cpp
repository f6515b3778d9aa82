// resilinet-launch: starts every node of a deployment as its own resilinet-node process on
// this machine, streams the test set through it one example per request, kills and restarts
// nodes on a schedule, and reports accuracy over time, latency, bytes per link and requests
// answered. It checks the runtime's guarantees on the way: every request answered exactly
// once, each answer equal to the simulation (PartitionedNetwork::infer under the failure
// pattern the answer reports), malformed messages refused and counted. Exit status 3 when a
// guarantee fails. See docs/deployment.md.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>
#include <resilinet/runtime/client.hpp>

#include "common/deployed_network.hpp"
#include "common/deployed_test_set.hpp"
#include "common/experiment.hpp"

extern char** environ;

namespace {

using resilinet::require;
using resilinet::runtime::Message;
using resilinet::runtime::message_header_bytes;
namespace message_offset = resilinet::runtime::message_offset;

/// "kill edge@200": what happens to which node before which request.
struct Event {
  bool kill = true;
  std::string node;
  std::size_t at = 0;
};

Event parse_event(const std::string& text, bool kill) {
  const std::size_t at = text.find('@');
  char* end = nullptr;
  const unsigned long long k = at == std::string::npos ? 0 : std::strtoull(text.c_str() + at + 1, &end, 10);
  require(at != std::string::npos && at > 0 && end && *end == '\0' && at + 1 < text.size() &&
              text[at + 1] >= '0' && text[at + 1] <= '9',
          kill ? "--kill" : "--restart", " '", resilinet::quoted(text), "' is not NODE@REQUEST");
  return {kill, text.substr(0, at), std::size_t(k)};
}

/// One node process (Cluster keys them by node name).
struct Process {
  pid_t pid = 0;
  int starts = 0;
};

/// What came back for one request.
struct Outcome {
  bool answered = false;
  bool error = false;
  double latency_ms = 0;
  Message answer;
  int prediction = -1;
  int label = 0;
  bool simulated_equal = false;
  bool consistent = false;
  bool flow = false;
  /// The node whose early exit gave the answer (-1: the output node answered).
  int exit_node = -1;

  /// Whether the answer names the example's label.
  bool correct() const { return prediction == label; }
};

/// Correct and answered requests among outcomes [from, to).
struct Tally {
  std::size_t correct = 0, answered = 0;
};

Tally tally(const std::vector<Outcome>& outcomes, std::size_t from, std::size_t to) {
  Tally t;
  for (std::size_t i = from; i < to; ++i) {
    t.correct += outcomes[i].correct();
    t.answered += outcomes[i].answered;
  }
  return t;
}

/// The first request of the accuracy window that ends with request i.
std::size_t window_start(std::size_t i, std::size_t window) { return i + 1 >= window ? i + 1 - window : 0; }

std::string self_folder() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, std::size_t(n));
  return path.substr(0, path.rfind('/'));
}

/// Starts the program `args[0]` with arguments `args`, its output appended to `log`.
pid_t spawn(std::vector<std::string> args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const std::string binary = args[0];
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  require<resilinet::IoError>(rc == 0, "cannot start '", binary, "': ", std::strerror(rc));
  return pid;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, std::size_t(p * double(v.size() - 1) + 0.5))];
}

/// A stats answer's value for `key` (-1 when absent).
long long stat_value(const std::string& text, const std::string& key) {
  const std::size_t at = (" " + text).find(" " + key + "=");
  return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + key.size() + 1);
}

/// Malformed message number k (of several kinds) for the nodes' message checks.
std::string malformed(std::size_t k, resilinet::Rng& rng) {
  Message pull;
  pull.type = resilinet::runtime::MessageType::pull;
  pull.batch = 1;
  std::string good = resilinet::runtime::encode(pull);
  switch (k % 8) {
    case 0: {
      std::string junk(1 + rng.next_u64() % 200, '\0');
      for (char& c : junk) c = char(rng.next_u64());
      return junk;
    }
    case 1: good[message_offset::magic] = 'X'; return good;    // wrong magic
    case 2: return good.substr(0, 1 + rng.next_u64() % (message_header_bytes - 1));  // truncated header
    case 3: good[message_offset::version] = 9; return good;    // unknown version
    case 4: good[message_offset::type] = 77; return good;      // unknown type
    case 5: return good + "extra";                              // a pull with a payload
    case 6: good[message_offset::reserved + 4] = 1; return good;  // reserved bytes set
    default: {                                                  // output whose shape lies
      Message out;
      out.type = resilinet::runtime::MessageType::output;
      out.shape = resilinet::Shape{1, 4};
      out.values = {1, 2, 3, 4};
      std::string b = resilinet::runtime::encode(out);
      b[message_offset::dims] = char(200);  // first dimension 200: 800 values announced, 4 present
      return b;
    }
  }
}

std::string svg_timeline(const std::vector<Outcome>& outcomes, const std::vector<Event>& events,
                         std::size_t window) {
  const double w = 900, h = 420, left = 60, right = 20, top = 30, mid = 210, bottom = 380;
  const double n = double(std::max<std::size_t>(outcomes.size(), 2) - 1);
  double max_latency = 1e-3, min_latency = 1e9;
  for (const Outcome& o : outcomes) {
    max_latency = std::max(max_latency, o.latency_ms);
    if (o.latency_ms > 0) min_latency = std::min(min_latency, o.latency_ms);
  }
  const double log_hi = std::ceil(std::log10(max_latency));
  const double log_lo = std::min(std::floor(std::log10(std::min(min_latency, max_latency))), log_hi - 1);
  const double decades = log_hi - log_lo;
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  const auto x = [&](double i) { return left + (w - left - right) * i / n; };
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
    << "' font-family='sans-serif' font-size='11'>\n<rect width='100%' height='100%' fill='white'/>\n";
  s << "<text x='" << left << "' y='18'>accuracy over the last " << window
    << " requests (top) and latency per request, ms, log scale (bottom)</text>\n";
  for (double y0 : {top, mid + 20}) s << "<line x1='" << left << "' y1='" << y0 << "' x2='" << left
                                      << "' y2='" << (y0 == top ? mid - 10 : bottom) << "' stroke='black'/>\n";
  for (double a : {0.0, 0.5, 1.0}) {
    const double y = mid - 10 - (mid - 10 - top) * a;
    s << "<text x='" << left - 30 << "' y='" << y + 4 << "'>" << a << "</text><line x1='" << left << "' y1='"
      << y << "' x2='" << w - right << "' y2='" << y << "' stroke='#ddd'/>\n";
  }
  for (double e = log_lo; e <= log_hi; ++e) {
    const double y = bottom - (bottom - mid - 20) * (e - log_lo) / decades;
    char label[32];
    std::snprintf(label, sizeof label, "%g", std::pow(10.0, e));
    s << "<text x='" << left - 45 << "' y='" << y + 4 << "'>" << label << "</text><line x1='" << left
      << "' y1='" << y << "' x2='" << w - right << "' y2='" << y << "' stroke='#ddd'/>\n";
  }
  const std::size_t step = outcomes.size() > 1000 ? std::size_t(std::pow(10.0, std::floor(std::log10(double(outcomes.size()) / 2)))) : 100;
  for (std::size_t i = 0; i < outcomes.size(); i += step)
    s << "<text x='" << x(double(i)) - 8 << "' y='" << bottom + 14 << "'>" << i << "</text>\n";
  s << "<polyline fill='none' stroke='#1f77b4' stroke-width='1.5' points='";
  std::size_t correct = 0;  // in the window ending at i, slid along (one pass over outcomes)
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const std::size_t from = window_start(i, window);
    correct += outcomes[i].correct();
    if (from > 0) correct -= outcomes[from - 1].correct();
    const double acc = double(correct) / double(i + 1 - from);
    s << x(double(i)) << "," << mid - 10 - (mid - 10 - top) * acc << " ";
  }
  s << "'/>\n";
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const double l = std::clamp(std::log10(std::max(outcomes[i].latency_ms, 1e-9)), log_lo, log_hi);
    s << "<circle cx='" << x(double(i)) << "' cy='" << bottom - (bottom - mid - 20) * (l - log_lo) / decades
      << "' r='1.2' fill='" << (outcomes[i].answered ? "#ff7f0e" : "red") << "'/>\n";
  }
  for (const Event& e : events) {
    const double ex = x(double(e.at));
    s << "<line x1='" << ex << "' y1='" << top << "' x2='" << ex << "' y2='" << bottom << "' stroke='"
      << (e.kill ? "#d62728" : "#2ca02c") << "' stroke-dasharray='4,3'/>\n<text x='" << ex + 3 << "' y='"
      << (e.kill ? top + 12 : top + 26) << "' fill='" << (e.kill ? "#d62728" : "#2ca02c") << "'>"
      << (e.kill ? "kill " : "restart ") << e.node << "@" << e.at << "</text>\n";
  }
  s << "<text x='" << (w - left) / 2 << "' y='" << h - 8 << "'>request</text>\n</svg>\n";
  return s.str();
}

/// What every part of a launch reads: the deployment, its network, the test set and the
/// stream's schedule.
struct Launch {
  std::string deployment_path;
  resilinet::runtime::Deployment deployment;
  std::unique_ptr<resilinet::PartitionedNetwork<float>> net;
  resilinet::Dataset<float> test;
  std::size_t requests = 0;
  std::vector<Event> events;
  std::size_t window = 50;
  double interval_ms = 0;
  std::size_t inflight = 1;

  /// Request i's example (the test set cycled through) as a batch of one.
  resilinet::TensorView<const float> example(std::size_t i) const {
    const std::size_t row = i % test.size();
    return {test.x.data() + row * deployment.input.numel(), deployment.input.prepend(1)};
  }

  /// The names of the nodes whose bits are set in `bits`, separated by `separator`.
  std::string node_names(std::uint64_t bits, const char* separator) const {
    std::string names;
    for (std::size_t n = 0; n < net->nodes().size(); ++n)
      if (bits >> n & 1) names += (names.empty() ? "" : separator) + net->nodes()[n]->name;
    return names;
  }
};

/// The --kill and --restart events, sorted by request.
std::vector<Event> parse_events(const std::vector<std::string>& kills, const std::vector<std::string>& restarts) {
  std::vector<Event> events;
  for (const std::string& k : kills) events.push_back(parse_event(k, true));
  for (const std::string& r : restarts) events.push_back(parse_event(r, false));
  std::stable_sort(events.begin(), events.end(), [](const Event& x, const Event& y) { return x.at < y.at; });
  return events;
}

/// Checks that every event names a failable node of `net`, falls within the stream and kills
/// a running node or restarts a killed one.
void check_schedule(const std::vector<Event>& events, const resilinet::PartitionedNetwork<float>& net,
                    std::size_t requests) {
  std::map<std::string, bool> up;
  for (const auto& n : net.nodes()) up[n->name] = true;
  for (const Event& e : events) {
    const std::size_t i = net.index_of(e.node);
    require(net.nodes()[i]->failable, "node '", e.node, "' is not failable: the network has no path around it");
    require(e.at < requests, e.kill ? "--kill " : "--restart ", e.node, "@", e.at, " is beyond the ", requests,
            " requests");
    require(up[e.node] == e.kill, e.kill ? "--kill " : "--restart ", e.node, "@", e.at, ": the node is ",
            e.kill ? "already down" : "running");
    up[e.node] = !e.kill;
  }
}

/// The node and sensor processes of a deployment on this machine; whatever still runs when it
/// goes is killed (SIGKILL).
class Cluster {
 public:
  /// Processes log to `<out>/node-<name>.log`.
  explicit Cluster(std::string out) : out_(std::move(out)) {}
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  ~Cluster() {
    for (auto& [name, p] : processes_)
      if (p.pid) {
        ::kill(p.pid, SIGKILL);
        ::waitpid(p.pid, nullptr, 0);
      }
  }

  /// The log file of node `name`.
  std::string log_of(const std::string& name) const { return out_ + "/node-" + name + ".log"; }

  /// Makes `command` (program and arguments) the way to start process `name`.
  void add(const std::string& name, std::vector<std::string> command) {
    require<resilinet::IoError>(::access(command[0].c_str(), X_OK) == 0, "program '", command[0],
                                "' is not executable (see --node-binary)");
    commands_[name] = std::move(command);
  }

  /// Starts every process added.
  void start_all() {
    for (const auto& [name, command] : commands_) start(name);
  }

  /// Starts process `name` (its first start truncates its log).
  void start(const std::string& name) {
    Process& p = processes_[name];
    if (p.starts == 0) std::remove(log_of(name).c_str());
    p.pid = spawn(commands_.at(name), log_of(name));
    ++p.starts;
  }

  /// Kills node `name` (SIGKILL) and waits for it.
  void kill(const std::string& name) {
    Process& p = processes_[name];
    ::kill(p.pid, SIGKILL);
    ::waitpid(p.pid, nullptr, 0);
    p.pid = 0;
  }

  /// Waits until every process answers a stats request; an Error when one exits, stays
  /// silent 60 s, or another process answers on its endpoint.
  void wait_ready(resilinet::runtime::Client& client) {
    for (auto& [name, p] : processes_) {
      bool ready = false;
      for (int tries = 0; tries < 600 && !ready; ++tries) {
        const auto stats = client.stats(name, 100);
        const long long pid = stats ? stat_value(*stats, "pid") : -1;
        require(!stats || pid == p.pid, "node '", name, "': another process (pid ", pid,
                ") answers on its endpoint; stop it or give the node another port");
        ready = stats.has_value();
        int wstatus = 0;
        if (!ready && ::waitpid(p.pid, &wstatus, WNOHANG) == p.pid) {
          p.pid = 0;
          throw resilinet::Error("node '" + name + "' exited while starting; see " + log_of(name));
        }
      }
      require(ready, "node '", name, "' did not answer within 60 s; see ", log_of(name));
    }
  }

  /// The running processes' stats answers, then SIGTERM to each and a wait for it.
  std::map<std::string, std::string> stop(resilinet::runtime::Client& client) {
    std::map<std::string, std::string> stats;
    for (const auto& [name, p] : processes_)
      if (p.pid) stats[name] = client.stats(name, 2000).value_or("(no answer)");
    for (auto& [name, p] : processes_)
      if (p.pid) ::kill(p.pid, SIGTERM);
    for (auto& [name, p] : processes_)
      if (p.pid) {
        ::waitpid(p.pid, nullptr, 0);
        p.pid = 0;
      }
    return stats;
  }

  /// Every process by name.
  const std::map<std::string, Process>& processes() const { return processes_; }

 private:
  std::string out_;
  std::map<std::string, std::vector<std::string>> commands_;
  std::map<std::string, Process> processes_;
};

/// Sends requests (not part of the stream) until one passes every node alive; Error after 10 s.
void warm_up(resilinet::runtime::Client& client, const Launch& launch) {
  bool all_up = false;
  for (std::uint64_t k = 0; k < 200 && !all_up; ++k) {
    const auto r = client.ask((std::uint64_t(1) << 62) + k, launch.example(0), launch.deployment.deadline_ms * 2);
    all_up = r && r->type == resilinet::runtime::MessageType::output && r->dead == 0;
    if (!all_up) ::usleep(50000);
  }
  require(all_up, "the deployment did not answer a request with every node alive within 10 s");
}

/// Sends `count` malformed messages to every node and returns how many each refused (its
/// "rejected" counter; -1 without an answer), adding a problem for every node that did not
/// refuse them all.
std::map<std::string, long long> send_malformed(resilinet::runtime::Client& client, const Launch& launch,
                                                std::size_t count, std::uint64_t seed,
                                                std::vector<std::string>& problems) {
  std::map<std::string, long long> rejected;
  resilinet::Rng junk(seed);
  for (const auto& n : launch.net->nodes())
    for (std::size_t k = 0; k < count; ++k) client.send_raw(n->name, malformed(k, junk));
  for (const auto& n : launch.net->nodes()) {
    const auto s = client.stats(n->name, 5000);
    rejected[n->name] = s ? stat_value(*s, "rejected") : -1;
    if (rejected[n->name] != (long long)count)
      problems.push_back("node " + n->name + " refused " + std::to_string(rejected[n->name]) + " of " +
                         std::to_string(count) + " malformed messages");
  }
  std::printf("malformed messages: %zu sent to each node; refused and counted:", count);
  for (const auto& [name, refused] : rejected) std::printf(" %s %lld", name.c_str(), refused);
  std::printf("\n");
  return rejected;
}

/// When the output node's answer says no information reached it, asks the early exits from
/// the deepest down, skipping nodes the answer saw dead, and takes the first whose node the
/// input reached: its logits become the answer; returns its node (-1: none). What each exit
/// saw joins the answer's failure pattern, and a failable exit node that does not answer is
/// counted dead.
int ask_exits(resilinet::runtime::Client& client, const Launch& launch, std::size_t i, Message& answer) {
  const auto& net = *launch.net;
  std::vector<std::size_t> nodes;
  for (const auto& e : net.exits()) nodes.push_back(e.node);
  std::sort(nodes.rbegin(), nodes.rend());
  for (std::size_t node : nodes) {
    const std::uint64_t bit = std::uint64_t(1) << node;
    if (answer.dead & bit) continue;
    const auto r = client.ask_exit(net.nodes()[node]->name, i, launch.example(i), launch.deployment.deadline_ms * 2);
    if (!r || r->type != resilinet::runtime::MessageType::output) {
      if (net.nodes()[node]->failable) answer.dead |= bit;
      continue;
    }
    answer.dead |= r->dead;
    answer.alive |= r->alive;
    answer.delivered |= r->delivered;
    answer.pulled |= r->pulled;
    if (!r->reached) continue;
    answer.shape = r->shape;
    answer.values = r->values;
    return int(node);
  }
  return -1;
}

/// Streams the requests one example each, up to `launch.inflight` in flight at once,
/// restarting and killing nodes as scheduled (a kill lands while its request is in flight),
/// with a progress line every 100 requests.
std::vector<Outcome> stream(resilinet::runtime::Client& client, Cluster& cluster, const Launch& launch) {
  using resilinet::runtime::now_us;
  std::vector<Outcome> outcomes(launch.requests);
  std::vector<std::int64_t> sent_at(launch.requests);
  std::set<std::size_t> in_flight;
  const auto& events = launch.events;
  const std::int64_t timeout_us = std::int64_t(launch.deployment.deadline_ms * 2000);
  std::size_t next = 0, next_event = 0;
  const std::int64_t stream_start = now_us();
  const auto due = [&](std::size_t i) { return stream_start + std::int64_t(double(i) * launch.interval_ms * 1000); };
  const auto done = [&](std::size_t i, const Message* r) {
    Outcome& o = outcomes[i];
    in_flight.erase(i);
    if (r) {
      o.answered = true;
      o.error = r->type != resilinet::runtime::MessageType::output;
      o.answer = *r;
      if (!o.error && !o.answer.reached && !launch.net->exits().empty()) o.exit_node = ask_exits(client, launch, i, o.answer);
    } else {
      client.forget(i);
    }
    o.latency_ms = double(now_us() - sent_at[i]) / 1000.0;
    if (!r || o.error) return;
    o.prediction = int(std::max_element(o.answer.values.begin(), o.answer.values.end()) - o.answer.values.begin());
    if ((i + 1) % 100 == 0 || i + 1 == launch.requests) {
      const std::size_t from = window_start(i, launch.window);
      const std::string dead = launch.node_names(o.answer.dead, " ");
      std::printf("[request %zu/%zu] accuracy (last %zu) %.3f, latency %.2f ms, failed: %s\n", i + 1, launch.requests,
                  i + 1 - from, double(tally(outcomes, from, i + 1).correct) / double(i + 1 - from), o.latency_ms,
                  dead.empty() ? "none" : dead.c_str());
      std::fflush(stdout);
    }
  };
  while (next < launch.requests || !in_flight.empty()) {
    while (next < launch.requests && in_flight.size() < launch.inflight && due(next) <= now_us()) {
      const std::size_t i = next++;
      for (; next_event < events.size() && events[next_event].at == i && !events[next_event].kill; ++next_event) {
        cluster.start(events[next_event].node);
        std::printf("[request %zu] restarted %s\n", i, events[next_event].node.c_str());
      }
      std::vector<std::string> to_kill;
      for (; next_event < events.size() && events[next_event].at == i; ++next_event) to_kill.push_back(events[next_event].node);
      outcomes[i].label = launch.test.y[i % launch.test.size()];
      sent_at[i] = now_us();
      in_flight.insert(i);
      const bool sent = client.send(i, launch.example(i));
      for (const std::string& name : to_kill) cluster.kill(name);
      for (const std::string& name : to_kill) std::printf("[request %zu] killed %s (SIGKILL, request in flight)\n", i, name.c_str());
      if (!sent) done(i, nullptr);
    }
    // Wait for an answer until the next request is due or the oldest in flight times out.
    std::int64_t until = now_us() + timeout_us;
    if (!in_flight.empty()) until = std::min(until, sent_at[*in_flight.begin()] + timeout_us);
    if (next < launch.requests && in_flight.size() < launch.inflight) until = std::min(until, due(next));
    if (in_flight.empty()) {
      if (const std::int64_t wait = until - now_us(); wait > 0) ::usleep(useconds_t(wait));
      continue;
    }
    if (const auto r = client.next(double(std::max<std::int64_t>(until - now_us(), 0)) / 1000.0); r && in_flight.count(r->request))
      done(std::size_t(r->request), &*r);
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      const std::size_t i = *it++;
      if (now_us() - sent_at[i] >= timeout_us) done(i, nullptr);
    }
  }
  return outcomes;
}

/// Counts of the answers and of their comparison with the simulation.
struct Verification {
  std::size_t answered = 0, errors = 0, equal = 0, inconsistent = 0, correct = 0, guesses = 0, flow_mismatch = 0,
              exits = 0, exit_mismatch = 0;
  /// Seconds the simulation's infer(x, mask) took over the checked answers.
  double infer_seconds = 0;

  /// Answers compared with the simulation (answered without error, with a consistent report).
  std::size_t checked() const { return answered - errors - inconsistent; }
};

/// Simulates every answer under the failure pattern it reports (infer(x, mask) must give the
/// same bits, has_information_flow the same guess flag, answering_exit the same exit) and
/// marks the outcomes with the result.
Verification verify(std::vector<Outcome>& outcomes, const Launch& launch, resilinet::Inference<float>& inf) {
  const auto& net = *launch.net;
  const std::uint64_t failable_bits = [&] {
    std::uint64_t b = 0;
    for (std::size_t n : net.failure_order()) b |= std::uint64_t(1) << n;
    return b;
  }();
  Verification v;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    Outcome& o = outcomes[i];
    if (!o.answered) continue;
    ++v.answered;
    if (o.error) {
      ++v.errors;
      continue;
    }
    v.correct += o.correct();
    v.guesses += !o.answer.reached && o.exit_node < 0;
    v.exits += o.exit_node >= 0;
    o.consistent = (o.answer.dead & o.answer.alive) == 0 && (o.answer.dead & ~failable_bits) == 0;
    if (!o.consistent) {
      ++v.inconsistent;
      continue;
    }
    const resilinet::FailureMask mask = net.partition().mask_of([&](std::size_t n) { return !(o.answer.dead >> n & 1); });
    const std::int64_t t0 = resilinet::runtime::now_us();
    const auto y = inf.run(net, launch.example(i), mask);
    v.infer_seconds += double(resilinet::runtime::now_us() - t0) / 1e6;
    o.simulated_equal = y.shape() == o.answer.shape &&
                        std::memcmp(y.data(), o.answer.values.data(), 4 * y.size()) == 0;
    v.equal += o.simulated_equal;
    o.flow = net.has_information_flow(mask);
    v.flow_mismatch += o.flow != o.answer.reached;
    const std::size_t e = net.answering_exit(mask);
    v.exit_mismatch += (e == resilinet::Partition<float>::npos ? -1 : int(net.exits()[e].node)) != o.exit_node;
  }
  return v;
}

/// The guarantees `v` and the client's counters show broken, one line each.
void add_problems(const Verification& v, const resilinet::runtime::Client& client, std::size_t requests,
                  std::vector<std::string>& problems) {
  if (v.answered != requests) problems.push_back(std::to_string(requests - v.answered) + " requests unanswered");
  if (v.errors) problems.push_back(std::to_string(v.errors) + " requests answered with an error");
  if (client.stale()) problems.push_back(std::to_string(client.stale()) + " duplicate or stale answers");
  if (v.equal != v.checked()) problems.push_back(std::to_string(v.checked() - v.equal) + " answers differ from the simulation");
  if (v.flow_mismatch)
    problems.push_back(std::to_string(v.flow_mismatch) + " guess flags differ from the simulation's information flow");
  if (v.exit_mismatch)
    problems.push_back(std::to_string(v.exit_mismatch) + " answering exits differ from the simulation's");
}

/// Accuracy and latency per stretch between events.
void report_stretches(std::ostream& report, const std::vector<Outcome>& outcomes, const Launch& launch) {
  std::vector<std::size_t> cuts{0};
  for (const Event& e : launch.events) cuts.push_back(e.at);
  cuts.push_back(launch.requests);
  for (std::size_t c = 0; c + 1 < cuts.size(); ++c) {
    if (cuts[c] == cuts[c + 1]) continue;
    std::vector<double> lat;
    for (std::size_t i = cuts[c]; i < cuts[c + 1]; ++i)
      if (outcomes[i].answered) lat.push_back(outcomes[i].latency_ms);
    const Tally t = tally(outcomes, cuts[c], cuts[c + 1]);
    report << "  requests " << cuts[c] << ".." << cuts[c + 1] - 1 << ": accuracy "
           << double(t.correct) / double(std::max<std::size_t>(t.answered, 1)) << ", latency p50 " << percentile(lat, 0.5)
           << " p99 " << percentile(lat, 0.99) << " ms\n";
  }
}

/// Bytes per link (a pull is a header; an answer a header, the shape and the values) and the
/// skip hyperconnections' bytes against sending every skip on every request.
void report_bytes(std::ostream& report, const std::vector<Outcome>& outcomes, const Launch& launch,
                  const Verification& v, std::uint64_t source_bytes, std::uint64_t source_pulls,
                  const std::map<std::string, long long>& sensor_bytes, resilinet::Inference<float>& inf) {
  const auto& net = *launch.net;
  const auto& shapes = net.node_output_shapes(launch.deployment.input.prepend(1), inf);
  const double pull_bytes = double(resilinet::runtime::message_header_bytes);
  const auto answer_bytes = [&](std::size_t node) { return double(resilinet::runtime::encoded_output_size(shapes[node])); };
  report << "bytes per link (pulls + answers):\n";
  double total = 0, skip_bytes = 0, skip_bytes_always = 0;
  if (launch.deployment.sensors.empty()) {
    report << "  source->" << net.nodes().front()->name << " (examples)  " << source_bytes << " bytes in "
           << source_pulls << " answers\n";
    total += double(source_bytes);
  }
  for (const auto& [name, bytes] : sensor_bytes) {
    report << "  sensor " << name << " (slots";
    for (std::size_t slot : launch.deployment.sensor(name).slots) report << " " << slot;
    report << ")  " << bytes << " bytes\n";
    total += double(bytes);
  }
  for (std::size_t l = 0; l < net.links().size(); ++l) {
    const auto& link = net.links()[l];
    std::size_t pulls = 0, delivered = 0;
    for (const Outcome& o : outcomes) {
      pulls += o.answered && (o.answer.pulled >> l & 1);
      delivered += o.answered && (o.answer.delivered >> l & 1);
    }
    const double bytes = double(pulls) * pull_bytes + double(delivered) * answer_bytes(link.from);
    total += bytes;
    const bool skip = link.kind == resilinet::LinkKind::skip;
    if (skip) {
      skip_bytes += bytes;
      skip_bytes_always += double(v.answered - v.errors) * (pull_bytes + answer_bytes(link.from));
    }
    report << "  " << link.key << " " << net.nodes()[link.from]->name << "->" << net.nodes()[link.to]->name
           << (skip ? " (skip)" : " (main)") << "  " << std::size_t(bytes) << " bytes, " << pulls << " pulls, "
           << delivered << " answers\n";
  }
  report << "total " << std::size_t(total) << " bytes; skip hyperconnections " << std::size_t(skip_bytes)
         << " bytes where sending every skip on every request (deepFogGuard's sum) takes "
         << std::size_t(skip_bytes_always) << " (" << 100.0 * (1.0 - skip_bytes / std::max(skip_bytes_always, 1.0))
         << "% saved)\n";
}

/// One line per request: label, prediction, latency, failed nodes, guess flag, simulation,
/// answering exit.
std::string requests_csv(const std::vector<Outcome>& outcomes, const Launch& launch) {
  std::ostringstream csv;
  csv << "request,label,prediction,answered,latency_ms,failed_nodes,guess,simulation,exit\n";
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const Outcome& o = outcomes[i];
    csv << i << "," << o.label << "," << o.prediction << "," << int(o.answered && !o.error) << ","
        << o.latency_ms << "," << launch.node_names(o.answer.dead, " ") << "," << int(o.answered && !o.answer.reached && o.exit_node < 0) << ","
        << (!o.answered || o.error ? "-" : !o.consistent ? "not-comparable" : o.simulated_equal ? "equal" : "differs")
        << "," << (o.exit_node < 0 ? "-" : launch.net->nodes()[std::size_t(o.exit_node)]->name) << "\n";
  }
  return csv.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"resilinet-launch: run a deployment as one process per node, stream the test set, kill and restart nodes"};
  app.get_formatter()->column_width(34);
  std::string out = "runtime-results", node_binary;
  std::vector<std::string> kills, restarts;
  std::size_t malformed_count = 0;
  Launch launch;
  examples::Args a;
  app.add_option("--deployment", launch.deployment_path, "deployment description (docs/deployment.md)")->required();
  app.add_option("--requests", launch.requests, "requests to send, one test example each, cycling through the test set (default: the whole test set)")
      ->check(CLI::Range(1, 100000000));
  app.add_option("--kill", kills, "SIGKILL node NODE right after request K is sent, e.g. edge@200 (repeatable)");
  app.add_option("--restart", restarts, "restart node NODE before request K is sent, e.g. edge@400 (repeatable)");
  app.add_option("--data", a.data, "the test data: for the health network (input 23) a folder with mHealth_subject1..10.log "
                                   "(default: $RESILINET_DATA_DIR/mhealth-window-means), for the camera network (input 6 H W "
                                   "3) the multi-view folder whose holdout_dir is streamed (default: $RESILINET_DATA_DIR/multiview), "
                                   "for CIFAR-10 (input H W 3) its JPEG tree or binary batches (default: $RESILINET_DATA_DIR/cifar10-jpg)");
  a.split = "fresh";
  app.add_option("--split", a.split, "the data split the model was trained with: fresh or seeded (both: the "
                                     "first iteration's split, that of Health1... models) or reference")
      ->check(CLI::IsMember({"fresh", "seeded", "reference"}))->capture_default_str();
  app.add_option("--seed", a.seed, "the seed the model was trained with (selects the seeded health split's and CIFAR's test set)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--out", out, "folder for requests.csv, report.txt, timeline.svg and the node logs")->capture_default_str();
  app.add_option("--node-binary", node_binary, "resilinet-node executable (default: next to this program)");
  app.add_option("--malformed", malformed_count, "send N malformed messages to every node before streaming and check each refuses all N")
      ->check(CLI::Range(0, 1000000))->capture_default_str();
  app.add_option("--interval-ms", launch.interval_ms, "send a request every T ms (a sensor's rate; 0: each as soon as the last is answered)")
      ->check(CLI::Range(0.0, 60000.0))->capture_default_str();
  app.add_option("--inflight", launch.inflight, "requests in flight at once (1: each sent when the last is answered)")
      ->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--window", launch.window, "requests per accuracy window")->check(CLI::Range(1, 1000000))->capture_default_str();
  if (const int code = examples::parse_command_line(app, argc, argv); code >= 0) return code;
  try {
    resilinet::set_num_threads(1);
    examples::require_writable_folder("--out", out);
    launch.events = parse_events(kills, restarts);
    require<resilinet::IoError>(a.data.empty() || std::filesystem::is_directory(a.data), "--data: cannot open folder '",
                                a.data, "'");
    launch.deployment = resilinet::runtime::read_deployment(launch.deployment_path);
    launch.net = examples::build_deployed_network(launch.deployment);
    launch.test = examples::load_deployed_test_set(launch.deployment.input, a);
    const auto& net = *launch.net;
    for (const auto& n : net.nodes()) launch.deployment.node(n->name);  // every node of the network is deployed
    if (launch.requests == 0) launch.requests = launch.test.size();
    check_schedule(launch.events, net, launch.requests);
    Cluster cluster(out);
    for (const auto& n : net.nodes())
      cluster.add(n->name, {node_binary.empty() ? self_folder() + "/resilinet-node" : node_binary, "--deployment",
                            launch.deployment_path, "--node", n->name});
    for (const auto& sensor : launch.deployment.sensors) {
      std::vector<std::string> command{self_folder() + "/resilinet-sensor", "--deployment", launch.deployment_path,
                                       "--sensor", sensor.name, "--split", a.split, "--seed", std::to_string(a.seed)};
      if (!a.data.empty()) command.insert(command.end(), {"--data", a.data});
      cluster.add(sensor.name, command);
    }
    examples::make_directories(out);
    zmq::context_t zctx(1);
    resilinet::runtime::Client client(launch.deployment, net.nodes().back()->name, zctx);
    cluster.start_all();
    cluster.wait_ready(client);
    warm_up(client, launch);
    const std::uint64_t warmup_bytes = client.source_bytes(), warmup_pulls = client.source_pulls();
    std::map<std::string, long long> sensor_bytes;  // sent during the stream: at the end minus now
    for (const auto& sensor : launch.deployment.sensors)
      sensor_bytes[sensor.name] = -stat_value(client.stats(sensor.name, 5000).value_or(""), "bytes");
    std::printf("deployment: %zu nodes of %s up (%s); streaming %zu requests of 1 example\n", cluster.processes().size(),
                net.name().c_str(), launch.deployment.model.c_str(), launch.requests);
    std::vector<std::string> problems;
    const std::map<std::string, long long> rejected =
        malformed_count > 0 ? send_malformed(client, launch, malformed_count, a.seed, problems)
                            : std::map<std::string, long long>{};
    const std::int64_t stream_start = resilinet::runtime::now_us();
    std::vector<Outcome> outcomes = stream(client, cluster, launch);
    const double stream_seconds = double(resilinet::runtime::now_us() - stream_start) / 1e6;
    const std::map<std::string, std::string> final_stats = cluster.stop(client);
    for (auto& [name, bytes] : sensor_bytes) bytes += stat_value(final_stats.at(name), "bytes");
    resilinet::Inference<float> inf;
    const Verification v = verify(outcomes, launch, inf);
    add_problems(v, client, launch.requests, problems);

    std::ostringstream report;
    report.setf(std::ios::fixed);
    report.precision(4);
    std::vector<double> latencies;
    for (const Outcome& o : outcomes)
      if (o.answered) latencies.push_back(o.latency_ms);
    report << "deployment " << launch.deployment_path << ": " << net.name() << ", model " << launch.deployment.model
           << ", deadline " << launch.deployment.deadline_ms << " ms\n";
    for (const resilinet::runtime::LinkConditions& l : launch.deployment.links)
      report << "emulated link " << l.from << " -> " << l.to << ": latency " << l.latency_ms << " ms, "
             << (l.mbit > 0 ? std::to_string(l.mbit) + " Mbit/s" : std::string("unlimited rate")) << ", loss " << l.loss
             << (l.from == "client" ? " (lost examples: " + std::to_string(client.lost()) + " on the client's links)"
                                    : std::string(" (lost answers: see the stats lines)"))
             << "\n";
    for (const auto& [from, mbit] : launch.deployment.uplinks)
      report << "emulated uplink " << from << ": " << mbit << " Mbit/s shared by everything it sends\n";
    report << "requests " << launch.requests << ", answered " << v.answered << " (errors " << v.errors
           << "), duplicates or stale " << client.stale() << "\n";
    report << "accuracy " << double(v.correct) / double(std::max<std::size_t>(v.answered - v.errors, 1)) << " ("
           << v.correct << "/" << v.answered - v.errors << "), answers without information flow (guesses) " << v.guesses
           << ", answers from an early exit " << v.exits << "\n";
    report << "latency ms: p50 " << percentile(latencies, 0.5) << ", p99 " << percentile(latencies, 0.99)
           << ", max " << percentile(latencies, 1.0) << "\n";
    report << "throughput: " << launch.requests << " requests in " << stream_seconds << " s, "
           << double(launch.requests) / stream_seconds << " requests/s with up to " << launch.inflight
           << " in flight; infer(x, mask) in one process: " << double(v.checked()) / std::max(v.infer_seconds, 1e-9)
           << " requests/s\n";
    report_stretches(report, outcomes, launch);
    report << "simulation: " << v.equal << " of " << v.checked() << " answers bit-identical to infer(x, mask) under "
           << "their reported failure pattern; " << v.inconsistent << " answers saw a node both failed and alive "
           << "(not comparable)\n";
    report_bytes(report, outcomes, launch, v, client.source_bytes() - warmup_bytes,
                 client.source_pulls() - warmup_pulls, sensor_bytes, inf);
    if (!launch.deployment.curve_keys.empty())
      report << "CURVE: every connection authenticated and encrypted (keys in " << launch.deployment.curve_keys
             << "); connections refused by the client's source: " << client.refused() << " (by the nodes: refused= in the stats lines)\n";
    for (const auto& [name, count] : rejected) report << "malformed messages refused by " << name << ": " << count << "\n";
    for (const auto& [name, text] : final_stats) report << "stats " << text << "\n";
    for (const auto& [name, p] : cluster.processes()) report << "process " << name << " started " << p.starts << " time(s)\n";
    report << (problems.empty() ? "guarantees: all held\n" : "guarantees VIOLATED:\n");
    for (const std::string& p : problems) report << "  " << p << "\n";

    resilinet::write_text_file(out + "/requests.csv", requests_csv(outcomes, launch));
    resilinet::write_text_file(out + "/timeline.svg", svg_timeline(outcomes, launch.events, launch.window));
    resilinet::write_text_file(out + "/report.txt", report.str());
    std::printf("%swrote %s/report.txt, requests.csv, timeline.svg\n", report.str().c_str(), out.c_str());
    return problems.empty() ? 0 : 3;
  } catch (const std::exception& e) {
    std::cerr << "resilinet-launch: " << e.what() << "\n";
    return 1;
  }
}
