#pragma once
// Finds where one TCP stream direction (stream.hpp) ends while its bytes
// arrive, so that a reader decodes it once instead of re-decoding a growing
// buffer after every read (issue 18, item 2: a push/pull claiming 2^31 nodes
// followed by a trickle of 1-byte nils kept the io thread at 100% for the
// whole stream timeout, every read re-decoding everything so far).
//
// Each byte is looked at once, whatever the chunking: the framer keeps a few
// words of state between chunks (and the push/pull or user header, at most
// max_stream_header_len bytes, until it is whole). What it walks:
//
//   [0xf4 len label]        label (policy checked as soon as it is known)
//   0x0a u32 len | len bytes   encrypted: the length says where it ends
//   0x09 msgpack value      compressed: the {Algo, Buf} value ends it
//   0x06 header | Nodes x map value | UserStateLen bytes        push/pull
//   0x08 header | UserMsgLen bytes                              user
//   0x00 / 0x02 / 0x0d msgpack value                            ping, ack, err
//
// What is inside an encryption or compression layer is only decoded, once,
// by decode_stream when the framer says `ready` (decoding it whole is linear;
// the limits apply there too: node count, map-only node states).
//
// It refuses early what cannot become a valid message: a node state that is
// not a map at its first byte, a header over memberlist's limits (node count,
// user state, user message length), a value read() would refuse, an unknown
// stream type. Layer faults whose memberlist error text the peer should get
// back (label, encryption policy, an over-long encrypted length) are left to
// decode_stream: the framer says `ready` at once and decode_stream reports
// them from the bytes so far.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "swim/msgpack.hpp"
#include "swim/stream.hpp"

namespace chorus::swim {

class stream_framer {
 public:
  enum class status : std::uint8_t {
    more,   // feed the next bytes
    ready,  // decode_stream(first size() bytes) now: the message is whole, or it reports a layer fault
    bad,    // malformed; error() says why
  };

  // Only the policy parts of `opt` are used (label, skip_label_check,
  // whether keys are set).
  explicit stream_framer(const stream_open_options& opt);

  // Takes the next bytes read from the connection. Bytes past the end of the
  // message are not taken (size() tells where it ended). After ready or bad
  // further calls change nothing.
  status feed(std::span<const std::uint8_t> chunk);

  status state() const { return status_; }
  // Bytes of the message taken so far.
  std::uint64_t size() const { return taken_; }
  // Bytes looked at (or skipped as payload) so far: equals size(), a byte is
  // never looked at twice. Tests assert it.
  std::uint64_t bytes_examined() const { return examined_ + values_.bytes_examined(); }
  const std::string& error() const { return error_; }
  // Which kind of fault made it bad (malformed, over_limit, unknown_type);
  // none while not bad.
  decode_fault fault() const { return fault_; }

 private:
  enum class stage : std::uint8_t {
    first,         // label header or the first type byte
    label_len,     // the label's length byte
    label,         // label bytes
    type,          // the type byte after the label
    encrypt_len,   // the u32 BE length of an encrypted stream
    skip_to_end,   // raw bytes up to the end (encrypted body, user state, user message)
    value_to_end,  // one msgpack value, then the end (compress, ping, ack, err)
    header,        // push/pull or user header value
    node,          // a push/pull node state value
    finished,
  };

  // One byte this class looks at itself.
  std::uint8_t take(std::span<const std::uint8_t> chunk, std::size_t& pos);
  // Passes over up to `most` bytes without looking at them; returns how many.
  std::uint64_t pass(std::span<const std::uint8_t> chunk, std::size_t& pos, std::uint64_t most);
  // Runs the scanner over the rest of the chunk (at most `limit` bytes).
  msgpack::scanner::status scan(std::span<const std::uint8_t> chunk, std::size_t& pos, std::size_t limit);
  // The stages that take more than a byte (feed dispatches).
  void label_bytes(std::span<const std::uint8_t> chunk, std::size_t& pos);
  void encrypt_length_byte(std::uint8_t b);
  void skip_bytes(std::span<const std::uint8_t> chunk, std::size_t& pos);
  void header_bytes(std::span<const std::uint8_t> chunk, std::size_t& pos);
  void node_bytes(std::span<const std::uint8_t> chunk, std::size_t& pos);
  status on_type(std::uint8_t t);
  status label_known(bool present);
  status header_done();
  // After the header or a node state: the next node, the user state, or the end.
  status next_node_or_tail();
  status finish_at_tail(std::uint64_t raw_bytes);
  status ready();
  status fail(std::string why, decode_fault f = decode_fault::malformed);

  std::string expected_label_;
  bool skip_label_check_;
  bool keys_;

  stage stage_ = stage::first;
  status status_ = status::more;
  std::uint64_t taken_ = 0;     // bytes of the message so far
  std::uint64_t examined_ = 0;  // bytes this class looked at itself (the scanner counts its own)
  std::uint8_t message_type_ = 0;
  std::string label_;
  std::size_t label_left_ = 0;
  int length_bytes_ = 0;
  std::uint32_t length_ = 0;
  std::uint64_t skip_ = 0;
  bytes header_;  // the header value's bytes (<= max_stream_header_len)
  std::size_t nodes_left_ = 0, node_index_ = 0, user_state_len_ = 0;
  std::uint64_t node_start_ = 0;  // the scanner's count where the current node state starts
  msgpack::scanner values_;
  std::string error_;
  decode_fault fault_ = decode_fault::none;
};

}  // namespace chorus::swim
