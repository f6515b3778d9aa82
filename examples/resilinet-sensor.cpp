// resilinet-sensor: serves one sensor of a deployed network over ZeroMQ (a `sensor` line of
// the description, e.g. one of the camera network's six cameras; see docs/deployment.md). Its
// recording is its slots of the test set resilinet-launch streams (the same --data, --split
// and --seed); it answers a pull for request r with its slots of example r until SIGTERM or
// SIGINT.
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <resilinet/runtime/sensor_server.hpp>

#include "common/cli.hpp"
#include "common/deployed_test_set.hpp"
#include "common/serve.hpp"

int main(int argc, char** argv) {
  CLI::App app{"resilinet-sensor: serve one sensor of a deployed network over ZeroMQ"};
  app.get_formatter()->column_width(34);
  std::string deployment_path, sensor;
  bool allow_remote = false;
  examples::Args a;
  a.split = "fresh";
  app.add_option("--deployment", deployment_path, "deployment description (docs/deployment.md)")->required();
  app.add_option("--sensor", sensor, "name of the sensor to serve, as its sensor line gives it")->required();
  app.add_option("--data", a.data, "the test data, as for resilinet-launch (default: from $RESILINET_DATA_DIR)");
  app.add_option("--split", a.split, "the data split the model was trained with, as for resilinet-launch")
      ->check(CLI::IsMember({"fresh", "seeded", "reference"}))->capture_default_str();
  app.add_option("--seed", a.seed, "the seed the model was trained with, as for resilinet-launch")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_flag("--allow-remote-bind", allow_remote, "bind an endpoint that is not on loopback");
  if (const int code = examples::parse_command_line(app, argc, argv); code >= 0) return code;
  try {
    resilinet::require<resilinet::IoError>(a.data.empty() || std::filesystem::is_directory(a.data),
                                           "--data: cannot open folder '", a.data, "'");
    const auto d = resilinet::runtime::read_deployment(deployment_path);
    d.sensor(sensor);  // named before the data loads
    const resilinet::Dataset<float> test = examples::load_deployed_test_set(d.input, a);
    zmq::context_t zctx(1);
    resilinet::runtime::SensorServer server(d, sensor, test.x.view(), zctx, allow_remote);
    examples::serve_until_stopped(server, sensor,
                                  "its slots of " + std::to_string(test.size()) + " examples on " + d.sensor(sensor).endpoint);
  } catch (const std::exception& e) {
    std::cerr << "resilinet-sensor: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
