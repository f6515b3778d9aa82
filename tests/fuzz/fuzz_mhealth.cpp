// libFuzzer target: an mHealth subject log (load_mhealth), faithful and full-precision.
#include <resilinet/data/mhealth.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::write_input(data, size, "mHealth_subject1.log");
  for (bool truncate : {true, false}) {
    resilinet::MhealthOptions o;
    o.subjects = {1};
    o.int_truncate = truncate;
    fuzz::expect_clean([&] { resilinet::load_mhealth<float>(fuzz::temp_dir(), o); });
  }
  return 0;
}
