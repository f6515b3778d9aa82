#include <doctest/doctest.h>

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "helpers.hpp"

using namespace resilinet;

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/resilinet_data_" + std::to_string(::getpid()) + "_" + name;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

}  // namespace

TEST_CASE("Fashion-MNIST loads from Debian's gzipped IDX files") {
  const auto d = load_fashion_mnist<float>();
  CHECK(d.train.x.shape() == Shape{60000, 784});
  CHECK(d.test.x.shape() == Shape{10000, 784});
  CHECK(d.train.num_classes() == 10);
  std::vector<int> counts(10, 0);
  for (int y : d.test.y) ++counts[y];
  for (int c : counts) CHECK(c == 1000);  // the test set is balanced
  float lo = 1, hi = 0;
  for (float v : d.train.x) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo == 0.0f);
  CHECK(hi == 1.0f);
}

TEST_CASE("IDX reader reports wrong magic, truncation and count mismatches") {
  const std::string images = temp_path("img.gz"), labels = temp_path("lbl.gz");
  // Two 2x2 images and three labels.
  write_gz(images, be32(0x803) + be32(2) + be32(2) + be32(2) + std::string(8, '\x07'));
  write_gz(labels, be32(0x801) + be32(3) + std::string("\x01\x02\x03", 3));
  CHECK(read_idx_images<float>(images).shape() == Shape{2, 4});
  CHECK(read_idx_labels(labels) == std::vector<int>{1, 2, 3});
  CHECK_THROWS_WITH_AS(read_idx_dataset<float>(images, labels),
                       ("'" + images + "' holds 2 images but '" + labels + "' holds 3 labels")
                           .c_str(),
                       FormatError);
  CHECK_THROWS_WITH_AS(read_idx_images<float>(labels),
                       ("'" + labels +
                        "': IDX magic 0x801 is not the expected 0x803 (unsigned bytes, rank 3)")
                           .c_str(),
                       FormatError);
  write_gz(images, be32(0x803) + be32(2) + be32(2) + be32(2) + std::string(7, '\x07'));
  CHECK_THROWS_WITH_AS(read_idx_images<float>(images),
                       ("'" + images + "': header promises 8 data bytes but the file holds 7")
                           .c_str(),
                       FormatError);
  // A gzip stream cut in the middle.
  write_gz(images, be32(0x803) + be32(2) + be32(2) + be32(2) + std::string(8, '\x07'));
  std::ifstream in(images, std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(images, std::ios::binary | std::ios::trunc) << gz.substr(0, gz.size() / 2);
  CHECK_THROWS_AS(read_idx_images<float>(images), FormatError);
  CHECK_THROWS_AS(read_idx_images<float>(images + ".missing"), IoError);
  std::remove(images.c_str());
  std::remove(labels.c_str());
}

TEST_CASE("split is seeded, exhaustive and disjoint") {
  Dataset<double> d;
  d.x = Tensor<double>(Shape{100, 2});
  for (int i = 0; i < 100; ++i) {
    d.y.push_back(i);
    d.x(i, 0) = i;
  }
  Rng a(42), b(42);
  const auto parts = split(d, {0.8, 0.1, 0.1}, a);
  const auto again = split(d, {0.8, 0.1, 0.1}, b);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].size() == 80);
  CHECK(parts[1].size() == 10);
  CHECK(parts[2].size() == 10);
  CHECK(parts[1].y == again[1].y);
  std::set<int> seen;
  for (const auto& p : parts)
    for (std::size_t i = 0; i < p.size(); ++i) {
      seen.insert(p.y[i]);
      CHECK(p.x(i, 0) == double(p.y[i]));  // features follow their labels
    }
  CHECK(seen.size() == 100);
  CHECK_THROWS_WITH_AS(split(d, {0.8, 0.3}, a), "split: fractions must sum to 1, got 1.1",
                       ValueError);
  CHECK_THROWS_AS(split(d, {1.5, -0.5}, a), ValueError);
}
