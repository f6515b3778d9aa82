#pragma once
/// \file
/// The multi-view camera dataset of the paper's camera experiment (spec §6.4): 32x32 crops
/// `<class>_images/c<cam>_<obj>_<frame>.jpg` of six cameras, grouped into examples of six views.

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "resilinet/data/dataset.hpp"
#include "resilinet/data/image_dataset.hpp"

namespace resilinet {

/// How load_multiview() groups and decodes the images.
struct MultiviewOptions {
  /// The reference's grouping (bucket by frame number across classes, chunks of six from the
  /// end, label of the first image; views not per camera) instead of the corrected one
  /// (class, frame, object with all six cameras, views in camera order).
  bool reference_grouping = false;
  /// Channels in OpenCV's BGR order, as the reference reads them (default RGB).
  bool bgr = false;
};

/// The camera experiment's class folders in label order: person 0, car 1, bus 2.
inline std::vector<std::string> multiview_classes() { return {"person", "car", "bus"}; }

namespace detail {

/// One image file of the multi-view dataset.
struct ViewFile {
  std::string path;
  int label = 0;
  int camera = 0;
  int object = 0;
  int frame = 0;
};

/// Parses `c<cam>_<obj>_<frame>.jpg`; FormatError naming the file otherwise.
inline ViewFile parse_view_file(const std::string& dir, const std::string& name, int label) {
  ViewFile v;
  v.path = dir + "/" + name;
  v.label = label;
  char tail[8] = {};
  const bool ok = std::sscanf(name.c_str(), "c%d_%d_%d.%4s", &v.camera, &v.object, &v.frame, tail) == 4 &&
                  std::string(tail) == "jpg" && v.camera >= 0 && v.camera < 6 && v.object >= 0 &&
                  v.frame >= 0;
  require<FormatError>(ok, "'", resilinet::quoted(v.path, 200), "' is not named c<camera 0-5>_<object>_<frame>.jpg");
  return v;
}

}  // namespace detail

/// Groups the images of one split folder (`train_dir`, `test_dir` or `holdout_dir`) into
/// examples of six views; returns the file paths of each example's views and its label.
inline std::vector<std::pair<std::array<std::string, 6>, int>> group_multiview(
    const std::string& dir, const MultiviewOptions& options = {}) {
  std::vector<detail::ViewFile> files;
  const auto classes = multiview_classes();
  for (std::size_t c = 0; c < classes.size(); ++c) {
    const std::string sub = dir + "/" + classes[c] + "_images";
    for (const std::string& name : detail::list_dir(sub, false))
      files.push_back(detail::parse_view_file(sub, name, int(c)));
  }
  std::vector<std::pair<std::array<std::string, 6>, int>> out;
  if (options.reference_grouping) {
    // Buckets by frame across classes, in order of first appearance.
    std::vector<int> order;
    std::map<int, std::vector<const detail::ViewFile*>> buckets;
    for (const auto& f : files) {
      auto& b = buckets[f.frame % 1000];
      if (b.empty()) order.push_back(f.frame % 1000);
      b.push_back(&f);
    }
    for (int key : order) {
      auto& b = buckets[key];
      if (b.size() % 6 != 0) continue;  // sizes other than multiples of 6 are dropped
      for (std::size_t end = b.size(); end >= 6; end -= 6) {  // chunks of six from the end
        std::array<std::string, 6> views;
        for (std::size_t k = 0; k < 6; ++k) views[k] = b[end - 6 + k]->path;
        out.emplace_back(views, b[end - 6]->label);
      }
    }
    return out;
  }
  std::map<std::array<int, 3>, std::array<const detail::ViewFile*, 6>> groups;
  for (const auto& f : files) {
    auto& g = groups[{f.label, f.frame, f.object}];
    require<FormatError>(!g[std::size_t(f.camera)], "two images of camera ", f.camera, " for '",
                         resilinet::quoted(f.path, 200), "'");
    g[std::size_t(f.camera)] = &f;
  }
  for (const auto& [key, g] : groups) {
    if (std::any_of(g.begin(), g.end(), [](const detail::ViewFile* v) { return !v; })) continue;
    std::array<std::string, 6> views;
    for (std::size_t k = 0; k < 6; ++k) views[k] = g[k]->path;
    out.emplace_back(views, key[0]);
  }
  return out;
}

/// Loads one split folder as a Dataset of x (N, 6, 32, 32, 3) in [0, 1] and labels 0..2.
template <class T>
Dataset<T> load_multiview(const std::string& dir, const MultiviewOptions& options = {}) {
  const auto groups = group_multiview(dir, options);
  require<FormatError>(!groups.empty(), "'", dir, "' holds no complete group of six views");
  Dataset<T> d;
  d.x = Tensor<T>(Shape{groups.size(), 6, 32, 32, 3});
  const std::size_t pixels = 32 * 32 * 3;
  std::vector<std::string> errors(std::size_t(max_threads()) + 1);
  parallel_for(groups.size() * 6, [&](std::size_t b, std::size_t e, std::size_t t) {
    for (std::size_t i = b; i < e && errors[t].empty(); ++i) {
      try {
        std::size_t h = 0, w = 0;
        const auto px = decode_image(groups[i / 6].first[i % 6], 0, 0, &h, &w);
        if (h != 32 || w != 32)
          throw FormatError("'" + groups[i / 6].first[i % 6] + "' is " + std::to_string(h) + "x" +
                            std::to_string(w) + ", expected 32x32");
        T* out = d.x.data() + i * pixels;
        for (std::size_t p = 0; p < pixels; ++p) {
          const std::size_t src = options.bgr ? p - p % 3 + (2 - p % 3) : p;
          out[p] = T(px[src]) / T(255);
        }
      } catch (const std::exception& err) {  // nothing may escape a parallel region
        errors[t] = err.what();
      }
    }
  });
  for (const std::string& e : errors)
    if (!e.empty()) throw FormatError(e);
  for (const auto& g : groups) d.y.push_back(g.second);
  return d;
}

}  // namespace resilinet
