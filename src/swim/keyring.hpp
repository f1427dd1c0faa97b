#pragma once
// The keyring and memberlist's AES-GCM envelope (memberlist.md section 8).
//
//   envelope = version (1) | nonce (12, random) | ciphertext | tag (16)
//   version 1: plaintext as is (overhead 29 bytes; what Serf sends)
//   version 0: plaintext PKCS#7-padded to a multiple of 16 first (memberlist
//              protocol 1 only; accepted on receive, 30..45 bytes overhead)
//   UDP: AAD empty. TCP stream type 10: AAD = the 5-byte header 0x0a | u32 BE length.
//
// Keys are kept in order, element 0 is the primary: sending uses it,
// receiving tries every key primary first.
//
// Limitation: memberlist accepts 16-, 24- and 32-byte keys (AES-128/192/256).
// libsodium 1.0.18, our only crypto library, implements AES-GCM for 256-bit
// keys only, so 16- and 24-byte keys are refused when installed (see
// unsupported_key_size_error). `serf keygen` makes 32-byte keys, so clusters
// created with Serf's tools work. AES-256-GCM itself needs AES-NI and PCLMUL
// (aes_gcm_status() says whether this CPU has them).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::swim {

using key_bytes = std::vector<std::uint8_t>;

inline constexpr std::size_t encryption_version_size = 1;
inline constexpr std::size_t nonce_size = 12;
inline constexpr std::size_t tag_size = 16;
inline constexpr std::size_t aes_block_size = 16;
// version + nonce + tag.
inline constexpr std::size_t encryption_overhead_v1 = encryption_version_size + nonce_size + tag_size;  // 29
// Version 0 may add a full block of padding.
inline constexpr std::size_t encryption_overhead_v0_max = encryption_overhead_v1 + aes_block_size;  // 45
inline constexpr std::size_t supported_key_size = 32;

// Error texts shared with Serf (they reach users through `serf keys` replies).
inline constexpr std::string_view no_key_decrypts_error = "No installed keys could decrypt the message";
inline constexpr std::string_view remove_primary_error = "Removing the primary key is not allowed";
inline constexpr std::string_view key_not_installed_error = "Requested key is not in the keyring";
inline constexpr std::string_view bad_key_size_error = "key size must be 16, 24 or 32 bytes";
inline constexpr std::string_view unsupported_key_size_error =
    "16- and 24-byte (AES-128/192) keys are not supported by chorus (libsodium provides AES-256-GCM only): use a "
    "32-byte key";

struct aes_gcm_support {
  bool available = false;
  std::string message;  // what to show at start-up when unavailable
};

// Initialises libsodium and reports whether AES-256-GCM runs on this CPU.
aes_gcm_support aes_gcm_status();

// Empty when `key` can be installed, else the reason.
std::string check_key(std::span<const std::uint8_t> key);

// Standard base64 with padding, as `serf keygen` prints and keyring files hold.
struct key_decode_result {
  key_bytes key;
  std::string error;
  bool ok() const { return error.empty(); }
};
key_decode_result key_from_base64(std::string_view text);  // also validates the size (check_key)
std::string key_to_base64(std::span<const std::uint8_t> key);

struct crypt_result {
  std::vector<std::uint8_t> data;  // envelope (encrypt) or plaintext (decrypt)
  std::size_t key_index = 0;       // which key was used (0 = primary)
  std::string error;               // empty on success
  bool ok() const { return error.empty(); }
};

class keyring {
 public:
  keyring();
  ~keyring();
  keyring(const keyring&);
  keyring& operator=(const keyring&);
  keyring(keyring&&) noexcept;
  keyring& operator=(keyring&&) noexcept;

  // Adds a key at the end (it becomes primary if the ring was empty).
  // Installing a key already present changes nothing. Returns an error text
  // for a bad size or when AES-GCM is unavailable.
  std::string install(std::span<const std::uint8_t> key);
  // Makes an installed key the primary (moves it to the front).
  std::string use(std::span<const std::uint8_t> key);
  // Removes a key; refuses the primary. Removing an absent key is a no-op.
  std::string remove(std::span<const std::uint8_t> key);

  std::vector<key_bytes> keys() const;  // primary first
  std::size_t size() const;
  bool empty() const { return size() == 0; }

  // Seals `plaintext` with the primary key and a fresh random nonce.
  // `version` is 1 (Serf) or 0 (PKCS#7-padded, memberlist protocol 1).
  crypt_result encrypt(std::span<const std::uint8_t> plaintext, std::span<const std::uint8_t> aad,
                       std::uint8_t version = 1) const;
  // Opens an envelope with the first key that authenticates it.
  crypt_result decrypt(std::span<const std::uint8_t> envelope, std::span<const std::uint8_t> aad) const;

 private:
  struct slot;  // key bytes + libsodium's expanded key schedule
  std::vector<std::unique_ptr<slot>> slots_;
};

}  // namespace chorus::swim
