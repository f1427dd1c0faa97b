#pragma once
// Counts the bytes this test executable allocates with operator new while a
// scope is open (allocation_counter.cpp replaces the global operator new).
// Lets a test assert that a hostile length is never allocated for, without
// timing anything.
#include <cstddef>

namespace alloc_count {

// Bytes requested from operator new since start() (0 when not counting).
void start();
std::size_t stop();

}  // namespace alloc_count
