#pragma once
/// \file
/// CurveSecurity: who may talk to a deployed node. With a `curve-keys DIR` line in the
/// deployment description every socket is a ZeroMQ CURVE socket (authenticated and
/// encrypted): each process (every node and sensor, and `client` for the launcher) holds its own key pair
/// (`DIR/<name>.key`, the secret, readable by its owner only, and `DIR/<name>.pub`), connects to
/// a peer knowing the peer's public key, and admits only connections whose key is the public
/// key of a process the description names; any other is refused and counted. `resilinet-keys`
/// writes the key files.

#include <fcntl.h>
#include <unistd.h>
#include <zmq.h>
#include <zmq.hpp>

#include <atomic>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/io/atomic_file.hpp"
#include "resilinet/runtime/deployment.hpp"
#include "resilinet/runtime/poll_until_signal.hpp"

namespace resilinet::runtime {

/// A CURVE key pair, each key as its 40 Z85 characters.
struct CurveKeyPair {
  /// The public key.
  std::string public_key;
  /// The secret key.
  std::string secret_key;
};

/// A fresh key pair (an Error when this libzmq was built without CURVE).
inline CurveKeyPair make_curve_key_pair() {
  require(zmq_has("curve") != 0, "this libzmq has no CURVE support (built without libsodium)");
  char pub[41], sec[41];
  require(zmq_curve_keypair(pub, sec) == 0, "zmq_curve_keypair failed: ", zmq_strerror(zmq_errno()));
  return {pub, sec};
}

namespace detail {

/// Reads the key in `path` (40 Z85 characters, then an optional newline); FormatError otherwise.
inline std::string read_z85_key(const std::string& path) {
  std::ifstream in(path);
  require<IoError>(bool(in), "cannot open key file '", path, "': ", resilinet::detail::os_reason());
  std::string key, rest;
  std::getline(in, key);
  std::getline(in, rest);
  std::uint8_t binary[32];
  require<FormatError>(key.size() == 40 && rest.empty() && in.eof() && zmq_z85_decode(binary, key.c_str()) != nullptr,
                       "key file '", path, "' does not hold one 40-character Z85 key");
  return key;
}

}  // namespace detail

/// Writes `keys` as `<dir>/<name>.pub` and `<dir>/<name>.key` (the secret, created with mode
/// 0600, so it is never readable by others), each atomically.
inline void write_curve_key_pair(const std::string& dir, const std::string& name, const CurveKeyPair& keys) {
  write_text_file(dir + "/" + name + ".pub", keys.public_key + "\n");
  write_atomically(dir + "/" + name + ".key", [&](const std::string& temp) {
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    require<IoError>(fd >= 0, "cannot create '", temp, "': ", resilinet::detail::os_reason());
    const std::string text = keys.secret_key + "\n";
    const bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    require<IoError>(::close(fd) == 0 && written, "cannot write '", temp, "': ", resilinet::detail::os_reason());
  });
}

/// One process's CURVE keys in a deployment and the ZAP handler that admits only the keys the
/// deployment names (see the file comment); does nothing when the deployment has no
/// `curve-keys` line.
class CurveSecurity {
 public:
  /// Loads the key pair of `me` (a node's or sensor's name, or "client") and the public key of every
  /// process the deployment names, and starts the handler in `zctx`.
  CurveSecurity(const Deployment& d, const std::string& me, zmq::context_t& zctx) : dir_(d.curve_keys) {
    if (dir_.empty()) return;
    own_.secret_key = detail::read_z85_key(dir_ + "/" + me + ".key");
    char pub[41];
    require<FormatError>(zmq_curve_public(pub, own_.secret_key.c_str()) == 0, "cannot derive the public key of '",
                         dir_, "/", me, ".key'");
    own_.public_key = pub;
    require<FormatError>(own_.public_key == detail::read_z85_key(dir_ + "/" + me + ".pub"), "'", dir_, "/", me,
                         ".pub' is not the public key of '", me, ".key'");
    auto state = std::make_unique<Zap>();
    for (const std::string& name : d.process_names()) {
      std::string binary(32, '\0');
      zmq_z85_decode(reinterpret_cast<std::uint8_t*>(binary.data()),
                     detail::read_z85_key(dir_ + "/" + name + ".pub").c_str());
      state->allowed.insert(binary);
    }
    // libzmq asks the handler bound at this address about every CURVE connection of the context.
    state->socket = zmq::socket_t(zctx, zmq::socket_type::rep);
    state->socket.set(zmq::sockopt::linger, 0);
    state->socket.bind("inproc://zeromq.zap.01");
    zap_ = std::move(state);
    zap_->thread = std::thread([z = zap_.get()] { z->serve(); });
  }
  ~CurveSecurity() {
    if (!zap_) return;
    zap_->stop = true;
    zap_->thread.join();
  }
  CurveSecurity(const CurveSecurity&) = delete;
  CurveSecurity& operator=(const CurveSecurity&) = delete;

  /// Whether the deployment asks for CURVE.
  bool on() const { return !dir_.empty(); }
  /// Makes `s` a CURVE server with this process's key (before it binds).
  void serve(zmq::socket_t& s) const {
    if (!on()) return;
    s.set(zmq::sockopt::curve_server, 1);
    s.set(zmq::sockopt::curve_secretkey, own_.secret_key);
    s.set(zmq::sockopt::zap_domain, "resilinet");
  }
  /// Makes `s` a CURVE client of the process `server` (before it connects).
  void connect_to(zmq::socket_t& s, const std::string& server) const {
    if (!on()) return;
    s.set(zmq::sockopt::curve_serverkey, detail::read_z85_key(dir_ + "/" + server + ".pub"));
    s.set(zmq::sockopt::curve_publickey, own_.public_key);
    s.set(zmq::sockopt::curve_secretkey, own_.secret_key);
  }
  /// Connections refused so far: their key is no process's of the deployment.
  std::uint64_t refused() const { return zap_ ? zap_->refused.load() : 0; }

 private:
  // The ZAP handler (ZeroMQ RFC 27): answers libzmq's question about each connection.
  struct Zap {
    zmq::socket_t socket;
    std::set<std::string> allowed;  // 32-byte public keys
    std::thread thread;
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> refused{0};

    void serve() {
      while (!stop) {
        zmq::pollitem_t item{static_cast<void*>(socket), 0, ZMQ_POLLIN, 0};
        poll_until_signal(&item, 1, std::chrono::milliseconds(100));  // a signal may land on this thread
        if (!(item.revents & ZMQ_POLLIN)) continue;
        // version, request id, domain, address, routing id, mechanism, then the credentials.
        std::vector<zmq::message_t> frames;
        do {
          frames.emplace_back();
          if (!socket.recv(frames.back())) return;
        } while (frames.back().more());
        const bool ok = frames.size() == 7 && frames[5].to_string() == "CURVE" &&
                        allowed.count(frames[6].to_string()) != 0;
        if (!ok) ++refused;
        const std::string version = frames.empty() ? "1.0" : frames[0].to_string();
        const std::string id = frames.size() > 1 ? frames[1].to_string() : "";
        for (const std::string& f : {version, id, std::string(ok ? "200" : "400"),
                                     std::string(ok ? "OK" : "key not in the deployment"), std::string()})
          socket.send(zmq::buffer(f), zmq::send_flags::sndmore);
        socket.send(zmq::buffer(std::string()), zmq::send_flags::none);  // metadata
      }
    }
  };

  std::string dir_;
  CurveKeyPair own_;
  std::unique_ptr<Zap> zap_;
};

}  // namespace resilinet::runtime
