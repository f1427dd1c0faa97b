// Counts the bytes requested from the allocator while alloc_count::start()
// .. stop() is open. Plain builds replace the global operator new/delete
// (malloc/free underneath); under AddressSanitizer, whose allocator must
// pair its own new and delete, the count comes from its malloc hook, which
// sees every allocation (new included).
#include "unit/stream_framer/allocation_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define CHORUS_ALLOC_COUNT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHORUS_ALLOC_COUNT_ASAN 1
#endif
#endif

namespace {
std::atomic<bool> counting{false};
std::atomic<std::size_t> requested{0};

void count(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) requested.fetch_add(n, std::memory_order_relaxed);
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

#ifdef CHORUS_ALLOC_COUNT_ASAN
// From the sanitizer runtime (declared here: GCC 12 ships no
// sanitizer/allocator_interface.h).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                         void (*free_hook)(const volatile void*));

namespace {
void on_malloc(const volatile void*, std::size_t n) { count(n); }
void on_free(const volatile void*) {}
const int hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace
#else
namespace {
void* allocate(std::size_t n) {
  count(n);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#endif
