#pragma once
/// \file
/// LargePageAllocator<T>: the allocator of tensors and scratch buffers, which asks the kernel
/// for transparent huge pages on large blocks.

#include <sys/mman.h>

#include <cstddef>
#include <limits>
#include <new>
#include <vector>

namespace resilinet {

/// std::allocator, except that a block of 2 MiB or more starts on a 2 MiB boundary and is
/// marked MADV_HUGEPAGE, so its first touch faults once per 2 MiB rather than once per 4 KiB
/// and fewer TLB entries cover it (MobileNet's first training step at batch 128: 459,850 page
/// faults and 5.1 s without, 39,915 and 3.6 s with; later steps on 2 threads 1.15x faster, see
/// docs/performance.md). Where transparent huge pages are off, the advice is ignored.
template <class T>
struct LargePageAllocator {
  /// The element type.
  using value_type = T;

  /// Bytes from which a block is aligned and advised: one x86-64 huge page.
  static constexpr std::size_t huge_page = std::size_t(1) << 21;

  LargePageAllocator() = default;
  /// The same allocator for another element type (containers rebind it).
  template <class U>
  LargePageAllocator(const LargePageAllocator<U>&) noexcept {}

  /// Room for `n` elements.
  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    const std::size_t bytes = n * sizeof(T);
    if (bytes < huge_page) return static_cast<T*>(::operator new(bytes));
    void* p = ::operator new(bytes, std::align_val_t(huge_page));
    madvise(p, bytes, MADV_HUGEPAGE);  // advice only: a kernel without THP refuses it harmlessly
    return static_cast<T*>(p);
  }

  /// Frees a block of `n` elements from allocate().
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < huge_page)
      ::operator delete(p);
    else
      ::operator delete(p, std::align_val_t(huge_page));
  }
};

/// Every LargePageAllocator can free what any other allocated.
template <class T, class U>
bool operator==(const LargePageAllocator<T>&, const LargePageAllocator<U>&) noexcept {
  return true;
}
/// Never unequal (see operator==).
template <class T, class U>
bool operator!=(const LargePageAllocator<T>&, const LargePageAllocator<U>&) noexcept {
  return false;
}

/// A growable array of T in large-page-friendly storage.
template <class T>
using LargePageVector = std::vector<T, LargePageAllocator<T>>;

}  // namespace resilinet
