#pragma once
// The round-trip property both RPC fuzz targets check on a decoded request
// body: it re-encodes to bytes that decode to the same value, and those
// bytes encode again unchanged. Aborts (a fuzzer finding) otherwise.
#include <cstdlib>
#include <type_traits>
#include <variant>

#include "rpc/protocol.hpp"

namespace chorus_fuzz {

inline void check_round_trip(const chorus::rpc::request_body& body) {
  std::visit(
      [](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (!std::is_same_v<T, std::monostate>) {
          const chorus::rpc::bytes once = chorus::rpc::encode(v);
          T back;
          if (!chorus::rpc::decode_bytes(once, back).empty() || !(back == v)) std::abort();
          if (chorus::rpc::encode(back) != once) std::abort();
        }
      },
      body);
}

}  // namespace chorus_fuzz
