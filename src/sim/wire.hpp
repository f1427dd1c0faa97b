#pragma once
// How bytes travel between simulated nodes (STYLE #6): nodes exchange bytes,
// never structs, so every simulation is also a codec test and its byte
// counts are honest.
//
//  * Datagrams: the payload a core built (a message or a compound), or, with
//    the packet layer on (wire_options::seal), the datagram swim::seal makes
//    of it (LZW if shorter, CRC when the core asks, AES-GCM when the sender
//    has keys) and swim::open peels at the receiver, as the transport does.
//  * TCP exchanges: stream bodies (stream.hpp), or whole sealed streams
//    (compressed, encrypted) with the packet layer on.
//  * One exception, for speed at scale (wire_every): a push/pull table may be
//    handed to the receiving node as the struct the sender built, charged at
//    its exact encoded size (stream_body_size); encoding and decoding a
//    10,000-node table (~700 KB) was a sixth of a 10,000-node run. Every
//    wire_every-th table still goes through the codec (its size checked
//    against stream_body_size), and a table received either way leaves the
//    same trace, so runs with and without the shortcut can be compared
//    (tests/sim/swim/wire_test.cpp). Sealed streams never take it.
#include <cstdint>
#include <memory>
#include <optional>

#include "swim/keyring.hpp"
#include "swim/messages.hpp"
#include "swim/packet.hpp"
#include "swim/stream.hpp"

namespace chorus::sim {

struct wire_options {
  bool seal = false;             // the packet layer on datagrams and streams
  bool compress = true;          // with seal: LZW (datagrams only when shorter, as memberlist)
  std::uint32_t wire_every = 1;  // 1: every table through the codec; 0: none (but Join tables)
};

// A stream body on its way: bytes, or a push/pull table as a struct.
struct stream_payload {
  swim::bytes data;
  std::unique_ptr<swim::push_pull> table;
  std::size_t size = 0;  // bytes on the wire
};

// Counters the wire keeps (reported in sim::totals).
struct wire_counts {
  std::uint64_t push_pull_tables = 0, push_pull_tables_encoded = 0;
  std::uint64_t mismatched_sizes = 0;  // encoded size != stream_body_size: a codec bug
};

class wire {
 public:
  explicit wire(wire_options o) : opt_(o) {}
  const wire_options& options() const { return opt_; }
  const wire_counts& counts() const { return counts_; }

  // --- datagrams ---------------------------------------------------------
  // The datagram that leaves for `payload`; nullopt when sealing failed (a
  // configuration fault: no AES-GCM on this CPU).
  std::optional<swim::bytes> seal_packet(swim::bytes payload, bool crc, const swim::keyring* keys) const;
  swim::opened_packet open_packet(std::span<const std::uint8_t> datagram, const swim::keyring* keys) const;

  // --- streams -----------------------------------------------------------
  // A message the sender keeps (a join's table, a ping, an ack): encoded.
  stream_payload encode(const swim::stream_message& m, const swim::keyring* keys) const;
  stream_payload encode(const swim::push_pull& table, const swim::keyring* keys) const;
  // A table the sender hands over: the struct or its bytes (wire_every).
  stream_payload pack(swim::push_pull&& table, const swim::keyring* keys);
  swim::opened_stream open_stream(std::span<const std::uint8_t> data, const swim::keyring* keys) const;
  // Whether a stream's bytes are sealed with random nonces (the trace then
  // hashes their size only, to stay a function of the seed).
  bool encrypted(const swim::keyring* keys) const { return opt_.seal && keys; }

 private:
  wire_options opt_;
  wire_counts counts_;
  std::uint64_t tables_sent_ = 0;
};

}  // namespace chorus::sim
