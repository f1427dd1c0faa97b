// Serf message codec, plus the two other Serf byte formats that arrive from
// the network (tags in Meta, the coordinate on acks). Property: whatever
// decodes re-encodes to bytes that decode to the same value, and encoding is
// stable (encode(decode(encode(x))) == encode(x)).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/serf/codec.hpp"
#include "agent/serf/coordinate_payload.hpp"
#include "agent/serf/tags.hpp"

using namespace chorus::agent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  const auto d = decode_serf_message(in);
  if (d.ok()) {
    const bytes once = encode(d.value);
    const auto again = decode_serf_message(once);
    if (!again.ok() || !(again.value == d.value)) std::abort();
    if (encode(again.value) != once) std::abort();
    if (const auto* r = std::get_if<relay>(&d.value)) (void)decode_serf_message(r->inner);
  }

  const auto t = decode_tags(in);
  if (t.ok()) {
    const auto enc = encode_tags(t.value);
    if (enc.ok() && decode_tags(enc.meta).value != t.value) std::abort();
  }

  const auto c = decode_coordinate_payload(in);
  if (c.ok()) {
    const auto enc = encode_coordinate_payload(c.value);
    const auto back = decode_coordinate_payload(enc);
    // Compare bit patterns: NaN != NaN.
    if (!back.ok() || encode_coordinate_payload(back.value) != enc) std::abort();
  }
  return 0;
}
