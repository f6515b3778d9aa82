#pragma once
/// \file
/// ImageDataset: labelled images of one size kept as bytes, and the readers that fill it:
/// CIFAR-10 binary batches, class-folder trees of JPEG (libjpeg-turbo), PNG and BMP (stb_image),
/// bilinear resizing.
///
/// Pixels stay bytes (HWC, row-major) until a batch is drawn: CIFAR's 60,000 images take
/// 184 MB instead of 737 MB as floats, and augmentation happens per batch anyway.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <turbojpeg.h>

#include "resilinet/core/error.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/core/threads.hpp"
#include "resilinet/data/dataset.hpp"
#include "resilinet/detail/stb_image.hpp"
#include "resilinet/io/atomic_file.hpp"

namespace resilinet {

/// Images of one size as bytes, N × (H, W, C) row-major, with one integer label each.
struct ImageDataset {
  /// Image height in pixels.
  std::size_t height = 0;
  /// Image width in pixels.
  std::size_t width = 0;
  /// Channels per pixel (3: RGB).
  std::size_t channels = 3;
  /// All pixels, image after image.
  std::vector<std::uint8_t> pixels;
  /// One label per image.
  std::vector<int> labels;
  /// Class names by label (folder names, or CIFAR's ten names).
  std::vector<std::string> class_names;

  /// Number of images.
  std::size_t size() const { return labels.size(); }

  /// Bytes per image.
  std::size_t image_bytes() const { return height * width * channels; }

  /// Pointer to the first byte of image `i`.
  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * image_bytes(); }

  /// Throws ShapeError unless the pixel count matches the labels and the image size.
  void validate() const {
    require<ShapeError>(pixels.size() == size() * image_bytes(), "ImageDataset: ",
                        pixels.size(), " bytes for ", size(), " images of ", height, "x", width,
                        "x", channels);
  }

  /// The images at `indices`, in that order.
  ImageDataset subset(const std::vector<std::size_t>& indices) const {
    ImageDataset out = with_size_of(*this);
    out.pixels.resize(indices.size() * image_bytes());
    for (std::size_t k = 0; k < indices.size(); ++k) {
      require<ShapeError>(indices[k] < size(), "ImageDataset::subset: index ", indices[k],
                          " outside ", size(), " images");
      std::copy_n(image(indices[k]), image_bytes(), out.pixels.data() + k * image_bytes());
      out.labels.push_back(labels[indices[k]]);
    }
    return out;
  }

  /// Appends the images of `other` (same size and channels).
  void append(const ImageDataset& other) {
    require<ShapeError>(other.height == height && other.width == width &&
                            other.channels == channels,
                        "ImageDataset::append: ", other.height, "x", other.width, "x",
                        other.channels, " images onto ", height, "x", width, "x", channels);
    pixels.insert(pixels.end(), other.pixels.begin(), other.pixels.end());
    labels.insert(labels.end(), other.labels.begin(), other.labels.end());
  }

  /// The images as floats scaled to [0, 1], in a Dataset (N, H, W, C).
  template <class T>
  Dataset<T> to_dataset() const {
    Dataset<T> d;
    d.x = Tensor<T>(Shape{size(), height, width, channels});
    for (std::size_t i = 0; i < pixels.size(); ++i) d.x[i] = T(pixels[i]) / T(255);
    d.y = labels;
    return d;
  }

  /// An empty dataset with the image size and class names of `like`.
  static ImageDataset with_size_of(const ImageDataset& like) {
    ImageDataset out;
    out.height = like.height;
    out.width = like.width;
    out.channels = like.channels;
    out.class_names = like.class_names;
    return out;
  }
};

/// Shuffles `data` with `rng` and cuts it into parts of the given fractions (split_indices()).
inline std::vector<ImageDataset> split(const ImageDataset& data,
                                       const std::vector<double>& fractions, Rng& rng) {
  data.validate();
  std::vector<ImageDataset> parts;
  for (const auto& indices : split_indices(data.size(), fractions, rng))
    parts.push_back(data.subset(indices));
  return parts;
}

