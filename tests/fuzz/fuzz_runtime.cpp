// libFuzzer target: what the distributed runtime parses — a message off the network
// (runtime::decode; a message it accepts must encode back to the same bytes) and a
// deployment description (read_deployment).
#include <cstdlib>
#include <cstring>

#include <resilinet/runtime/deployment.hpp>
#include <resilinet/runtime/message.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::expect_clean([&] {
    const resilinet::runtime::Message m = resilinet::runtime::decode(data, size, 1 << 20);
    const std::string again = resilinet::runtime::encode(m);
    if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
  });
  const std::string path = fuzz::write_input(data, size, "deployment.txt");
  fuzz::expect_clean([&] { resilinet::runtime::read_deployment(path); });
  return 0;
}
