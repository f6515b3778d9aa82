#pragma once
/// \file
/// Augmentation: the random image transform of Keras's ImageDataGenerator used by the
/// paper's CIFAR and ImageNet training (rotation, shifts, horizontal flip, "nearest" fill).

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "resilinet/core/error.hpp"
#include "resilinet/core/rng.hpp"

namespace resilinet {

/// The parameters of one random transform, drawn by Augmentation::draw().
struct AugmentDraw {
  /// Rotation in degrees.
  double theta = 0;
  /// Shift along the rows (height) in pixels.
  double tx = 0;
  /// Shift along the columns (width) in pixels.
  double ty = 0;
  /// Whether the image is mirrored left-right.
  bool flip = false;
};

/// Random rotation, shifts and horizontal flip applied as Keras 2.2's ImageDataGenerator
/// does: an affine map about the image centre, bilinear sampling, edges extended ("nearest").
struct Augmentation {
  /// Rotation drawn uniformly in [−r, r] degrees.
  double rotation_degrees = 30;
  /// Width shift drawn uniformly in [−s, s] × width pixels.
  double width_shift = 0.2;
  /// Height shift drawn uniformly in [−s, s] × height pixels.
  double height_shift = 0.2;
  /// Mirror left-right with probability 1/2.
  bool horizontal_flip = true;

  /// Throws ValueError naming the first setting out of range.
  void validate() const {
    require(rotation_degrees >= 0 && rotation_degrees <= 180,
            "Augmentation: rotation_degrees must be in [0, 180], got ", rotation_degrees);
    require(width_shift >= 0 && width_shift < 1, "Augmentation: width_shift must be in [0, 1), got ",
            width_shift);
    require(height_shift >= 0 && height_shift < 1,
            "Augmentation: height_shift must be in [0, 1), got ", height_shift);
  }

  /// Draws one transform for an h×w image, in Keras's order (rotation, height shift, width
  /// shift, flip); a zero range draws nothing.
  AugmentDraw draw(Rng& rng, std::size_t h, std::size_t w) const {
    AugmentDraw d;
    if (rotation_degrees > 0) d.theta = rng.uniform(-rotation_degrees, rotation_degrees);
    if (height_shift > 0) d.tx = rng.uniform(-height_shift, height_shift) * double(h);
    if (width_shift > 0) d.ty = rng.uniform(-width_shift, width_shift) * double(w);
    if (horizontal_flip) d.flip = rng.uniform() < 0.5;
    return d;
  }
};

/// Applies `d` to the h×w×c image `src` (HWC floats) into `dst` (same shape, not aliasing).
///
/// As Keras: output pixel (r, k) samples the input at M·(r, k) + offset, with M the rotation
/// times the shift taken about the centre (h/2 + 0.5, w/2 + 0.5), bilinear between the four
/// neighbours with coordinates clamped to the image ("nearest"); the flip comes last.
template <class T>
void apply_augmentation(const AugmentDraw& d, const T* src, T* dst, std::size_t h, std::size_t w,
                        std::size_t c) {
  const double a = d.theta * 3.14159265358979323846 / 180.0;
  const double cs = std::cos(a), sn = std::sin(a);
  // [[cs, −sn, cs·tx − sn·ty], [sn, cs, sn·tx + cs·ty]] about the centre (ox, oy).
  const double ox = double(h) / 2 + 0.5, oy = double(w) / 2 + 0.5;
  const double t0 = cs * d.tx - sn * d.ty, t1 = sn * d.tx + cs * d.ty;
  for (std::size_t r = 0; r < h; ++r)
    for (std::size_t k = 0; k < w; ++k) {
      const double pr = double(r) - ox, pk = double(k) - oy;
      const double sr = std::clamp(cs * pr - sn * pk + t0 + ox, 0.0, double(h - 1));
      const double sk = std::clamp(sn * pr + cs * pk + t1 + oy, 0.0, double(w - 1));
      const std::size_t r0 = std::size_t(sr), k0 = std::size_t(sk);
      const std::size_t r1 = std::min(r0 + 1, h - 1), k1 = std::min(k0 + 1, w - 1);
      const T fr = T(sr - double(r0)), fk = T(sk - double(k0));
      T* out = dst + (r * w + (d.flip ? w - 1 - k : k)) * c;
      const T* p00 = src + (r0 * w + k0) * c;
      const T* p01 = src + (r0 * w + k1) * c;
      const T* p10 = src + (r1 * w + k0) * c;
      const T* p11 = src + (r1 * w + k1) * c;
      for (std::size_t ch = 0; ch < c; ++ch)
        out[ch] = (1 - fr) * ((1 - fk) * p00[ch] + fk * p01[ch]) +
                  fr * ((1 - fk) * p10[ch] + fk * p11[ch]);
    }
}

}  // namespace resilinet