/// CIFAR-10's class names in label order.
inline std::vector<std::string> cifar10_class_names() {
  return {"airplane", "automobile", "bird", "cat", "deer",
          "dog",      "frog",       "horse", "ship", "truck"};
}

namespace detail {

/// The entries of directory `dir` (no "." or ".."), sorted; `want_dirs` selects
/// subdirectories or regular files.
inline std::vector<std::string> list_dir(const std::string& dir, bool want_dirs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw IoError("cannot open directory '" + dir + "': " + ec.message());
  std::vector<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code kind;  // an entry that vanished or cannot be stat'ed is neither kind
    if (want_dirs ? it->is_directory(kind) : it->is_regular_file(kind)) names.push_back(it->path().filename().string());
  }
  if (ec) throw IoError("cannot read directory '" + dir + "': " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace detail

/// Reads one CIFAR-10 binary batch: records of 1 label byte and 3,072 bytes of 32x32 pixels,
/// channel-planar (all R, then G, then B), converted to HWC.
inline ImageDataset load_cifar10_batch(const std::string& path) {
  const std::string bytes = detail::read_file_bytes(path);
  constexpr std::size_t record = 1 + 3 * 32 * 32;
  require<FormatError>(!bytes.empty() && bytes.size() % record == 0, "'", path, "': ",
                       bytes.size(), " bytes is not a whole number of 3073-byte CIFAR records");
  ImageDataset out;
  out.height = out.width = 32;
  out.class_names = cifar10_class_names();
  const std::size_t n = bytes.size() / record;
  out.pixels.resize(n * 3072);
  out.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto* r = reinterpret_cast<const std::uint8_t*>(bytes.data()) + i * record;
    require<FormatError>(r[0] < 10, "'", path, "': record ", i, " has label ", int(r[0]),
                         " outside 0..9");
    out.labels[i] = r[0];
    std::uint8_t* img = out.pixels.data() + i * 3072;
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t p = 0; p < 1024; ++p) img[p * 3 + c] = r[1 + c * 1024 + p];
  }
  return out;
}

/// Writes `data` (32x32x3 images, labels 0..255) as a CIFAR-10 binary batch, atomically.
inline void save_cifar10_batch(const ImageDataset& data, const std::string& path) {
  data.validate();
  require<ShapeError>(data.height == 32 && data.width == 32 && data.channels == 3,
                      "save_cifar10_batch: images are ", data.height, "x", data.width, "x",
                      data.channels, ", CIFAR needs 32x32x3");
  std::string bytes(data.size() * 3073, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) {
    require(data.labels[i] >= 0 && data.labels[i] < 256, "save_cifar10_batch: label ",
            data.labels[i], " does not fit a byte");
    char* r = &bytes[i * 3073];
    r[0] = char(data.labels[i]);
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t p = 0; p < 1024; ++p) r[1 + c * 1024 + p] = char(data.image(i)[p * 3 + c]);
  }
  write_text_file(path, bytes);
}

/// The standard CIFAR-10 binary set in `dir`: `data_batch_1..5.bin` (train, 50,000) and
/// `test_batch.bin` (10,000).
struct Cifar10 {
  /// The five training batches, in order.
  ImageDataset train;
  /// The test batch.
  ImageDataset test;
};

/// Reads the six CIFAR-10 binary batches from `dir`.
inline Cifar10 load_cifar10_binary(const std::string& dir) {
  Cifar10 out;
  out.train = load_cifar10_batch(dir + "/data_batch_1.bin");
  for (int b = 2; b <= 5; ++b)
    out.train.append(load_cifar10_batch(dir + "/data_batch_" + std::to_string(b) + ".bin"));
  out.test = load_cifar10_batch(dir + "/test_batch.bin");
  return out;
}

