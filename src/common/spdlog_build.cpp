// spdlog's implementation, compiled once for the whole build (the lean
// release build; see cmake/Dependencies.cmake). Debian ships spdlog as a
// shared library, which the static agent cannot use, and as headers; in
// header-only mode every file that includes <spdlog/logger.h> compiled all of
// spdlog again (6.5 s of CPU per file, 8 files). With SPDLOG_COMPILED_LIB
// defined everywhere the headers declare only, and this file defines, from
// the same installed headers, what the agent uses: the logger, the pattern
// formatter, the base sink its own sink derives from, and the registry with
// its default (colour stdout) logger.
#ifndef SPDLOG_COMPILED_LIB
#error "spdlog_build.cpp is for builds with SPDLOG_COMPILED_LIB"
#endif

#include <spdlog/common-inl.h>
#include <spdlog/details/backtracer-inl.h>
#include <spdlog/details/log_msg-inl.h>
#include <spdlog/details/log_msg_buffer-inl.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/details/os-inl.h>
#include <spdlog/details/periodic_worker-inl.h>
#include <spdlog/details/registry-inl.h>
#include <spdlog/logger-inl.h>
#include <spdlog/pattern_formatter-inl.h>
#include <spdlog/sinks/ansicolor_sink-inl.h>
#include <spdlog/sinks/base_sink-inl.h>
#include <spdlog/sinks/sink-inl.h>
#include <spdlog/spdlog-inl.h>

#include <mutex>

template class spdlog::sinks::base_sink<std::mutex>;
template class spdlog::sinks::base_sink<spdlog::details::null_mutex>;
// The registry's default logger writes to a colour stdout sink.
template class spdlog::sinks::ansicolor_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_stdout_sink<spdlog::details::console_mutex>;
