// Image data: CIFAR binary batches, class-folder trees (the real cifar10-jpg and
// imagenette-val folders), the reference resplit, bilinear resizing, augmentation
// determinism, prefetching, and named errors for damaged input.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "helpers.hpp"

using namespace resilinet;

namespace {

// A fresh empty directory under the build tree's working directory.
std::string scratch_dir(const std::string& name) {
  const std::string dir = "resilinet_test_" + name;
  std::system(("rm -rf '" + dir + "'").c_str());
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

void copy_file(const std::string& from, const std::string& to, std::size_t max_bytes = std::size_t(-1)) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(to, std::ios::binary) << bytes.substr(0, std::min(max_bytes, bytes.size()));
}

std::vector<float> drain(BatchSource<float>& source, Rng& rng, std::size_t batch) {
  source.start_epoch(rng);
  Tensor<float> x;
  std::vector<int> y;
  std::vector<float> all;
  while (source.next(batch, x, y)) {
    all.insert(all.end(), x.begin(), x.end());
    for (int label : y) all.push_back(float(label));
  }
  return all;
}

}  // namespace

TEST_CASE("CIFAR-10 JPEG folders: 60,000 images, ten classes, the reference 48000/6000/6000 resplit") {
  const std::string root = testing::shared_data("cifar10-jpg");
  if (root.empty()) return;
  ImageDataset all = load_image_folder(root + "/train");
  const ImageDataset test = load_image_folder(root + "/test");
  CHECK(all.size() == 50000);
  CHECK(test.size() == 10000);
  CHECK(all.class_names == cifar10_class_names());
  CHECK(all.height == 32);
  CHECK(all.width == 32);
  all.append(test);
  Rng rng(42);
  const auto parts = split(all, {0.8, 0.1, 0.1}, rng);
  CHECK(parts[0].size() == 48000);
  CHECK(parts[1].size() == 6000);
  CHECK(parts[2].size() == 6000);
  std::vector<std::size_t> per_class(10, 0);
  for (int y : all.labels) ++per_class[std::size_t(y)];
  for (std::size_t c : per_class) CHECK(c == 6000);
}

TEST_CASE("decoding the listed files of a split equals splitting the decoded folders (what --subset decodes)") {
  const std::string root = testing::shared_data("cifar10-jpg");
  if (root.empty()) return;
  ImageFileList files = list_image_folder(root + "/test");
  const ImageFileList again = list_image_folder(root + "/test");
  files.append(again);
  CHECK(files.paths.size() == 20000);
  CHECK(files.labels[10000] == again.labels[0]);
  const std::vector<std::size_t> picked = {19999, 3, 10003, 5000};
  const ImageDataset some = load_images(files.subset(picked));
  ImageDataset whole = load_image_folder(root + "/test");
  const ImageDataset copy = whole;
  whole.append(copy);
  const ImageDataset expected = whole.subset(picked);
  CHECK(some.size() == 4);
  CHECK(some.labels == expected.labels);
  CHECK(some.pixels == expected.pixels);
  const auto b = std::ptrdiff_t(some.image_bytes());  // picked 3 and 10003 are one file
  CHECK(std::equal(some.pixels.begin() + b, some.pixels.begin() + 2 * b, some.pixels.begin() + 2 * b));
  ImageFileList other = files;
  other.class_names.pop_back();
  CHECK_THROWS_AS(files.append(other), ShapeError);
  CHECK_THROWS_AS(load_images(ImageFileList{}), ShapeError);
}

TEST_CASE("CIFAR-10 binary batches: a batch written from the shared images reads back exactly") {
  const std::string root = testing::shared_data("cifar10-jpg");
  if (root.empty()) return;
  const ImageDataset test = load_image_folder(root + "/test");
  std::vector<std::size_t> pick;
  for (std::size_t i = 0; i < test.size(); i += 97) pick.push_back(i);
  const ImageDataset some = test.subset(pick);
  const std::string dir = scratch_dir("cifar_bin");
  save_cifar10_batch(some, dir + "/test_batch.bin");
  for (int b = 1; b <= 5; ++b) save_cifar10_batch(some, dir + "/data_batch_" + std::to_string(b) + ".bin");
  const Cifar10 back = load_cifar10_binary(dir);
  CHECK(back.test.labels == some.labels);
  CHECK(back.test.pixels == some.pixels);
  CHECK(back.train.size() == 5 * some.size());
  // Channel-planar on disk: byte 1 of a record is the red value of pixel (0, 0).
  std::ifstream raw(dir + "/test_batch.bin", std::ios::binary);
  char head[2];
  raw.read(head, 2);
  CHECK(std::uint8_t(head[1]) == some.pixels[0]);
  // A wrong record size and an impossible label are named errors.
  copy_file(dir + "/test_batch.bin", dir + "/cut.bin", 3073 * 2 + 100);
  CHECK_THROWS_WITH_AS(load_cifar10_batch(dir + "/cut.bin"),
                       ("'" + dir + "/cut.bin': 6246 bytes is not a whole number of 3073-byte CIFAR records").c_str(),
                       FormatError);
  { std::ofstream(dir + "/label.bin", std::ios::binary) << std::string(1, char(10)) << std::string(3072, 'x'); }
  CHECK_THROWS_WITH_AS(load_cifar10_batch(dir + "/label.bin"),
                       ("'" + dir + "/label.bin': record 0 has label 10 outside 0..9").c_str(), FormatError);
  CHECK_THROWS_AS(load_cifar10_batch(dir + "/missing.bin"), IoError);
}

