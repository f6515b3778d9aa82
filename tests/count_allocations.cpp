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
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
