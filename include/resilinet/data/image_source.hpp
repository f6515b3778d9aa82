#pragma once
/// \file
/// Image batch sources: ImageSource (an ImageDataset in memory) and ImageFolderSource (a
/// class-folder tree decoded batch by batch, so an ImageNet-sized tree never has to fit in
/// memory). Both scale bytes to [0, 1] and can augment every training image afresh.

#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "resilinet/core/threads.hpp"
#include "resilinet/data/augmentation.hpp"
#include "resilinet/data/batch_source.hpp"
#include "resilinet/data/image_dataset.hpp"

namespace resilinet {

/// What the image sources share: the epoch's order, byte-to-float scaling and augmentation.
/// A derived class says how to fetch the bytes of example i.
template <class T>
class ImageBatchSource : public BatchSource<T> {
 public:
  /// Examples per epoch.
  std::size_t size() const override { return labels_.size(); }

  /// Rewinds; draws a fresh order from `rng` when the source shuffles (the order and the
  /// augmentation depend only on `rng`, not on earlier epochs).
  void start_epoch(Rng& rng) override {
    std::iota(order_.begin(), order_.end(), std::size_t(0));
    if (shuffle_) rng.shuffle(order_);
    rng_ = rng.fork();
    next_ = 0;
  }

  /// The next batch (N, H, W, C) in [0, 1], augmented when the source augments. Augmentation
  /// parameters are drawn in example order before the images are processed in parallel, so
  /// the batch does not depend on the thread count.
  bool next(std::size_t batch_size, Tensor<T>& x, std::vector<int>& y) override {
    require(batch_size > 0, "image source: batch_size must be positive, got ", batch_size);
    if (next_ >= order_.size()) return false;
    const std::size_t rows = std::min(batch_size, order_.size() - next_);
    x.resize(Shape{rows, height_, width_, channels_});
    y.resize(rows);
    draws_.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) {
      y[i] = labels_[order_[next_ + i]];
      if (augmentation_) draws_[i] = augmentation_->draw(rng_, height_, width_);
    }
    const std::size_t pixels = height_ * width_ * channels_;
    scratch_.resize(std::size_t(max_threads()) * (pixels + 1));
    errors_.assign(std::size_t(max_threads()) + 1, std::string());
    reserve_threads(std::size_t(max_threads()) + 1);
    parallel_for(rows, [&](std::size_t b, std::size_t e, std::size_t t) {
      T* tmp = scratch_.data() + t * pixels;
      for (std::size_t i = b; i < e && errors_[t].empty(); ++i) {
        try {
          T* out = x.data() + i * pixels;
          const std::uint8_t* bytes = fetch(order_[next_ + i], t);
          T* dst = augmentation_ ? tmp : out;
          for (std::size_t p = 0; p < pixels; ++p) dst[p] = T(bytes[p]) / T(255);
          if (augmentation_) apply_augmentation(draws_[i], tmp, out, height_, width_, channels_);
        } catch (const std::exception& err) {  // nothing may escape a parallel region
          errors_[t] = err.what();
        }
      }
    });
    for (const std::string& e : errors_)
      if (!e.empty()) throw FormatError(e);
    next_ += rows;
    return true;
  }

 protected:
  /// Sets the image size, the labels, whether to shuffle and the optional augmentation.
  void init(std::size_t height, std::size_t width, std::size_t channels, std::vector<int> labels,
            bool shuffle, std::optional<Augmentation> augmentation) {
    if (augmentation) augmentation->validate();
    height_ = height;
    width_ = width;
    channels_ = channels;
    labels_ = std::move(labels);
    shuffle_ = shuffle;
    augmentation_ = augmentation;
    order_.resize(labels_.size());
    std::iota(order_.begin(), order_.end(), std::size_t(0));
  }

  /// The bytes (H, W, C) of example `index`, valid until the next fetch by thread `thread`.
  virtual const std::uint8_t* fetch(std::size_t index, std::size_t thread) = 0;

  /// Prepares per-thread state for threads 0..threads−1 (called outside parallel regions).
  virtual void reserve_threads(std::size_t) {}

 private:
  std::size_t height_ = 0, width_ = 0, channels_ = 0;
  std::vector<int> labels_;
  bool shuffle_ = false;
  std::optional<Augmentation> augmentation_;
  std::vector<std::size_t> order_;
  std::size_t next_ = 0;
  Rng rng_;
  std::vector<AugmentDraw> draws_;
  std::vector<T> scratch_;
  std::vector<std::string> errors_;
};

/// Batches of an ImageDataset held in memory (kept by reference: it must outlive the source).
template <class T>
class ImageSource : public ImageBatchSource<T> {
 public:
  /// Serves `data`, reshuffled each epoch when `shuffle`, augmented when `augmentation` is set.
  explicit ImageSource(const ImageDataset& data, bool shuffle = false,
                       std::optional<Augmentation> augmentation = std::nullopt)
      : data_(data) {
    data.validate();
    this->init(data.height, data.width, data.channels, data.labels, shuffle, augmentation);
  }

 protected:
  const std::uint8_t* fetch(std::size_t index, std::size_t) override { return data_.image(index); }

 private:
  const ImageDataset& data_;
};

/// Batches decoded from a class-folder tree as they are needed (resized to the options' size
/// when set); only the file list is held in memory.
template <class T>
class ImageFolderSource : public ImageBatchSource<T> {
 public:
  /// Lists `root`; without a size in `options` the first image's size is used and every
  /// image must match it. Errors name the offending folder or file.
  explicit ImageFolderSource(const std::string& root, const ImageFolderOptions& options = {},
                             bool shuffle = false,
                             std::optional<Augmentation> augmentation = std::nullopt)
      : ImageFolderSource(list_image_folder(root), options, shuffle, augmentation) {}

  /// Serves the listed files (e.g. one part of a split of a tree).
  ImageFolderSource(ImageFileList files, const ImageFolderOptions& options, bool shuffle = false,
                    std::optional<Augmentation> augmentation = std::nullopt)
      : files_(std::move(files)), options_(options) {
    require<FormatError>(!files_.paths.empty(), "ImageFolderSource: no image files");
    std::size_t h = options.height, w = options.width;
    if (!h || !w) decode_image(files_.paths[0], 0, 0, &h, &w);
    options_.height = h;
    options_.width = w;
    this->init(h, w, 3, files_.labels, shuffle, augmentation);
  }

  /// The class (folder) names by label.
  const std::vector<std::string>& class_names() const { return files_.class_names; }

 protected:
  const std::uint8_t* fetch(std::size_t index, std::size_t thread) override {
    std::size_t h = 0, w = 0;
    buffers_[thread] = decode_image(files_.paths[index], options_.height, options_.width, &h, &w);
    require<FormatError>(buffers_[thread].size() == options_.height * options_.width * 3, "'",
                         files_.paths[index], "' is ", h, "x", w, ", expected ",
                         options_.height, "x", options_.width);
    return buffers_[thread].data();
  }

  void reserve_threads(std::size_t threads) override {
    if (buffers_.size() < threads) buffers_.resize(threads);
  }

 private:
  ImageFileList files_;
  ImageFolderOptions options_;
  std::vector<std::vector<std::uint8_t>> buffers_;
};

}  // namespace resilinet
