// SensorServer (runtime/sensor_server.hpp): a sensor answers request r with its slots of
// example r of its recording, refuses pulls larger than the recording and malformed messages,
// and counts what it sent. Built when ZeroMQ is found; the camera deployment with six sensor
// processes is tested by the ctest runtime_camera_nine_processes.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <doctest/doctest.h>
#include <resilinet/core/tensor.hpp>
#include <resilinet/runtime/sensor_server.hpp>

using namespace resilinet;
using namespace resilinet::runtime;

namespace {

// Sends `bytes` on `s` and returns the decoded answer (nothing within 2 s).
std::optional<Message> ask(zmq::socket_t& s, const std::string& bytes) {
  for (int tries = 0; tries < 200; ++tries) {  // until connected, then one round trip
    if (!send_now(s, bytes)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    zmq::pollitem_t item{static_cast<void*>(s), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(2000)) == 0) return std::nullopt;
    zmq::message_t f;
    (void)s.recv(f);
    return decode(f.data(), f.size(), 1 << 20);
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("SensorServer answers request r with its slots of example r and counts what it sent") {
  const std::string path = "/tmp/resilinet_test_" + std::to_string(::getpid()) + "_sensor.txt";
  std::ofstream(path) << "model m.rsln\ninput 3 2 2\nsource tcp://127.0.0.1:5600\nnode iot tcp://127.0.0.1:5601\n"
                         "sensor cam tcp://127.0.0.1:5699 2 0\n";
  Deployment d = read_deployment(path);
  std::remove(path.c_str());
  d.sensors[0].endpoint = "tcp://127.0.0.1:*";  // any free port
  Tensor<float> examples(Shape{5, 3, 2, 2});  // example i, slot s, value v: 100 i + 10 s + v
  for (std::size_t i = 0; i < examples.size(); ++i)
    examples.data()[i] = float(100 * (i / 12) + 10 * (i / 4 % 3) + i % 4);
  zmq::context_t zctx(1);
  CHECK_THROWS_WITH_AS(SensorServer(d, "cam", examples.view().reshaped(Shape{5, 12}), zctx),
                       "sensor 'cam': a recording of shape (5, 12) where the deployment takes (5, 3, 2, 2)", ShapeError);
  SensorServer sensor(d, "cam", examples.view(), zctx);
  volatile int stop = 0;
  std::thread serving([&] { sensor.serve(&stop); });
  zmq::socket_t s = connect_dealer(zctx, CurveSecurity(d, "iot", zctx), "cam", sensor.endpoint(), 1 << 20, "iot");

  Message pull;
  pull.request = 7;
  pull.batch = 2;
  const std::optional<Message> a = ask(s, encode(pull));
  REQUIRE(a);
  CHECK(a->type == MessageType::output);
  CHECK(a->request == 7);
  CHECK(a->reached);
  CHECK(a->shape == Shape{2, 2, 2, 2});  // two examples, two slots
  const std::vector<float> expected{220, 221, 222, 223, 200, 201, 202, 203,   // example 7 % 5 = 2: slots 2, 0
                                    320, 321, 322, 323, 300, 301, 302, 303};  // example 3
  CHECK(a->values == expected);
  pull.batch = 6;
  const std::optional<Message> e = ask(s, encode(pull));
  REQUIRE(e);
  CHECK(e->type == MessageType::error);
  CHECK(e->text == "cam: a pull of 6 examples from a recording of 5");
  CHECK(send_now(s, "junk"));
  Message stats;
  stats.type = MessageType::stats_request;
  const std::optional<Message> t = ask(s, encode(stats));
  REQUIRE(t);
  CHECK(t->text.find("sensor=cam requests=1 bytes=" + std::to_string(encode(*a).size()) + " rejected=1 ") == 0);
  stop = 1;
  serving.join();
}