/// Resizes an 8-bit HWC image with bilinear interpolation (pixel centres aligned, edges
/// clamped, as PIL and OpenCV do).
inline void resize_bilinear(const std::uint8_t* src, std::size_t sh, std::size_t sw,
                            std::size_t channels, std::uint8_t* dst, std::size_t dh,
                            std::size_t dw) {
  const double fy = double(sh) / double(dh), fx = double(sw) / double(dw);
  for (std::size_t y = 0; y < dh; ++y) {
    const double sy = std::clamp((double(y) + 0.5) * fy - 0.5, 0.0, double(sh - 1));
    const std::size_t y0 = std::size_t(sy), y1 = std::min(y0 + 1, sh - 1);
    const double wy = sy - double(y0);
    for (std::size_t x = 0; x < dw; ++x) {
      const double sx = std::clamp((double(x) + 0.5) * fx - 0.5, 0.0, double(sw - 1));
      const std::size_t x0 = std::size_t(sx), x1 = std::min(x0 + 1, sw - 1);
      const double wx = sx - double(x0);
      for (std::size_t c = 0; c < channels; ++c) {
        auto at = [&](std::size_t yy, std::size_t xx) { return double(src[(yy * sw + xx) * channels + c]); };
        const double v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) +
                         wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        dst[(y * dw + x) * channels + c] = std::uint8_t(std::lround(std::clamp(v, 0.0, 255.0)));
      }
    }
  }
}

namespace detail {

/// Whether `bytes` start with a JPEG's start-of-image marker (0xFF bytes, then 0xD8). Fill
/// bytes before the marker still make a JPEG (libjpeg-turbo refuses them): nothing JPEG-like
/// reaches stb_image.
inline bool is_jpeg(const std::string& bytes) {
  std::size_t soi = 0;
  while (soi < bytes.size() && std::uint8_t(bytes[soi]) == 0xFF) ++soi;
  return soi > 0 && soi < bytes.size() && std::uint8_t(bytes[soi]) == 0xD8;
}

/// A JPEG decoded by decode_jpeg(): RGB pixels of `height`×`width`, from an image stored at
/// `stored_height`×`stored_width`.
struct DecodedJpeg {
  std::vector<std::uint8_t> pixels;  ///< HWC, 3 channels
  int height = 0;                    ///< decoded height
  int width = 0;                     ///< decoded width
  int stored_height = 0;             ///< the file's height
  int stored_width = 0;              ///< the file's width
};

/// Decodes the JPEG `bytes` (from `path`) with libjpeg-turbo to 8-bit RGB at the smallest of
/// its scalings (1/8 to 1) that is at least `height`×`width` (full size when those are 0);
/// every libjpeg warning (truncated or corrupt data) is an error, and more than `max_pixels`
/// declared pixels are refused before decoding.
inline DecodedJpeg decode_jpeg(const std::string& bytes, const std::string& path, std::size_t height,
                               std::size_t width, std::size_t max_pixels) {
  const std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  require<FormatError>(tj != nullptr, "'", path, "': cannot start the JPEG decoder: ", tjGetErrorStr2(nullptr));
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  DecodedJpeg out;
  int subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), data, size, &out.stored_width, &out.stored_height, &subsampling, &colorspace) != 0)
    throw FormatError("'" + path + "' is not a readable JPEG (" + tjGetErrorStr2(tj.get()) + ")");
  const int h = out.stored_height, w = out.stored_width;
  require<FormatError>(std::size_t(w) * std::size_t(h) <= max_pixels, "'", path, "': ", w, "x", h,
                       " pixels is more than the ", max_pixels, " an image may have");
  out.height = h;
  out.width = w;
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  for (int i = 0; height && width && factors && i < count; ++i) {
    const int fh = TJSCALED(h, factors[i]), fw = TJSCALED(w, factors[i]);
    if (std::size_t(fh) >= height && std::size_t(fw) >= width && fh * fw < out.height * out.width)
      out.height = fh, out.width = fw;
  }
  out.pixels.resize(std::size_t(out.height) * std::size_t(out.width) * 3);
  if (tjDecompress2(tj.get(), data, size, out.pixels.data(), out.width, 0, out.height, TJPF_RGB,
                    TJFLAG_STOPONWARNING) != 0)
    throw FormatError("'" + path + "' is not a readable JPEG (" + tjGetErrorStr2(tj.get()) + ")");
  return out;
}

}  // namespace detail

