#pragma once
/// \file
/// Lanes<T>: the widest vector of T the build's x86 instruction set offers, as a GCC/Clang
/// vector type whose arithmetic is written like the scalar code it speeds up, with the
/// processor's square root; vectors of any width (VectorOf) with unaligned loads and stores,
/// and for_vector_blocks() to cover a run of channels with the widths the build has.
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

namespace resilinet {
namespace detail {

/// A GCC vector of N values of T (N = 1: T itself).
template <class T, std::size_t N>
struct VectorOf {
  typedef T type __attribute__((vector_size(N * sizeof(T))));
};
template <class T>
struct VectorOf<T, 1> {
  using type = T;
};

/// The V at p (no alignment needed).
template <class V, class T>
V load_vector(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// Writes v to p (no alignment needed).
template <class V, class T>
void store_vector(T* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

/// Calls f(c0, n) for consecutive blocks [c0, c0 + n) covering c channels, n a
/// std::integral_constant: blocks of the widest vector the build has, then of its half and
/// quarter, then single values, so that one block of a channel fits one register.
template <class T, class F>
void for_vector_blocks(std::size_t c, F&& f) {
#if defined(RESILINET_LANES)
  constexpr std::size_t widest = RESILINET_LANES / sizeof(T);
#else
  constexpr std::size_t widest = 1;
#endif
  std::size_t c0 = 0;
  const auto blocks = [&](auto n) {
    for (; c0 + n <= c; c0 += n) f(c0, n);
  };
  blocks(std::integral_constant<std::size_t, widest>());
  if constexpr (widest / 2 >= 2) blocks(std::integral_constant<std::size_t, widest / 2>());
  if constexpr (widest / 4 >= 2) blocks(std::integral_constant<std::size_t, widest / 4>());
  blocks(std::integral_constant<std::size_t, 1>());
}

}  // namespace detail
}  // namespace resilinet

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
  static Vec load(const T* p) { return load_vector<Vec>(p); }

  /// Writes v to p (no alignment needed).
  static void store(T* p, Vec v) { store_vector(p, v); }

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
