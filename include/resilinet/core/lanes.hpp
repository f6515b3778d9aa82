#pragma once
/// \file
/// Lanes<T>: the widest vector of T the build's x86 instruction set offers, as a GCC/Clang
/// vector type whose arithmetic is written like the scalar code it speeds up, with the
/// processor's square root.
///
/// GCC keeps a loop that calls std::sqrt scalar unless built with -fno-math-errno (the call
/// may set errno); Lanes<T>::sqrt is the vector instruction, correctly rounded like the scalar
/// one and never touching errno, so a loop over Lanes<T>::Vec computes what the scalar loop
/// computes, lane by lane. RESILINET_LANES is defined where Lanes exists (SSE2 and up).

#include <cstddef>
#include <cstring>
#include <type_traits>

#if defined(__AVX512F__)
#define RESILINET_LANES 64
#elif defined(__AVX__)
#define RESILINET_LANES 32
#elif defined(__SSE2__)
#define RESILINET_LANES 16
#endif

#if defined(RESILINET_LANES)
#include <immintrin.h>

namespace resilinet {
namespace detail {

/// The widest vector of T (float or double): loads, stores and the square root.
template <class T>
struct Lanes {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "Lanes: float or double");
  /// A vector of `size` values of T.
  typedef T Vec __attribute__((vector_size(RESILINET_LANES)));
  /// How many values of T one vector holds.
  static constexpr std::size_t size = RESILINET_LANES / sizeof(T);

  /// The vector at p (no alignment needed).
  static Vec load(const T* p) {
    Vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }

  /// Writes v to p (no alignment needed).
  static void store(T* p, Vec v) { std::memcpy(p, &v, sizeof v); }

  /// The square root of every lane.
  static Vec sqrt(Vec x) {
#if RESILINET_LANES == 64
    if constexpr (std::is_same_v<T, float>) return Vec(_mm512_sqrt_ps(__m512(x)));
    else return Vec(_mm512_sqrt_pd(__m512d(x)));
#elif RESILINET_LANES == 32
    if constexpr (std::is_same_v<T, float>) return Vec(_mm256_sqrt_ps(__m256(x)));
    else return Vec(_mm256_sqrt_pd(__m256d(x)));
#else
    if constexpr (std::is_same_v<T, float>) return Vec(_mm_sqrt_ps(__m128(x)));
    else return Vec(_mm_sqrt_pd(__m128d(x)));
#endif
  }
};

}  // namespace detail
}  // namespace resilinet
#endif
