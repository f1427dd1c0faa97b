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

# chorus_log: spdlog + fmt. Debian ships both as shared libraries only; the
# lean build (CHORUS_LEAN, see the root CMakeLists.txt) compiles both from
# their installed headers instead (spdlog compiled once from its headers into
# chorus_spdlog, with an external header-only fmt), so neither .so is mapped
# by the agent. Every target in
# one build uses the same mode: never mix FMT_HEADER_ONLY with the shared fmt.
add_library(chorus_log INTERFACE)
if(CHORUS_LEAN)
  # spdlog compiled once, in chorus_spdlog (src/common/spdlog_build.cpp), not
  # in every file that logs: SPDLOG_COMPILED_LIB makes its headers declare
  # only. fmt stays header-only (its share per file is small).
  add_library(chorus_spdlog STATIC ${CMAKE_SOURCE_DIR}/src/common/spdlog_build.cpp)
  target_include_directories(chorus_spdlog SYSTEM PUBLIC
                             $<TARGET_PROPERTY:spdlog::spdlog_header_only,INTERFACE_INCLUDE_DIRECTORIES>)
  target_compile_definitions(chorus_spdlog PUBLIC SPDLOG_COMPILED_LIB SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY=1)
  target_link_libraries(chorus_spdlog PUBLIC Threads::Threads)
  target_link_libraries(chorus_log INTERFACE chorus_spdlog)
else()
  target_link_libraries(chorus_log INTERFACE spdlog::spdlog fmt::fmt)
endif()
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
# chorus_sodium: libsodium (AES-256-GCM for the keyring). The lean build links
# Debian's static libsodium.a (libsodium-dev ships it): no libsodium.so mapped.
add_library(chorus_sodium INTERFACE)
if(CHORUS_LEAN)
  find_library(SODIUM_STATIC_LIB NAMES libsodium.a HINTS ${sodium_LIBRARY_DIRS} REQUIRED)
  target_include_directories(chorus_sodium SYSTEM INTERFACE ${sodium_INCLUDE_DIRS})
  target_link_libraries(chorus_sodium INTERFACE ${SODIUM_STATIC_LIB} Threads::Threads)
else()
  target_link_libraries(chorus_sodium INTERFACE PkgConfig::sodium)
endif()

# http_parser (libhttp-parser-dev): the HTTP/1.1 request parser of the HTTP
# API and the metrics listener. Debian ships a header, a .so and a .a, but no
# .pc file or CMake config, so it is found by name. The static archive is
# linked (both builds): a small C file, and the agent maps no extra .so.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_STATIC_LIB NAMES libhttp_parser.a REQUIRED)
add_library(chorus_http_parser INTERFACE)
target_include_directories(chorus_http_parser SYSTEM INTERFACE ${HTTP_PARSER_INCLUDE_DIR})
target_link_libraries(chorus_http_parser INTERFACE ${HTTP_PARSER_STATIC_LIB})

if(CHORUS_TESTS)
  find_package(Catch2 2.13 CONFIG REQUIRED)
  include(Catch)
endif()
