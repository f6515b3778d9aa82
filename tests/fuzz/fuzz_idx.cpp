// libFuzzer target: IDX files, plain or gzip-compressed (read_idx_images, read_idx_labels).
#include <resilinet/data/idx.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const std::string path = fuzz::write_input(data, size, gz ? "input.idx.gz" : "input.idx");
  fuzz::expect_clean([&] { resilinet::read_idx_images<float>(path); });
  fuzz::expect_clean([&] { resilinet::read_idx_labels(path); });
  return 0;
}
