#pragma once
/// \file
/// Readers for IDX files (MNIST / Fashion-MNIST), plain or gzipped, via zlib.

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/data/dataset.hpp"

namespace resilinet {

namespace detail {

/// Reads the whole of a plain or gzip-compressed file (zlib reads both transparently).
inline std::vector<unsigned char> read_gz_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw IoError("cannot open '" + path + "': " + detail::os_reason());
  std::vector<unsigned char> bytes;
  unsigned char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  int err = 0;
  const char* msg = gzerror(f, &err);
  const std::string message = msg ? msg : "";
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END))
    throw FormatError("'" + path + "': corrupt or truncated compressed data (" + message + ")");
  return bytes;
}

/// Parsed IDX header and payload of unsigned bytes.
struct IdxFile {
  std::vector<std::uint32_t> dims;
  std::vector<unsigned char> bytes;
  std::size_t payload = 0;  // offset of the first data byte
};

/// Reads an IDX file of unsigned bytes with the expected rank, checking magic and length.
inline IdxFile read_idx(const std::string& path, std::size_t expected_rank) {
  IdxFile f;
  f.bytes = read_gz_file(path);
  auto u32 = [&](std::size_t at) {
    return std::uint32_t(f.bytes[at]) << 24 | std::uint32_t(f.bytes[at + 1]) << 16 |
           std::uint32_t(f.bytes[at + 2]) << 8 | std::uint32_t(f.bytes[at + 3]);
  };
  require<FormatError>(f.bytes.size() >= 4, "'", path, "': too short for an IDX header (",
                       f.bytes.size(), " bytes)");
  const std::uint32_t magic = u32(0);
  const std::uint32_t expected_magic = 0x00000800u | std::uint32_t(expected_rank);
  require<FormatError>(magic == expected_magic, "'", path, "': IDX magic 0x", std::hex, magic,
                       " is not the expected 0x", expected_magic, std::dec, " (unsigned bytes, rank ",
                       expected_rank, ")");
  f.payload = 4 + 4 * expected_rank;
  require<FormatError>(f.bytes.size() >= f.payload, "'", path, "': truncated IDX header");
  std::size_t count = 1;
  for (std::size_t d = 0; d < expected_rank; ++d) {
    f.dims.push_back(u32(4 + 4 * d));
    count *= f.dims.back();
  }
  require<FormatError>(f.bytes.size() - f.payload == count, "'", path, "': header promises ",
                       count, " data bytes but the file holds ", f.bytes.size() - f.payload);
  return f;
}

}  // namespace detail

/// Reads an IDX image file (rank 3: N × rows × cols) as (N, rows·cols) values scaled to [0, 1].
template <class T>
Tensor<T> read_idx_images(const std::string& path) {
  const detail::IdxFile f = detail::read_idx(path, 3);
  const std::size_t n = f.dims[0], pixels = std::size_t(f.dims[1]) * f.dims[2];
  Tensor<T> x(Shape{n, pixels});
  for (std::size_t i = 0; i < n * pixels; ++i) x[i] = T(f.bytes[f.payload + i]) / T(255);
  return x;
}

/// Reads an IDX label file (rank 1) as integers.
inline std::vector<int> read_idx_labels(const std::string& path) {
  const detail::IdxFile f = detail::read_idx(path, 1);
  return std::vector<int>(f.bytes.begin() + std::ptrdiff_t(f.payload), f.bytes.end());
}

/// Reads an images file and a labels file into one Dataset, checking that the counts agree.
template <class T>
Dataset<T> read_idx_dataset(const std::string& images_path, const std::string& labels_path) {
  Dataset<T> d{read_idx_images<T>(images_path), read_idx_labels(labels_path)};
  require<FormatError>(d.x.dim(0) == d.y.size(), "'", images_path, "' holds ", d.x.dim(0),
                       " images but '", labels_path, "' holds ", d.y.size(), " labels");
  return d;
}

/// The train and test parts of an MNIST-layout dataset.
template <class T>
struct TrainTest {
  /// The training examples.
  Dataset<T> train;
  /// The test examples.
  Dataset<T> test;
};

/// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
inline const char* default_fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

/// Loads Fashion-MNIST (or MNIST) from the four gzipped IDX files in `dir`.
template <class T>
TrainTest<T> load_fashion_mnist(const std::string& dir = default_fashion_mnist_dir()) {
  return {read_idx_dataset<T>(dir + "/train-images-idx3-ubyte.gz",
                              dir + "/train-labels-idx1-ubyte.gz"),
          read_idx_dataset<T>(dir + "/t10k-images-idx3-ubyte.gz",
                              dir + "/t10k-labels-idx1-ubyte.gz")};
}

}  // namespace resilinet
