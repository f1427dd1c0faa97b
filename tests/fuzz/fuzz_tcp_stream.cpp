// One direction of a gossip TCP stream (swim::decode_stream): label,
// type-10 encryption header, compression, push/pull with node states and
// user state, ping, ack, user, err. Decoded without and with a keyring.
// Properties: a complete stream message re-encodes (no layers) to bytes that
// decode to the same value; the stream_framer, fed the input in two pieces,
// ends a message decode_stream accepts exactly where decode_stream does, and
// never looks at a byte twice.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "swim/keyring.hpp"
#include "swim/stream.hpp"
#include "swim/stream_framer.hpp"

using namespace chorus::swim;

namespace {
const keyring& fuzz_keys() {
  static const keyring ring = [] {
    keyring r;
    const auto k = key_from_base64("DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=");
    if (!k.ok() || !r.install(k.key).empty()) std::abort();
    return r;
  }();
  return ring;
}
void check_framer(std::span<const std::uint8_t> in, const stream_open_options& opt, const opened_stream& whole) {
  stream_framer f(opt);
  const std::size_t half = in.size() / 2;
  if (f.feed(in.first(half)) == stream_framer::status::more) f.feed(in.subspan(half));
  if (f.bytes_examined() != f.size() || f.size() > in.size()) std::abort();
  if (whole.ok() && (f.state() != stream_framer::status::ready || f.size() != whole.consumed)) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  stream_open_options plain;
  plain.skip_label_check = true;
  plain.max_decompressed = 1u << 20;
  const auto s = decode_stream(in, plain);
  check_framer(in, plain, s);
  if (s.ok()) {
    if (s.consumed > size) std::abort();
    const auto enc = encode_stream(s.msg, stream_options{});
    if (!enc.ok()) std::abort();
    const auto again = decode_stream(enc.data, plain);
    if (!again.ok() || !(again.msg == s.msg)) std::abort();
  }

  stream_open_options keyed = plain;
  keyed.keys = &fuzz_keys();
  check_framer(in, keyed, decode_stream(in, keyed));
  return 0;
}