/// How load_image_folder() and ImageFolderSource read a class-folder tree.
struct ImageFolderOptions {
  /// Resize every image to this height (0: keep; then every image must have the same size).
  std::size_t height = 0;
  /// Resize every image to this width (0: keep).
  std::size_t width = 0;
};

/// The most pixels decode_image() accepts (2^25, e.g. 8192x4096): a corrupt or hostile
/// file of a few hundred bytes can declare a 65000-pixel-wide image that would take
/// gigabytes and minutes to decode.
inline constexpr std::size_t max_image_pixels = std::size_t(1) << 25;

/// Decodes the JPEG/PNG/BMP image at `path` to 8-bit RGB (greyscale is expanded), resized to
/// `height`×`width` when those are non-zero; `found_height`/`found_width` get its stored size.
/// JPEGs go through libjpeg-turbo, decoded at the smallest of its 1/8..1 scalings that still
/// covers the target size; PNG and BMP through stb_image. Throws FormatError naming the file
/// when it is truncated, corrupt or not an image, or larger than max_image_pixels.
inline std::vector<std::uint8_t> decode_image(const std::string& path, std::size_t height = 0,
                                              std::size_t width = 0,
                                              std::size_t* found_height = nullptr,
                                              std::size_t* found_width = nullptr) {
  const std::string bytes = detail::read_file_bytes(path);
  require<FormatError>(bytes.size() <= std::size_t(1) << 30, "'", path, "': too large to decode");
  std::vector<std::uint8_t> pixels;
  std::size_t h = 0, w = 0;  // of `pixels`
  if (detail::is_jpeg(bytes)) {
    detail::DecodedJpeg jpeg = detail::decode_jpeg(bytes, path, height, width, max_image_pixels);
    if (found_height) *found_height = std::size_t(jpeg.stored_height);
    if (found_width) *found_width = std::size_t(jpeg.stored_width);
    pixels = std::move(jpeg.pixels);
    h = std::size_t(jpeg.height);
    w = std::size_t(jpeg.width);
  } else {
    int iw = 0, ih = 0, comp = 0;
    if (stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), &iw, &ih, &comp))
      require<FormatError>(std::size_t(iw) * std::size_t(ih) <= max_image_pixels, "'", path, "': ", iw, "x", ih,
                           " pixels is more than the ", max_image_pixels, " an image may have");
    std::uint8_t* data = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()),
                                               &iw, &ih, &comp, 3);
    if (!data) throw FormatError("'" + path + "' is not a readable image (" + stbi_failure_reason() + ")");
    if (iw <= 0 || ih <= 0) {  // stb_image 2.27 returns a BMP of 0 rows (found by fuzz_image)
      stbi_image_free(data);
      throw FormatError("'" + path + "' has no pixels (" + std::to_string(iw) + "x" + std::to_string(ih) + ")");
    }
    h = std::size_t(ih);
    w = std::size_t(iw);
    pixels.assign(data, data + h * w * 3);
    stbi_image_free(data);
    if (found_height) *found_height = h;
    if (found_width) *found_width = w;
  }
  if (!height || !width || (h == height && w == width)) return pixels;
  std::vector<std::uint8_t> resized(height * width * 3);
  resize_bilinear(pixels.data(), h, w, 3, resized.data(), height, width);
  return resized;
}

