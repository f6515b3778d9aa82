#include <doctest/doctest.h>

#include <cstring>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <xtensor/xnpy.hpp>

#include "helpers.hpp"

using namespace resilinet;

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/resilinet_test_" + std::to_string(::getpid()) + "_" + name;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

struct Mlp {
  Sequential<float> net{"mlp"};
  Mlp(std::uint64_t seed, std::size_t hidden = 4) {
    Rng rng(seed);
    net.add<Dense<float>>(3, hidden, Activation::relu, rng, "h");
    net.add<Dense<float>>(hidden, 2, Activation::linear, rng, "o");
  }
};

}  // namespace

TEST_CASE("parameters round-trip through a model file, also into double") {
  const std::string path = temp_path("roundtrip.rsln");
  Mlp a(1), b(2);
  save_parameters(a.net, path);
  load_parameters(b.net, path);
  const auto pa = a.net.parameters(), pb = b.net.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i)
    for (std::size_t j = 0; j < pa[i]->value().size(); ++j) CHECK(pa[i]->value()[j] == pb[i]->value()[j]);
  Sequential<double> d("mlp");
  Rng rng(3);
  d.add<Dense<double>>(3, 4, Activation::relu, rng, "h");
  d.add<Dense<double>>(4, 2, Activation::linear, rng, "o");
  load_parameters(d, path);
  CHECK(d.parameters()[0]->value()[5] == double(pa[0]->value()[5]));
  std::remove(path.c_str());
}

TEST_CASE("corrupted or mismatched model files are rejected and change nothing") {
  const std::string path = temp_path("bad.rsln");
  Mlp a(1), b(2);
  save_parameters(a.net, path);
  const std::string good = read_all(path);
  const float before = b.net.parameters()[0]->value()[0];

  SUBCASE("truncated") {
    write_all(path, good.substr(0, good.size() - 5));
    CHECK_THROWS_AS(load_parameters(b.net, path), FormatError);
  }
  SUBCASE("bad magic") {
    std::string bad = good;
    bad[0] = 'X';
    write_all(path, bad);
    CHECK_THROWS_WITH_AS(load_parameters(b.net, path),
                         ("'" + path + "': not a resilinet parameter file (bad magic)").c_str(),
                         FormatError);
  }
  SUBCASE("trailing bytes") {
    write_all(path, good + "x");
    CHECK_THROWS_AS(load_parameters(b.net, path), FormatError);
  }
  SUBCASE("shape mismatch") {
    Mlp wide(3, 5);
    CHECK_THROWS_WITH_AS(load_parameters(wide.net, path),
                         ("'" + path +
                          "': parameter 'h/kernel' has shape (3, 4) but the module expects (3, 5)")
                             .c_str(),
                         FormatError);
  }
  SUBCASE("format version 1 (no description) still loads") {
    std::string v1 = good.substr(0, good.size() - 8);  // drop the empty description's length
    v1[8] = 1;
    write_all(path, v1);
    load_parameters(b.net, path);
    CHECK(b.net.parameters()[0]->value()[0] == a.net.parameters()[0]->value()[0]);
    save_parameters(a.net, path);  // leave b as it was for the check below
    Mlp fresh(2);
    load_parameters(b.net, path);
    for (std::size_t i = 0; i < fresh.net.parameters().size(); ++i)
      b.net.parameters()[i]->set_value(fresh.net.parameters()[i]->value());
  }
  SUBCASE("missing file") {
    CHECK_THROWS_AS(load_parameters(b.net, path + ".missing"), IoError);
  }
  SUBCASE("dimensions claiming more values than the file holds (found by fuzz_model_file)") {
    std::string bad = good;  // magic, version, scalar, count, name length, "h/kernel", rank, dims
    REQUIRE(bad.substr(28, 8) == "h/kernel");
    const std::uint64_t huge = std::uint64_t(1) << 40;
    std::memcpy(&bad[40], &huge, sizeof huge);
    std::memcpy(&bad[48], &huge, sizeof huge);
    write_all(path, bad);
    CHECK_THROWS_WITH_AS(load_parameters(b.net, path), doctest::Contains("claims more values than the file holds"),
                         FormatError);
  }
  CHECK(b.net.parameters()[0]->value()[0] == before);
  std::remove(path.c_str());
}

TEST_CASE("a failed atomic write leaves the previous file intact") {
  const std::string path = temp_path("atomic.txt");
  write_text_file(path, "old");
  CHECK_THROWS_AS(write_atomically(path,
                                   [](const std::string& temp) {
                                     write_all(temp, "half");
                                     throw IoError("disk full");
                                   }),
                  IoError);
  CHECK(read_all(path) == "old");
  CHECK_FALSE(std::ifstream(path + ".tmp." + std::to_string(::getpid())).good());
  std::remove(path.c_str());
}

TEST_CASE("export_npy writes one loadable .npy per parameter") {
  const std::string dir = temp_path("npy");
  Mlp a(4);
  const auto files = export_npy(a.net, dir);
  REQUIRE(files.size() == 4);
  CHECK(files[0] == dir + "/h.kernel.npy");
  auto k = xt::load_npy<float>(files[0]);
  CHECK(k.shape()[0] == 3);
  CHECK(k.shape()[1] == 4);
  CHECK(k(1, 2) == a.net.parameters()[0]->value()[1 * 4 + 2]);
  for (const auto& f : files) std::remove(f.c_str());
  ::rmdir(dir.c_str());
}
