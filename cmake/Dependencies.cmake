# Every library comes from Debian's -dev packages (see ../shared/BUILD-NOTES.md).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# Asio (standalone): headers only, no CMake config and no .pc file.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(chorus_asio INTERFACE)
target_include_directories(chorus_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
target_compile_definitions(chorus_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
target_link_libraries(chorus_asio INTERFACE Threads::Threads)

find_package(fmt 9 CONFIG REQUIRED)
find_package(spdlog 1.10 CONFIG REQUIRED)
find_package(CLI11 2.1 CONFIG REQUIRED)
find_package(nlohmann_json 3.11 CONFIG REQUIRED)

# The version floor keeps the C library's config (also named msgpack) out.
find_package(msgpack 4.1 CONFIG REQUIRED)
if(NOT TARGET msgpackc-cxx)
  message(FATAL_ERROR "msgpack-cxx (libmsgpack-cxx-dev) not found: found the C msgpack instead")
endif()
add_library(chorus_msgpack INTERFACE)
target_link_libraries(chorus_msgpack INTERFACE msgpackc-cxx)
target_compile_definitions(chorus_msgpack INTERFACE MSGPACK_NO_BOOST)

pkg_check_modules(sodium REQUIRED IMPORTED_TARGET libsodium>=1.0.18)

if(CHORUS_TESTS)
  find_package(Catch2 2.13 CONFIG REQUIRED)
  include(Catch)
endif()
