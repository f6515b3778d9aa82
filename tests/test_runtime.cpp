// The distributed runtime's parsers (messages, deployment descriptions) and the node-level
// inference they serve. The processes themselves are tested by the ctest
// runtime_health_five_processes (tests/programs/runtime_kill.sh).
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include <resilinet/runtime/deployment.hpp>
#include <resilinet/runtime/message.hpp>

#include "helpers.hpp"

using namespace resilinet;
using namespace resilinet::runtime;

namespace {

std::string decode_error(const std::string& bytes) {
  try {
    decode(bytes.data(), bytes.size(), 1 << 20);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = "/tmp/resilinet_test_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

const char* good_deployment =
    "# five nodes\n"
    "network health variant=resilinet partition=2\n"
    "model m.rsln\n"
    "input 23\n"
    "source tcp://127.0.0.1:5600\n"
    "deadline-ms 250   # per request\n"
    "node iot tcp://127.0.0.1:5601\n"
    "node cloud tcp://localhost:5602\n";

// The good description with `extra` lines after it, read (its file removed whatever happens).
Deployment read_good_plus(const std::string& extra) {
  struct Removed {
    std::string path;
    ~Removed() { std::remove(path.c_str()); }
  } file{write_temp("deploy_plus.txt", std::string(good_deployment) + extra)};
  return read_deployment(file.path);
}

}  // namespace

TEST_CASE("messages round-trip through encode and decode") {
  Message m;
  m.type = MessageType::output;
  m.request = 0x123456789abcdefULL;
  m.reached = true;
  m.dead = 4;
  m.alive = 27;
  m.delivered = 1ULL << 63;
  m.pulled = 5;
  m.shape = Shape{2, 3};
  m.values = {1, -2, 3.5f, 0, 1e-30f, -0.0f};
  const std::string bytes = encode(m);
  CHECK(bytes.size() == message_header_bytes + 4 + 8 + 24);
  const Message r = decode(bytes.data(), bytes.size(), 1 << 20);
  CHECK(r.type == m.type);
  CHECK(r.request == m.request);
  CHECK(r.reached);
  CHECK(r.dead == 4);
  CHECK(r.alive == 27);
  CHECK(r.delivered == m.delivered);
  CHECK(r.pulled == 5);
  CHECK(r.shape == m.shape);
  CHECK(std::memcmp(r.values.data(), m.values.data(), 24) == 0);

  Message pull;
  pull.type = MessageType::pull;
  pull.request = 7;
  pull.budget_us = 250000;
  pull.batch = 3;
  const std::string pb = encode(pull);
  CHECK(pb.size() == message_header_bytes);
  const Message pr = decode(pb.data(), pb.size(), 1 << 20);
  CHECK(pr.type == MessageType::pull);
  CHECK(pr.budget_us == 250000);
  CHECK(pr.batch == 3);
  CHECK_FALSE(pr.reached);

  Message stats;
  stats.type = MessageType::stats;
  stats.text = "node=edge requests=3";
  const std::string sb = encode(stats);
  CHECK(decode(sb.data(), sb.size(), 1 << 20).text == stats.text);

  // encoded_size and the named offsets say where encode put everything.
  CHECK(encoded_size(m) == bytes.size());
  CHECK(encoded_output_size(m.shape) == bytes.size());
  CHECK(encoded_size(pull) == pb.size());
  CHECK(encoded_size(stats) == sb.size());
  std::uint64_t request = 0, delivered = 0;
  std::uint32_t budget = 0, rank = 0, first_dim = 0;
  std::memcpy(&request, bytes.data() + message_offset::request, 8);
  std::memcpy(&delivered, bytes.data() + message_offset::delivered, 8);
  std::memcpy(&budget, pb.data() + message_offset::budget_us, 4);
  std::memcpy(&rank, bytes.data() + message_offset::rank, 4);
  std::memcpy(&first_dim, bytes.data() + message_offset::dims, 4);
  CHECK(request == m.request);
  CHECK(delivered == m.delivered);
  CHECK(budget == 250000);
  CHECK(rank == 2);
  CHECK(first_dim == 2);
  CHECK(std::uint8_t(bytes[message_offset::type]) == std::uint8_t(MessageType::output));
}

TEST_CASE("decode refuses every malformed message by name") {
  Message pull;
  pull.type = MessageType::pull;
  const std::string good = encode(pull);
  CHECK(decode_error(good).empty());
  CHECK(decode_error(good.substr(0, 63)) == "message of 63 bytes is shorter than the 64-byte header");
  std::string bad = good;
  bad[0] = 'X';
  CHECK(decode_error(bad).find("does not start with RSRT") != std::string::npos);
  bad = good;
  bad[4] = 2;
  CHECK(decode_error(bad) == "message version 2 (expected 1)");
  bad = good;
  bad[5] = 9;
  CHECK(decode_error(bad) == "unknown message type 9");
  bad = good;
  bad[6] = 2;
  CHECK(decode_error(bad).find("flags") != std::string::npos);
  bad = good;
  bad[63] = 1;
  CHECK(decode_error(bad) == "reserved header bytes are not 0");
  CHECK(decode_error(good + "x") == "a pull carries 1 bytes after its header");
  Message exit_pull;
  exit_pull.type = MessageType::exit_pull;
  CHECK(decode_error(encode(exit_pull)).empty());
  CHECK(decode_error(encode(exit_pull) + "xy") == "an exit pull carries 2 bytes after its header");
  bad = good;
  bad[5] = 7;
  CHECK(decode_error(bad) == "unknown message type 7");
  CHECK(decode_error(std::string(2000, 'a')).find("does not start with RSRT") != std::string::npos);
  CHECK_THROWS_WITH_AS(decode(good.data(), good.size(), 10), "message of 64 bytes exceeds the limit of 10",
                       FormatError);

  Message out;
  out.type = MessageType::output;
  out.shape = Shape{1, 2};
  out.values = {1, 2};
  const std::string ob = encode(out);
  CHECK(decode_error(ob).empty());
  CHECK(decode_error(ob.substr(0, 66)) == "output message ends before its rank");
  bad = ob;
  bad[64] = 0;  // rank 0
  CHECK(decode_error(bad) == "output rank 0 is not in 1..6");
  bad = ob;
  bad[64] = 7;
  CHECK(decode_error(bad) == "output rank 7 is not in 1..6");
  CHECK(decode_error(ob.substr(0, 70)) == "output message ends inside its shape");
  bad = ob;
  bad[68] = 0;  // a zero dimension
  CHECK(decode_error(bad) == "output dimension 0 is 0");
  bad = ob;
  bad[72] = 3;  // shape (1, 3) but two values follow
  CHECK(decode_error(bad) == "output shape holds 3 values but 8 bytes follow");
  bad = ob;
  for (int k = 68; k < 76; ++k) bad[std::size_t(k)] = char(0xff);  // (2^32-1)^2 values announced
  CHECK(decode_error(bad) == "output dimension 0 of 4294967295 makes more values than 1048576 bytes hold");
  CHECK(decode_error(ob + "abcd") == "output shape holds 2 values but 12 bytes follow");
}

TEST_CASE("read_deployment reads a description and names every problem") {
  const std::string path = write_temp("deploy_good.txt", good_deployment);
  const Deployment d = read_deployment(path);
  CHECK(d.network == "health");
  CHECK(d.options.at("variant") == "resilinet");
  CHECK(d.options.at("partition") == "2");
  CHECK(d.model == "/tmp/m.rsln");  // relative to the description's folder
  CHECK(d.input == Shape{23});
  CHECK(d.source == "tcp://127.0.0.1:5600");
  CHECK(d.deadline_ms == 250);
  REQUIRE(d.nodes.size() == 2);
  CHECK(d.node("cloud").endpoint == "tcp://localhost:5602");
  CHECK_THROWS_WITH_AS(d.node("fog"), "the deployment has no node 'fog'", ValueError);
  CHECK(d.links.empty());
  const Deployment l = read_good_plus(
      "link iot cloud latency-ms=20 mbit=10 loss=0.01\nlink cloud client latency-ms=2.5\nlink client iot mbit=1\n"
      "uplink cloud mbit=0.5\n");
  REQUIRE(l.links.size() == 3);
  CHECK((l.links[2].from == "client" && l.links[2].to == "iot" && l.links[2].mbit == 1));
  CHECK((l.uplinks.size() == 1 && l.uplinks.at("cloud") == 0.5));
  CHECK((l.links[0].from == "iot" && l.links[0].to == "cloud"));
  CHECK((l.links[0].latency_ms == 20 && l.links[0].mbit == 10 && l.links[0].loss == 0.01));
  CHECK((l.links[1].to == "client" && l.links[1].latency_ms == 2.5 && l.links[1].mbit == 0 && l.links[1].loss == 0));
  const Deployment c = read_good_plus(
      "sensor cam1 tcp://127.0.0.1:5610 2 0\nsensor cam2 tcp://127.0.0.1:5611 1\nlink cam1 iot latency-ms=3\n");
  REQUIRE(c.sensors.size() == 2);
  CHECK((c.sensor("cam1").slots == std::vector<std::size_t>{2, 0} && c.sensor("cam2").slots == std::vector<std::size_t>{1}));
  CHECK(c.endpoint_of("cam2") == "tcp://127.0.0.1:5611");
  CHECK(c.endpoint_of("iot") == "tcp://127.0.0.1:5601");
  CHECK(c.process_names() == std::vector<std::string>{"client", "iot", "cloud", "cam1", "cam2"});
  CHECK_THROWS_WITH_AS(c.sensor("cam3"), "the deployment has no sensor 'cam3'", ValueError);
  CHECK_THROWS_WITH_AS(c.endpoint_of("cam3"), "the deployment has no node 'cam3'", ValueError);
  CHECK(is_loopback_endpoint("tcp://127.0.0.1:1"));
  CHECK_FALSE(is_loopback_endpoint("tcp://0.0.0.0:5600"));
  CHECK_FALSE(is_loopback_endpoint("tcp://10.0.0.2:5600"));
  std::remove(path.c_str());

  const std::vector<std::pair<std::string, std::string>> cases{
      {"node edge tcp://127.0.0.1:70000\n", "line 9: endpoint 'tcp://127.0.0.1:70000' is not tcp://HOST:PORT"},
      {"node edge udp://127.0.0.1:5603\n", "endpoint 'udp://127.0.0.1:5603' is not tcp://HOST:PORT"},
      {"node edge tcp://127.0.0.1:\n", "is not tcp://HOST:PORT"},
      {"node iot tcp://127.0.0.1:5609\n", "line 9: node 'iot' is listed twice"},
      {"node edge tcp://127.0.0.1:5601\n", "endpoint 'tcp://127.0.0.1:5601' is used by 'iot' already"},
      {"node edge tcp://127.0.0.1:5600\n", "node 'edge' has the endpoint of the source"},
      {"node edge\n", "line 9: 'node' takes 2 values, got 1"},
      {"deadline-ms 0\n", "line 9: deadline-ms '0' is not a number in [1, 3.6e+06]"},
      {"deadline-ms fast\n", "deadline-ms 'fast' is not a number"},
      {"input 23 0\n", "input '0' is not a number in [1, 1e+06]"},
      {"network health partition\n", "network option 'partition' is not key=value"},
      {"nodes a b\n", "line 9: unknown item 'nodes'"},
      {"max-message-bytes 10\n", "max-message-bytes '10' is not a number in [1024"},
      {"link iot cloud\n", "line 9: 'link' takes FROM TO and at least one of"},
      {"link iot cloud jitter=3\n", "link setting 'jitter=3' is not latency-ms=, mbit= or loss="},
      {"link iot cloud loss=1\n", "loss '1' is not a number in [0, 0.99]"},
      {"link iot cloud mbit=0\n", "mbit '0' is not a number in [0.001"},
      {"link iot cloud latency-ms=-1\n", "latency-ms '-1' is not a number in [0, 60000]"},
      {"link iot fog latency-ms=1\n", "link iot -> fog does not join two deployed processes"},
      {"link iot iot latency-ms=1\n", "link iot -> iot does not join two deployed processes"},
      {"link client client latency-ms=1\n", "link client -> client does not join two deployed processes"},
      {"uplink iot\n", "line 9: 'uplink' takes 2 values, got 1"},
      {"uplink iot rate=3\n", "uplink setting 'rate=3' is not mbit="},
      {"uplink iot mbit=0\n", "mbit '0' is not a number in [0.001"},
      {"uplink iot mbit=1\nuplink iot mbit=2\n", "line 10: uplink iot is listed twice"},
      {"uplink fog mbit=1\n", "uplink fog is not a deployed node, sensor or client"},
      {"uplink iot mbit=1\nlink iot cloud mbit=2\n", "link iot -> cloud sets mbit= but iot sends on a shared uplink"},
      {"link iot cloud loss=0.1\nlink iot cloud mbit=2\n", "line 10: link iot -> cloud is listed twice"},
      {"node client tcp://127.0.0.1:5609\n", "'client' names the launcher; a node or sensor may not take it"},
      {"sensor cam1 tcp://127.0.0.1:5610\n", "line 9: 'sensor' takes NAME ENDPOINT and at least one SLOT"},
      {"sensor cam1 tcp://127.0.0.1:5610 x\n", "line 9: slot 'x' is not a number in [0, 1e+06]"},
      {"sensor cam1 tcp://127.0.0.1:5610 23\n", "sensor 'cam1' serves slot 23 but the input (23,) has slots 0 to 22"},
      {"sensor cam1 tcp://127.0.0.1:5610 0\nsensor cam2 tcp://127.0.0.1:5611 1 0\n", "slot 0 is served by 'cam1' and 'cam2'"},
      {"sensor iot tcp://127.0.0.1:5610 0\n", "'iot' is listed twice"},
      {"sensor cam1 tcp://127.0.0.1:5601 0\n", "node 'iot' has the endpoint of sensor 'cam1': 'tcp://127.0.0.1:5601'"},
      {"sensor client tcp://127.0.0.1:5610 0\n", "'client' names the launcher"},
      {"link cam1 iot latency-ms=1\n", "link cam1 -> iot does not join two deployed processes"},
      {"curve-keys\n", "line 9: 'curve-keys' takes 1 value, got 0"},
  };
  for (const auto& [extra, message] : cases) {
    CAPTURE(extra);
    std::string what;
    try {
      read_good_plus(extra);
    } catch (const FormatError& e) {
      what = e.what();
    }
    CAPTURE(what);
    CHECK(what.find(message) != std::string::npos);
  }
  const std::string no_model = write_temp("deploy_nomodel.txt", "network health\ninput 23\nsource tcp://127.0.0.1:1\nnode a tcp://127.0.0.1:2\n");
  CHECK_THROWS_WITH_AS(read_deployment(no_model), doctest::Contains("no 'model' line"), FormatError);
  std::remove(no_model.c_str());
  CHECK_THROWS_WITH_AS(read_deployment("/nonexistent/deploy.txt"),
                       "cannot open deployment description '/nonexistent/deploy.txt': No such file or directory", IoError);
}

TEST_CASE("infer_node runs one node from its sources' outputs as infer(x, mask) does") {
  // What a deployed node computes: every node of the health network, from the outputs of the
  // nodes before it (empty where failed or not needed by the mux), equals the simulation.
  for (const Variant v : {Variant::resilinet, Variant::dfg, Variant::resilinet_plus, Variant::vanilla}) {
    Rng rng(5);
    HealthMlpOptions o;
    o.variant = v;
    o.hidden = 16;
    auto net = build_health_mlp<float>(o, rng);
    Tensor<float> x = testing::random_tensor<float>(Shape{3, 23}, rng);
    for (std::uint32_t bits = 0; bits < 8; ++bits) {
      FailureMask mask{std::uint8_t(bits & 1), std::uint8_t(bits >> 1 & 1), std::uint8_t(bits >> 2 & 1)};
      Inference<float> sim, node_inf;
      const TensorView<const float> want = sim.run(*net, x.view(), mask);
      std::vector<Tensor<float>> kept(net->nodes().size());
      std::vector<TensorView<const float>> outputs(net->nodes().size());
      for (std::size_t n = 0; n < net->nodes().size(); ++n) {
        const auto& node = *net->nodes()[n];
        const auto& order = net->failure_order();
        const auto k = std::find(order.begin(), order.end(), n);
        if (node.failable && !mask[std::size_t(k - order.begin())]) continue;
        // Sources not needed by a mux group are left empty, as a deployed node never pulls them.
        std::vector<TensorView<const float>> seen(outputs.size());
        for (std::size_t l : node.inputs) {
          const auto& link = net->links()[l];
          const bool main_alive = outputs[net->links()[net->group_of(l)].from].data() != nullptr;
          if (net->link_used(l, main_alive) || link.kind == LinkKind::main) seen[link.from] = outputs[link.from];
        }
        node_inf.reset();
        const TensorView<const float> y =
            net->infer_node(n, node.inputs.empty() ? x.view() : TensorView<const float>(nullptr, x.shape()), seen, node_inf);
        kept[n] = Tensor<float>(y.shape());
        std::copy(y.begin(), y.end(), kept[n].begin());
        outputs[n] = kept[n].view();
      }
      const TensorView<const float> got = outputs.back();
      CAPTURE(to_string(v));
      CAPTURE(bits);
      REQUIRE(got.shape() == want.shape());
      CHECK(std::equal(got.begin(), got.end(), want.begin()));
    }
  }
}
