// CurveSecurity (runtime/curve_security.hpp): key files, and a node that admits the
// deployment's processes and refuses and counts a stranger. Built when ZeroMQ is found; the
// deployments over CURVE are tested by the ctest runtime_health_curve_keys.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <resilinet/runtime/curve_security.hpp>
#include <resilinet/runtime/sockets.hpp>

using namespace resilinet;
using namespace resilinet::runtime;

TEST_CASE("CURVE: a node admits the deployment's keys and refuses and counts any other") {
  const std::string dir = "/tmp/resilinet_test_" + std::to_string(::getpid()) + "_keys";
  const std::string rogue_dir = dir + "_rogue";
  for (const std::string& d : {dir, rogue_dir}) std::filesystem::create_directories(d);
  for (const char* name : {"client", "iot", "cloud"}) write_curve_key_pair(dir, name, make_curve_key_pair());
  write_curve_key_pair(rogue_dir, "client", make_curve_key_pair());  // a stranger calling itself client,
  for (const char* name : {"iot", "cloud"})                             // who knows the public keys
    std::filesystem::copy_file(dir + "/" + name + ".pub", rogue_dir + "/" + name + ".pub");
  struct stat st {};
  REQUIRE(::stat((dir + "/iot.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string path = dir + ".txt";
  std::ofstream(path) << "model m.rsln\ninput 23\nsource tcp://127.0.0.1:5600\nnode iot tcp://127.0.0.1:5601\n"
                         "node cloud tcp://127.0.0.1:5602\ncurve-keys " << dir << "\n";
  const Deployment d = read_deployment(path);
  CHECK(d.curve_keys == dir);
  Deployment rogue = d;
  rogue.curve_keys = rogue_dir;

  zmq::context_t server_ctx(1), client_ctx(1), rogue_ctx(1);
  CurveSecurity server(d, "iot", server_ctx);
  CHECK(server.on());
  zmq::socket_t router(server_ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  server.serve(router);
  router.bind("tcp://127.0.0.1:*");
  const std::string endpoint = router.get(zmq::sockopt::last_endpoint);
  const auto answered = [&](const CurveSecurity& security, zmq::context_t& ctx) {
    zmq::socket_t s = connect_dealer(ctx, security, "iot", endpoint, 1 << 20, "asker");
    for (int tries = 0; tries < 100; ++tries) {  // up to 1 s: the handshake, then one round trip
      send_now(s, "ping");
      zmq::pollitem_t item{static_cast<void*>(router), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(10));
      std::vector<zmq::message_t> frames = receive_routed(router);
      if (frames.size() == 2 && frames[1].to_string() == "ping") return true;
    }
    return false;
  };
  CurveSecurity client(d, "client", client_ctx), stranger(rogue, "client", rogue_ctx);
  CHECK(answered(client, client_ctx));
  CHECK(server.refused() == 0);
  CHECK_FALSE(answered(stranger, rogue_ctx));
  CHECK(server.refused() >= 1);  // the stranger's attempts, each refused by the ZAP handler

  // A damaged key file is refused by name.
  std::ofstream(dir + "/cloud.pub") << "not a key\n";
  zmq::context_t other(1);
  CHECK_THROWS_WITH_AS(CurveSecurity(d, "iot", other), doctest::Contains("cloud.pub' does not hold one 40-character Z85 key"),
                       FormatError);
  std::remove(path.c_str());
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(rogue_dir);
}
