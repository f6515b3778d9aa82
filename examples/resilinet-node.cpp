// resilinet-node: serves one physical node of a deployed network over ZeroMQ (see
// docs/deployment.md): loads the deployment description and the model file it names, binds
// the node's endpoint, pulls its inputs from the nodes below it and answers pulls from above
// until SIGTERM or SIGINT.
#include <iostream>

#include <CLI/CLI.hpp>
#include <resilinet/runtime/node_server.hpp>

#include "common/cli.hpp"
#include "common/deployed_network.hpp"
#include "common/serve.hpp"

int main(int argc, char** argv) {
  CLI::App app{"resilinet-node: serve one physical node of a deployed network over ZeroMQ"};
  std::string deployment_path, node;
  bool allow_remote = false;
  app.add_option("--deployment", deployment_path, "deployment description (docs/deployment.md)")->required();
  app.add_option("--node", node, "name of the node to serve, as in the network")->required();
  app.add_flag("--allow-remote-bind", allow_remote, "bind an endpoint that is not on loopback");
  if (const int code = examples::parse_command_line(app, argc, argv); code >= 0) return code;
  try {
    resilinet::set_num_threads(1);
    const auto d = resilinet::runtime::read_deployment(deployment_path);
    auto net = examples::build_deployed_network(d);
    zmq::context_t zctx(1);
    resilinet::runtime::NodeServer server(*net, d, node, zctx, allow_remote);
    examples::serve_until_stopped(server, node, net->name() + " on " + d.node(node).endpoint);
  } catch (const std::exception& e) {
    std::cerr << "resilinet-node: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