TEST_CASE("Imagenette streamed from its folder tree, resized to 160x160 (greyscale made RGB)") {
  const std::string root = testing::shared_data("imagenette-val");
  if (root.empty()) return;
  ImageFolderOptions o;
  o.height = o.width = 160;
  ImageFolderSource<float> source(root, o, true, Augmentation{});
  CHECK(source.size() == 3925);
  CHECK(source.class_names().size() == 10);
  CHECK(source.steps_per_epoch(64) == 62);
  Rng rng(1);
  source.start_epoch(rng);
  Tensor<float> x;
  std::vector<int> y;
  REQUIRE(source.next(16, x, y));
  CHECK(x.shape() == Shape{16, 160, 160, 3});
  float lo = 1, hi = 0;
  for (float v : x) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo >= 0.0f);
  CHECK(hi <= 1.0f);
  CHECK(hi > 0.5f);
  for (int label : y) CHECK((label >= 0 && label < 10));
}

TEST_CASE("damaged image trees get named errors, never a crash") {
  const std::string root = testing::shared_data("cifar10-jpg");
  if (root.empty()) return;
  const std::string good = root + "/test/cat/0000.jpg";
  const std::string dir = scratch_dir("bad_tree");
  ::mkdir((dir + "/a").c_str(), 0755);
  ::mkdir((dir + "/b").c_str(), 0755);
  copy_file(good, dir + "/a/0.jpg");
  CHECK_THROWS_WITH_AS(load_image_folder(dir), ("class folder '" + dir + "/b' is empty").c_str(), FormatError);
  copy_file(good, dir + "/b/0.jpg", 60);  // truncated JPEG
  CHECK_THROWS_AS(load_image_folder(dir), FormatError);
  try {
    load_image_folder(dir);
  } catch (const FormatError& e) {
    CHECK(std::string(e.what()).find(dir + "/b/0.jpg") != std::string::npos);
  }
  { std::ofstream(dir + "/b/0.jpg") << "not an image at all"; }
  CHECK_THROWS_AS(load_image_folder(dir), FormatError);
  const std::string big = testing::shared_data("imagenette-val");
  if (!big.empty()) {
    const auto files = list_image_folder(big);
    copy_file(files.paths[0], dir + "/b/0.jpg");  // 224x224 among 32x32
    CHECK_THROWS_AS(load_image_folder(dir), FormatError);
    ImageFolderOptions o;
    o.height = o.width = 32;
    CHECK(load_image_folder(dir, o).size() == 2);  // resizing accepts it
  }
  CHECK_THROWS_AS(load_image_folder(dir + "/nowhere"), IoError);
}

TEST_CASE("bilinear resize: constant stays constant, pixel centres align") {
  std::vector<std::uint8_t> flat(4 * 4, 77), out(3 * 5);
  resize_bilinear(flat.data(), 4, 4, 1, out.data(), 3, 5);
  for (auto v : out) CHECK(v == 77);
  const std::uint8_t row[4] = {0, 100, 200, 40};
  std::uint8_t half[2];
  resize_bilinear(row, 1, 4, 1, half, 1, 2);
  CHECK(half[0] == 50);   // samples at x = 0.5
  CHECK(half[1] == 120);  // samples at x = 2.5
}

TEST_CASE("augmentation: identity without ranges, exact flip and shift, determinism under a seed") {
  Rng rng(3);
  const std::size_t h = 5, w = 6, c = 2;
  std::vector<float> img(h * w * c), out(h * w * c);
  for (auto& v : img) v = float(rng.uniform());
  AugmentDraw none;
  apply_augmentation(none, img.data(), out.data(), h, w, c);
  CHECK(out == img);
  AugmentDraw flip;
  flip.flip = true;
  apply_augmentation(flip, img.data(), out.data(), h, w, c);
  CHECK(out[(2 * w + 0) * c + 1] == img[(2 * w + w - 1) * c + 1]);
  AugmentDraw shift;
  shift.tx = 1;  // output row r samples input row r + 1, the last row repeats ("nearest")
  apply_augmentation(shift, img.data(), out.data(), h, w, c);
  CHECK(out[(0 * w + 3) * c] == doctest::Approx(img[(1 * w + 3) * c]));
  CHECK(out[((h - 1) * w + 3) * c] == doctest::Approx(img[((h - 1) * w + 3) * c]));
  // Keras's draws stay in range.
  const Augmentation aug;
  for (int i = 0; i < 1000; ++i) {
    const AugmentDraw d = aug.draw(rng, 32, 32);
    CHECK_UNARY(std::abs(d.theta) <= 30);
    CHECK_UNARY(std::abs(d.tx) <= 6.4);
    CHECK_UNARY(std::abs(d.ty) <= 6.4);
  }
  CHECK_THROWS_AS(Augmentation({200}).validate(), ValueError);
  // The same seed gives the same augmented epoch, another seed another; prefetching and the
  // thread count change nothing.
  ImageDataset d;
  d.height = 8, d.width = 8;
  for (int i = 0; i < 40; ++i) {
    for (int p = 0; p < 8 * 8 * 3; ++p) d.pixels.push_back(std::uint8_t(rng.below(256)));
    d.labels.push_back(i % 10);
  }
  ImageSource<float> a(d, true, Augmentation{}), b(d, true, Augmentation{});
  Rng r1(5), r2(5), r3(6), r4(5);
  const auto ea = drain(a, r1, 16);
  CHECK(ea == drain(b, r2, 16));
  CHECK(ea != drain(b, r3, 16));
  const int before = max_threads();
  set_num_threads(1);
  PrefetchSource<float> pre(b, 16);
  CHECK(drain(pre, r4, 16) == ea);
  set_num_threads(before);
}