/// The files of a class-folder tree: `root/<class>/<file>`, classes in sorted order (label =
/// position), files sorted within each class.
struct ImageFileList {
  /// Full path of every image.
  std::vector<std::string> paths;
  /// Label of every image.
  std::vector<int> labels;
  /// Class (folder) names by label.
  std::vector<std::string> class_names;

  /// The files at `indices`, in that order (class names kept).
  ImageFileList subset(const std::vector<std::size_t>& indices) const {
    ImageFileList out;
    out.class_names = class_names;
    for (std::size_t i : indices) {
      require<ShapeError>(i < paths.size(), "ImageFileList::subset: index ", i, " outside ",
                          paths.size(), " files");
      out.paths.push_back(paths[i]);
      out.labels.push_back(labels[i]);
    }
    return out;
  }

  /// Appends the files of `other`, which must have the same classes.
  void append(const ImageFileList& other) {
    require<ShapeError>(other.class_names == class_names, "ImageFileList::append: other classes");
    paths.insert(paths.end(), other.paths.begin(), other.paths.end());
    labels.insert(labels.end(), other.labels.begin(), other.labels.end());
  }
};

/// Lists a class-folder tree; throws IoError when `root` cannot be read and FormatError when
/// it has no class folders or a class folder is empty.
inline ImageFileList list_image_folder(const std::string& root) {
  ImageFileList out;
  out.class_names = detail::list_dir(root, true);
  require<FormatError>(!out.class_names.empty(), "'", root, "' has no class folders");
  for (std::size_t k = 0; k < out.class_names.size(); ++k) {
    const std::string dir = root + "/" + out.class_names[k];
    const auto files = detail::list_dir(dir, false);
    require<FormatError>(!files.empty(), "class folder '", dir, "' is empty");
    for (const std::string& f : files) {
      out.paths.push_back(dir + "/" + f);
      out.labels.push_back(int(k));
    }
  }
  return out;
}

/// Decodes `files` into memory in parallel; every image must decode and (without resizing)
/// have the size of the first. Errors name the offending file.
inline ImageDataset load_images(const ImageFileList& files, const ImageFolderOptions& options = {}) {
  require<ShapeError>(!files.paths.empty(), "load_images: no files");
  ImageDataset out;
  out.class_names = files.class_names;
  out.labels = files.labels;
  std::size_t h0 = 0, w0 = 0;
  decode_image(files.paths[0], options.height, options.width, &h0, &w0);  // sets the size
  out.height = options.height ? options.height : h0;
  out.width = options.width ? options.width : w0;
  out.pixels.resize(files.paths.size() * out.image_bytes());
  std::vector<std::string> errors(std::size_t(max_threads()) + 1);
  parallel_for(files.paths.size(), [&](std::size_t b, std::size_t e, std::size_t t) {
    for (std::size_t i = b; i < e && errors[t].empty(); ++i) {
      try {
        std::size_t h = 0, w = 0;
        const auto px = decode_image(files.paths[i], options.height, options.width, &h, &w);
        if (!options.height && (h != out.height || w != out.width))
          throw FormatError("'" + files.paths[i] + "' is " + std::to_string(h) + "x" +
                            std::to_string(w) + ", expected " + std::to_string(out.height) +
                            "x" + std::to_string(out.width) + " like '" + files.paths[0] + "'");
        std::copy(px.begin(), px.end(), out.pixels.begin() + std::ptrdiff_t(i * out.image_bytes()));
      } catch (const std::exception& err) {  // nothing may escape a parallel region
        errors[t] = err.what();
      }
    }
  });
  for (const std::string& e : errors)
    if (!e.empty()) throw FormatError(e);
  return out;
}

/// Reads a whole class-folder tree into memory (list_image_folder, then load_images).
inline ImageDataset load_image_folder(const std::string& root, const ImageFolderOptions& options = {}) {
  return load_images(list_image_folder(root), options);
}

}  // namespace resilinet
