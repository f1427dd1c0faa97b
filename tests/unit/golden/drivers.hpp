#pragma once
// The layers a transcript can drive, chosen by its first command.
#include <memory>

#include "driver.hpp"

namespace golden {

// First command "core": a bare swim::core (core_driver.cpp).
std::unique_ptr<driver> make_core_driver(const directive& first);
// First command "serf": the Serf layer over its core (serf_driver.cpp).
std::unique_ptr<driver> make_serf_driver(const directive& first);

}  // namespace golden
