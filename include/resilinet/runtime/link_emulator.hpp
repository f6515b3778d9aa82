#pragma once
/// \file
/// LinkEmulator: the sending side of a node's emulated links (the deployment's `link` lines).
///
/// Each answer to a consumer with link conditions is lost with the link's probability, or else
/// queued: it leaves once the link has sent what was queued before it, takes bytes × 8 / rate
/// to go out, and arrives `latency` later (a delay line behind a rate-limited link, one per
/// consumer). With a shared uplink (`uplink` line) every answer, to any consumer, takes
/// bytes × 8 / the uplink's rate on the one transmitter, after all answers sent before it;
/// the links then add only latency and loss. The node's loops poll until wait_us() and call
/// flush(), so a node keeps serving while its answers travel. Consumers are known by their
/// routing id: every node's sockets carry its name, the client's "client" (connect_dealer).

#include <zmq.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "resilinet/core/rng.hpp"
#include "resilinet/runtime/deployment.hpp"
#include "resilinet/runtime/sockets.hpp"

namespace resilinet::runtime {

/// The emulated links from one node to its consumers; see the file comment.
class LinkEmulator {
 public:
  /// Takes the links of `deployment` that leave node `from`; `seed` draws the losses.
  LinkEmulator(const Deployment& deployment, const std::string& from, std::uint64_t seed) : rng_(seed) {
    for (const LinkConditions& c : deployment.links)
      if (c.from == from) links_.push_back({c, 0});
    const auto uplink = deployment.uplinks.find(from);
    if (uplink != deployment.uplinks.end()) uplink_ = {LinkConditions{from, "", 0, uplink->second, 0}, 0};
  }

  /// Sends `reply` on ROUTER `router` to the consumer whose routing id is `identity`: at once
  /// when its link has no conditions, else lost or queued as the link says; false when lost.
  bool send(zmq::socket_t& router, zmq::message_t& identity, std::string reply) {
    const bool shared = uplink_.conditions.mbit > 0;
    const std::string to = links_.empty() && !shared ? std::string() : identity.to_string();
    auto link = std::find_if(links_.begin(), links_.end(), [&](const Link& l) { return l.conditions.to == to; });
    const bool conditioned = link != links_.end();
    if (!conditioned && !shared) {
      reply_routed(router, identity, reply);
      return true;
    }
    if (conditioned && link->conditions.loss > 0 && rng_.uniform() < link->conditions.loss) {
      ++lost_;
      return false;
    }
    // The transmitter: the shared uplink, else the link's own.
    Link& out = shared ? uplink_ : *link;
    const std::int64_t now = now_us();
    const double send_us = out.conditions.mbit > 0 ? double(reply.size()) * 8.0 / out.conditions.mbit : 0.0;
    out.free_at_us = std::max(out.free_at_us, now) + std::int64_t(send_us);
    const std::int64_t due = out.free_at_us + (conditioned ? std::int64_t(link->conditions.latency_ms * 1000.0) : 0);
    const auto at = std::upper_bound(queue_.begin(), queue_.end(), due,
                                     [](std::int64_t t, const Queued& q) { return t < q.due_us; });
    queue_.insert(at, Queued{due, to, std::move(reply)});
    return true;
  }

  /// Sends every queued answer whose time has come.
  void flush(zmq::socket_t& router) {
    const std::int64_t now = now_us();
    while (!queue_.empty() && queue_.front().due_us <= now) {
      zmq::message_t id(queue_.front().to.data(), queue_.front().to.size());
      reply_routed(router, id, queue_.front().bytes);
      queue_.pop_front();
    }
  }

  /// Microseconds until the next queued answer is due (`cap` when none waits longer or none
  /// is queued; 0 when one is due now).
  std::int64_t wait_us(std::int64_t cap) const {
    if (queue_.empty()) return cap;
    return std::clamp<std::int64_t>(queue_.front().due_us - now_us(), 0, cap);
  }

  /// Answers lost so far.
  std::uint64_t lost() const { return lost_; }

 private:
  struct Link {
    LinkConditions conditions;
    std::int64_t free_at_us;  // when the link has sent everything queued on it
  };
  struct Queued {
    std::int64_t due_us;
    std::string to;
    std::string bytes;
  };

  std::vector<Link> links_;
  Link uplink_{};  // the shared transmitter (rate 0: none)
  std::deque<Queued> queue_;  // by due time
  Rng rng_;
  std::uint64_t lost_ = 0;
};

}  // namespace resilinet::runtime
