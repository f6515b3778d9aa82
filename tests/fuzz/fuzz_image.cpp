// libFuzzer target: image decoding (decode_image: JPEG through libjpeg-turbo, PNG and BMP
// through stb_image), resized or as is.
#include <resilinet/data/image_dataset.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input(data, size, "input.jpg");
  // One decode covers both ends: resized, unless the image is already 7 high and 5 wide.
  fuzz::expect_clean([&] { resilinet::decode_image(path, 7, 5); });
  return 0;
}
