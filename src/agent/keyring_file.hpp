#pragma once
// The keyring file (`-keyring-file`, serf.md 14): a JSON array of base64
// AES keys, the primary first. The agent reads it at start and on SIGHUP and
// rewrites it after every `serf keys` change.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "swim/keyring.hpp"

namespace chorus::agent {

// A keyring file holds a few 44-byte keys; anything this large is not one,
// and refusing it before reading bounds what a wrong path costs.
inline constexpr std::size_t max_keyring_file_bytes = 1 << 20;

// Parses the file's text into keys (primary first). Empty string on
// success, else an error naming the file (`path`); `out` is untouched then.
std::string parse_keyring_file(std::string_view text, const std::string& path, std::vector<swim::key_bytes>& out);
// Reads and parses PATH (at most max_keyring_file_bytes).
std::string read_keyring_file(const std::string& path, std::vector<swim::key_bytes>& out);
// The file's text for `keys` (primary first), as the agent writes it after a
// `serf keys` change: a JSON array of base64 keys and a line break.
std::string keyring_file_text(const std::vector<swim::key_bytes>& keys);

}  // namespace chorus::agent
