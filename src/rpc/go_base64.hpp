#pragma once
// Serf's agent decodes the keys of install-key/use-key/remove-key with Go's
// base64.StdEncoding before anything else and passes its error through to
// the client ("illegal base64 data at input byte N"). This reproduces that
// check, offsets included, so `serf keys -install=bad` prints the same line
// against chorus. Written from the behaviour of Go's decoder: standard
// alphabet, '=' padding required, '\r' and '\n' skipped anywhere.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::rpc {

// "" when Go would decode `text`, else Go's error text.
std::string go_base64_error(std::string_view text);
// The bytes of `text`, which go_base64_error accepted. No size check: like
// Serf's agent, chorus sends a key of any size to the cluster and every
// member answers for itself ("key size must be 16, 24 or 32 bytes").
std::vector<std::uint8_t> go_base64_decode(std::string_view text);

}  // namespace chorus::rpc
