#include "swim/keyring.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace chorus::swim {

namespace {

bool sodium_ready() {
  // sodium_init is idempotent and thread-safe; -1 only if the library cannot
  // initialise at all.
  static const bool ready = sodium_init() >= 0;
  return ready;
}

bool aes_available() { return sodium_ready() && crypto_aead_aes256gcm_is_available() != 0; }

constexpr std::string_view unavailable_message =
    "AES-256-GCM is not available on this CPU (libsodium needs the AES-NI and PCLMUL instructions): encryption "
    "cannot be used";

bool same_key(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

struct keyring::slot {
  key_bytes key;
  crypto_aead_aes256gcm_state state;
};

aes_gcm_support aes_gcm_status() {
  if (!sodium_ready()) return {false, "libsodium failed to initialise: encryption cannot be used"};
  if (!aes_available()) return {false, std::string(unavailable_message)};
  return {true, ""};
}

std::string check_key(std::span<const std::uint8_t> key) {
  switch (key.size()) {
    case 16:
    case 24:
      return std::string(unsupported_key_size_error);
    case 32:
      return "";
    default:
      return std::string(bad_key_size_error);
  }
}

key_decode_result key_from_base64(std::string_view text) {
  key_decode_result r;
  if (!sodium_ready()) {
    r.error = "libsodium failed to initialise";
    return r;
  }
  std::vector<std::uint8_t> buf(text.size() / 4 * 3 + 3);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(buf.data(), buf.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    r.error = "key is not valid base64";
    return r;
  }
  buf.resize(len);
  r.error = check_key(buf);
  if (r.ok()) r.key = std::move(buf);
  return r;
}

std::string key_to_base64(std::span<const std::uint8_t> key) {
  sodium_ready();
  std::string out(sodium_base64_encoded_len(key.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

keyring::keyring() = default;
keyring::~keyring() = default;
keyring::keyring(keyring&&) noexcept = default;
keyring& keyring::operator=(keyring&&) noexcept = default;
keyring::keyring(const keyring& other) {
  for (const auto& s : other.slots_) slots_.push_back(std::make_unique<slot>(*s));
}
keyring& keyring::operator=(const keyring& other) {
  if (this != &other) {
    keyring copy(other);
    *this = std::move(copy);
  }
  return *this;
}

std::size_t keyring::size() const { return slots_.size(); }

std::vector<key_bytes> keyring::keys() const {
  std::vector<key_bytes> out;
  out.reserve(slots_.size());
  for (const auto& s : slots_) out.push_back(s->key);
  return out;
}

std::string keyring::install(std::span<const std::uint8_t> key) {
  if (std::string e = check_key(key); !e.empty()) return e;
  if (!aes_available()) return std::string(unavailable_message);
  for (const auto& s : slots_)
    if (same_key(s->key, key)) return "";
  auto s = std::make_unique<slot>();
  s->key.assign(key.begin(), key.end());
  crypto_aead_aes256gcm_beforenm(&s->state, s->key.data());
  slots_.push_back(std::move(s));
  return "";
}

std::string keyring::use(std::span<const std::uint8_t> key) {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (same_key(slots_[i]->key, key)) {
      std::rotate(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(i),
                  slots_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      return "";
    }
  }
  return std::string(key_not_installed_error);
}

std::string keyring::remove(std::span<const std::uint8_t> key) {
  if (!slots_.empty() && same_key(slots_.front()->key, key)) return std::string(remove_primary_error);
  std::erase_if(slots_, [&](const auto& s) { return same_key(s->key, key); });
  return "";
}

crypt_result keyring::encrypt(std::span<const std::uint8_t> plaintext, std::span<const std::uint8_t> aad,
                              std::uint8_t version) const {
  crypt_result r;
  if (slots_.empty()) {
    r.error = "no keys installed";
    return r;
  }
  if (version > 1) {
    r.error = "unsupported encryption version " + std::to_string(version);
    return r;
  }
  // Version 0 pads with 1..16 bytes, each holding the pad length (PKCS#7).
  const std::size_t pad = version == 0 ? aes_block_size - plaintext.size() % aes_block_size : 0;
  const std::size_t body = plaintext.size() + pad;
  r.data.resize(encryption_version_size + nonce_size + body + tag_size);
  std::uint8_t* out = r.data.data();
  out[0] = version;
  std::uint8_t* nonce = out + encryption_version_size;
  randombytes_buf(nonce, nonce_size);
  std::uint8_t* cipher = nonce + nonce_size;
  if (!plaintext.empty()) std::memcpy(cipher, plaintext.data(), plaintext.size());
  std::memset(cipher + plaintext.size(), static_cast<int>(pad), pad);
  unsigned long long tag_len = 0;
  if (crypto_aead_aes256gcm_encrypt_detached_afternm(cipher, cipher + body, &tag_len, cipher, body, aad.data(),
                                                     aad.size(), nullptr, nonce, &slots_.front()->state) != 0) {
    r.data.clear();
    r.error = "encryption failed";
  }
  return r;
}

crypt_result keyring::decrypt(std::span<const std::uint8_t> envelope, std::span<const std::uint8_t> aad) const {
  crypt_result r;
  if (envelope.empty()) {
    r.error = "cannot decrypt an empty payload";
    return r;
  }
  const std::uint8_t version = envelope[0];
  if (version > 1) {
    r.error = "unsupported encryption version " + std::to_string(version);
    return r;
  }
  const std::size_t minimum = version == 0 ? encryption_overhead_v0_max : encryption_overhead_v1;
  if (envelope.size() < minimum) {
    r.error = "payload is too small to decrypt: " + std::to_string(envelope.size());
    return r;
  }
  if (slots_.empty()) {
    r.error = std::string(no_key_decrypts_error);
    return r;
  }
  const std::uint8_t* nonce = envelope.data() + encryption_version_size;
  const std::uint8_t* cipher = nonce + nonce_size;
  const std::size_t body = envelope.size() - encryption_overhead_v1;
  const std::uint8_t* tag = cipher + body;
  r.data.resize(body);
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (crypto_aead_aes256gcm_decrypt_detached_afternm(r.data.data(), nullptr, cipher, body, tag, aad.data(),
                                                       aad.size(), nonce, &slots_[i]->state) != 0)
      continue;
    r.key_index = i;
    if (version == 0) {
      // Authenticated, so only a key holder can get here with bad padding;
      // still refuse it rather than trust it.
      const std::size_t pad = r.data.empty() ? 0 : r.data.back();
      if (pad == 0 || pad > aes_block_size || pad > r.data.size()) {
        r.data.clear();
        r.error = "invalid PKCS#7 padding";
        return r;
      }
      r.data.resize(r.data.size() - pad);
    }
    return r;
  }
  r.data.clear();
  r.error = std::string(no_key_decrypts_error);
  return r;
}

}  // namespace chorus::swim
