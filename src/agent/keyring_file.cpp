#include "agent/keyring_file.hpp"

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace chorus::agent {

std::string parse_keyring_file(std::string_view text, const std::string& path, std::vector<swim::key_bytes>& out) {
  auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_array() || doc.empty())
    return "Error decoding keyring file '" + path + "': expected a non-empty JSON array of keys";
  std::vector<swim::key_bytes> keys;
  for (const auto& v : doc) {
    if (!v.is_string()) return "Error decoding keyring file '" + path + "': keys must be base64 strings";
    auto k = swim::key_from_base64(v.get<std::string>());
    if (!k.ok()) return "Invalid key in keyring file '" + path + "': " + k.error;
    keys.push_back(k.key);
  }
  out = std::move(keys);
  return {};
}

std::string read_keyring_file(const std::string& path, std::vector<swim::key_bytes>& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "Error reading keyring file '" + path + "'";
  std::string text(max_keyring_file_bytes + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (f.bad()) return "Error reading keyring file '" + path + "'";
  text.resize(static_cast<std::size_t>(f.gcount()));
  if (text.size() > max_keyring_file_bytes)
    return "Error reading keyring file '" + path + "': larger than " + std::to_string(max_keyring_file_bytes) +
           " bytes";
  return parse_keyring_file(text, path, out);
}

std::string keyring_file_text(const std::vector<swim::key_bytes>& keys) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& k : keys) arr.push_back(swim::key_to_base64(k));
  return arr.dump() + "\n";
}

}  // namespace chorus::agent
