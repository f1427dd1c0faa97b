// A UDP datagram as a gossip peer receives it (swim::open): label, AES-GCM,
// CRC, compression, compound and every message type. Opened twice: without a
// keyring (plaintext path) and with the captured keys (envelope checks).
// Property: every message that decoded re-encodes to bytes that decode to
// the same value.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "swim/codec.hpp"
#include "swim/keyring.hpp"
#include "swim/packet.hpp"

using namespace chorus::swim;

namespace {
const keyring& fuzz_keys() {
  static const keyring ring = [] {
    keyring r;
    for (const char* b64 :
         {"DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=", "VoAKmReXp44hzyMgK5QjFvcN5ofAIy0tznI+9schODo="}) {
      const auto k = key_from_base64(b64);
      if (!k.ok() || !r.install(k.key).empty()) std::abort();
    }
    return r;
  }();
  return ring;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  open_options plain;
  plain.skip_label_check = true;
  plain.max_decompressed = 1u << 20;
  const auto p = open(in, plain);
  for (const auto& m : p.messages) {
    const auto again = decode(encode(m.msg));
    if (!again.ok() || !(again.value == m.msg)) std::abort();
  }

  open_options keyed = plain;
  keyed.keys = &fuzz_keys();
  (void)open(in, keyed);
  return 0;
}
