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
  switch (e.fault) {
    case exchange_fault::unknown:
      return "exchange failed";
    case exchange_fault::connect:
      return "connect: " + e.detail;
    case exchange_fault::write:
      return "write: " + e.detail;
    case exchange_fault::eof:
      // Asio's text for asio::error::eof, which this fault replaced.
      return "read: End of file";
    case exchange_fault::read:
      return "read: " + e.detail;
    case exchange_fault::timeout:
      return "deadline passed";
    case exchange_fault::reply:
      return "reply: " + e.reply.what;
    case exchange_fault::remote:
      return "remote error: " + e.detail;
    case exchange_fault::unexpected:
      return "unexpected reply to " + e.detail;
    case exchange_fault::encode:
      return "encode: " + e.detail;
    case exchange_fault::incompatible:
      return "protocol version is incompatible";
  }
  return "?";
}

}  // namespace chorus::swim
