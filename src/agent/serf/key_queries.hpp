#pragma once
// The key-rotation internal queries (../shared/protocol/serf.md 9.4): what a
// node does with `_serf_install-key` / `use-key` / `remove-key` / `list-keys`,
// and how the caller tallies the answers into the RPC's key response.
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "agent/serf/messages.hpp"
#include "agent/serf/types.hpp"

namespace chorus::swim {
class keyring;
}

namespace chorus::agent {

inline constexpr std::string_view no_keyring_error = "No keyring to modify (encryption not enabled)";
inline constexpr std::string_view empty_keyring_error = "Keyring is empty (encryption not enabled)";
// Smallest encoded size of one base64 key in a list-keys response: caps the
// number of keys tried first.
inline constexpr std::size_t min_encoded_key_length = 25;

std::string_view key_query_name(key_op op);

struct key_query_outcome {
  key_response response;
  bool keyring_changed = false;
};

// Acts on `ring` (nullptr = encryption disabled) for query `name` with the raw
// query payload (0x07 + keyRequest). `fits(encoded 0x08 + keyResponse)` says
// whether a response of that payload would fit the response size limit; the
// key list is truncated until it does.
key_query_outcome handle_key_query(std::string_view name, std::span<const std::uint8_t> payload, swim::keyring* ring,
                                   const std::function<bool(const bytes&)>& fits);

// Adds one node's answer (the query response payload) to `r`.
void tally_key_response(key_result& r, const std::string& from, std::span<const std::uint8_t> payload);
// Fills r.error as the RPC reports it.
void finish_key_result(key_result& r);

}  // namespace chorus::agent
