// A keyring file's text (agent::parse_keyring_file), read at start and on
// SIGHUP. Properties: no crash, UB or hang; a refused file leaves the output
// untouched; an accepted one holds only valid AES key lengths, and the text
// the agent writes back for it (a JSON array of base64 keys) parses to the
// same keys.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "agent/keyring_file.hpp"

using namespace chorus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<swim::key_bytes> keys(1);
  const auto before = keys;
  if (!agent::parse_keyring_file(text, "fuzz", keys).empty()) {
    if (keys != before) std::abort();
    return 0;
  }
  if (keys.empty()) std::abort();
  for (const auto& k : keys)
    if (k.size() != 16 && k.size() != 24 && k.size() != 32) std::abort();
  std::vector<swim::key_bytes> back;
  if (!agent::parse_keyring_file(agent::keyring_file_text(keys), "fuzz", back).empty() || back != keys) std::abort();
  return 0;
}
