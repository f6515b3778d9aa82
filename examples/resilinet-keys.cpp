// resilinet-keys: writes a CURVE key pair for every process of a deployment (each node, and
// "client" for resilinet-launch) into the folder its `curve-keys` line names (docs/deployment.md).
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <resilinet/runtime/curve_security.hpp>

#include "common/cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"resilinet-keys: CURVE key pairs for every process of a deployment (its curve-keys folder)"};
  std::string deployment_path;
  bool force = false;
  app.add_option("--deployment", deployment_path, "deployment description with a curve-keys line")->required();
  app.add_flag("--force", force, "replace key files that exist (every process then needs the new ones)");
  if (const int code = examples::parse_command_line(app, argc, argv); code >= 0) return code;
  try {
    namespace rt = resilinet::runtime;
    const rt::Deployment d = rt::read_deployment(deployment_path);
    resilinet::require(!d.curve_keys.empty(), "'", deployment_path, "' has no curve-keys line");
    const std::vector<std::string> names = d.process_names();
    for (const std::string& name : names)
      for (const char* ext : {".key", ".pub"}) {
        const std::string path = d.curve_keys + "/" + name + ext;
        resilinet::require(force || !std::filesystem::exists(path), "'", path,
                           "' exists; pass --force to replace every key of the deployment");
      }
    std::filesystem::create_directories(d.curve_keys);
    for (const std::string& name : names) rt::write_curve_key_pair(d.curve_keys, name, rt::make_curve_key_pair());
    std::printf("wrote %zu key pairs (<name>.key, secret, mode 0600; <name>.pub) to %s\n", names.size(),
                d.curve_keys.c_str());
  } catch (const std::exception& e) {
    std::cerr << "resilinet-keys: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
