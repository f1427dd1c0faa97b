// Global operator new/delete for this test executable, counting requested
// bytes while alloc_count::start() .. stop() is open. Everything else is
// plain malloc/free, so the sanitizer builds see matching pairs.
#include "unit/stream_framer/allocation_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> counting{false};
std::atomic<std::size_t> requested{0};

void* allocate(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) requested.fetch_add(n, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

namespace alloc_count {
void start() {
  requested = 0;
  counting = true;
}
std::size_t stop() {
  counting = false;
  return requested;
}
}  // namespace alloc_count

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