TEST_CASE("an image declaring more than max_image_pixels is refused before decoding (found by fuzz_image)") {
  const std::string path = std::string(RESILINET_TEST_FIXTURES) + "/fuzz/jpeg-huge-dimensions.jpg";
  CHECK_THROWS_WITH_AS(decode_image(path), doctest::Contains("65247x2272 pixels is more than the 33554432"),
                       FormatError);
}

TEST_CASE("corrupt JPEGs fuzz_image found in stb_image are refused by libjpeg-turbo, naming the defect") {
  // Each once made stb_image 2.27 overflow a table, read uninitialised memory, shift by 32 or
  // more, or spend seconds decoding grey fill; libjpeg-turbo stops at its first warning.
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"jpeg-huffman-overflow-1.jpg", "Bogus Huffman table definition"},
      {"jpeg-huffman-overflow-2.jpg", "Bogus Huffman table definition"},
      {"jpeg-huffman-overflow-3.jpg", "Not a JPEG file: starts with 0xff 0xff"},  // fill bytes before the SOI
      {"jpeg-tiny-file-huge-image-1.jpg", "missing SOS marker"},                  // 45 bytes declaring 255x65525
      {"jpeg-tiny-file-huge-image-2.jpg", "missing SOS marker"},
      {"stb-huffman-symbol-index.jpg", "Corrupt JPEG data"},
      {"stb-shift-exponent.jpg", "Corrupt JPEG data"},
      {"stb-undefined-huffman-table.jpg", "is not a readable JPEG"}};
  for (const auto& [name, reason] : cases) {
    const std::string path = std::string(RESILINET_TEST_FIXTURES) + "/fuzz/" + name;
    CAPTURE(path);
    CHECK_THROWS_WITH_AS(decode_image(path), doctest::Contains(reason), FormatError);
    CHECK_THROWS_WITH_AS(decode_image(path, 7, 5), doctest::Contains(path.c_str()), FormatError);
  }
}

TEST_CASE("a BMP stb_image decodes to 0 rows is refused, resized or not (found by fuzz_image)") {
  // 30 bytes declaring 18717x0 pixels: resizing it read past stb's buffer.
  const std::string path = std::string(RESILINET_TEST_FIXTURES) + "/fuzz/bmp-zero-rows.bmp";
  CHECK_THROWS_WITH_AS(decode_image(path), doctest::Contains("has no pixels (18717x0)"), FormatError);
  CHECK_THROWS_WITH_AS(decode_image(path, 7, 5), doctest::Contains("has no pixels (18717x0)"), FormatError);
}

TEST_CASE("JPEGs decode at the smallest libjpeg-turbo scaling that covers the target size") {
  const std::string root = testing::shared_data("imagenette-val");
  if (root.empty()) return;
  const std::string path = list_image_folder(root).paths[0];
  std::size_t h = 0, w = 0;
  const auto full = decode_image(path, 0, 0, &h, &w);
  REQUIRE(full.size() == h * w * 3);
  // A quarter of the stored size is reached by decoding at 1/4 (stored size still reported),
  // and matches the full decode resized to within a few levels on average.
  const std::size_t qh = (h + 3) / 4, qw = (w + 3) / 4;
  std::size_t sh = 0, sw = 0;
  const auto quarter = decode_image(path, qh, qw, &sh, &sw);
  CHECK(sh == h);
  CHECK(sw == w);
  std::vector<std::uint8_t> resized(qh * qw * 3);
  resize_bilinear(full.data(), h, w, 3, resized.data(), qh, qw);
  double diff = 0;
  for (std::size_t i = 0; i < resized.size(); ++i) diff += std::abs(int(resized[i]) - int(quarter[i]));
  CHECK(diff / double(resized.size()) < 8.0);
  const auto detail_quarter = detail::decode_jpeg(detail::read_file_bytes(path), path, qh, qw, max_image_pixels);
  CHECK(std::size_t(detail_quarter.height) == qh);  // decoded small, not resized from full size
  CHECK(std::size_t(detail_quarter.width) == qw);
  CHECK(detail::decode_jpeg(detail::read_file_bytes(path), path, h, w, max_image_pixels).height == int(h));
}
