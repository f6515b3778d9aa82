// libFuzzer target: CIFAR-10 binary batches (load_cifar10_batch).
#include <resilinet/data/image_dataset.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input(data, size, "data_batch_1.bin");
  fuzz::expect_clean([&] { resilinet::load_cifar10_batch(path); });
  return 0;
}
