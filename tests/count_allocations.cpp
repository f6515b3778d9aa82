// Counts every heap allocation made through operator new, so tests can assert that a
// steady-state training step allocates nothing (see testing::allocations_during). Kept apart
// from doctest's main: GCC inlines the replacements into the containers there and then
// mistakes std::free of a malloc'd block for a new/free mismatch.
#include <atomic>
#include <cstdlib>
#include <new>

namespace testing {
std::atomic<long> allocation_count{0};
}

void* operator new(std::size_t n) {
  ++testing::allocation_count;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
// The nothrow forms too (std::stable_sort's buffer, libzmq): left to the runtime, they would
// allocate through its operator new and be freed by the free() below.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++testing::allocation_count;
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept { return operator new(n, tag); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
// The aligned forms: LargePageAllocator takes blocks of 2 MiB and more through them.
void* operator new(std::size_t n, std::align_val_t al) {
  ++testing::allocation_count;
  const std::size_t a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, ((n ? n : 1) + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t al) { return operator new(n, al); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
