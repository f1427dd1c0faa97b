#include "swim/errors.hpp"

#include <array>

namespace chorus::swim {

namespace {
constexpr std::string_view decrypt_prefix = "decrypt: ";
}  // namespace

std::string_view to_string(decode_fault f) {
  // A table, not a switch: the order is the enum's (checked below).
  static constexpr std::array<std::string_view, 9> names{
      "none", "truncated", "malformed", "over_limit", "unknown_type", "crc", "label", "encryption", "decrypt"};
  static_assert(static_cast<std::size_t>(decode_fault::decrypt) + 1 == names.size());
  const auto i = static_cast<std::size_t>(f);
  return i < names.size() ? names[i] : "?";
}

decode_error decrypt_error(std::string_view keyring_reason, std::size_t offset) {
  return {decode_fault::decrypt, offset, std::string(decrypt_prefix) + std::string(keyring_reason)};
}

std::string_view keyring_reason(const decode_error& e) {
  std::string_view w = e.what;
  if (e.fault == decode_fault::decrypt && w.starts_with(decrypt_prefix)) w.remove_prefix(decrypt_prefix.size());
  return w;
}

std::string to_string(const exchange_error& e) {
  // The transport's words, by fault: a fixed text, or a prefix and then the
  // detail (or, for a refused reply, the decoder's text).
  enum class then : std::uint8_t { nothing, detail, reply };
  struct words {
    std::string_view text;
    then rest;
  };
  static constexpr std::array<words, 11> table{{
      {"exchange failed", then::nothing},
      {"connect: ", then::detail},
      {"write: ", then::detail},
      {"read: End of file", then::nothing},  // Asio's text for the EOF this fault stands for
      {"read: ", then::detail},
      {"deadline passed", then::nothing},
      {"reply: ", then::reply},
      {"remote error: ", then::detail},
      {"unexpected reply to ", then::detail},
      {"encode: ", then::detail},
      {"protocol version is incompatible", then::nothing},
  }};
  static_assert(static_cast<std::size_t>(exchange_fault::incompatible) + 1 == table.size());
  const auto i = static_cast<std::size_t>(e.fault);
  if (i >= table.size()) return "?";
  std::string s(table[i].text);
  if (table[i].rest == then::detail) s += e.detail;
  if (table[i].rest == then::reply) s += e.reply.what;
  return s;
}

}  // namespace chorus::swim
