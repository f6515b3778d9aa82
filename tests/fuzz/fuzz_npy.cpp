// libFuzzer target: NumPy .npy files (load_npy as float and double).
#include <resilinet/io/npy.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input(data, size, "input.npy");
  fuzz::expect_clean([&] { resilinet::load_npy<float>(path); });
  fuzz::expect_clean([&] { resilinet::load_npy<double>(path); });
  return 0;
}
