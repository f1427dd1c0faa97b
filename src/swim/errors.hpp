#pragma once
// What can go wrong with input from the network, as closed sets (STYLE #12,
// after foca's error.rs): each value says what was done about it, so callers
// switch on the value and never read the text. The text says where and how,
// for logs, the CLI's `decode` and join reports, and stays as it always was:
// operators and tests read it.
//
// Neither kind of error changes protocol state: decoders are pure functions,
// and a failed exchange is reported to the core as a failure, nothing of the
// reply applied.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chorus::swim {

// ---------------------------------------------------------------------------
// Decoding (codec.hpp, packet.hpp, stream.hpp, and the Serf codec above).

enum class decode_fault : std::uint8_t {
  // Decoded.
  none,
  // The input ends inside a value or a layer. A TCP reader whose raw input
  // was cut reads on and decodes again (opened_stream::incomplete); anything
  // else (a datagram, a part, a decrypted or decompressed body) is dropped
  // and counted like `malformed`.
  truncated,
  // Bytes the format does not allow: bad msgpack, a field of the wrong type,
  // an unknown enum value, a state without a Name. Dropped and counted (the
  // transport's udp_malformed / tcp_malformed, core_stats::decode_errors
  // where the core decodes bytes itself); a TCP connection is closed without
  // a reply.
  malformed,
  // A declared count or length over our limits, or output past its budget
  // (nesting depth, the 20 MiB stream limit, node count, LZW output):
  // refused before the bytes are read or kept. Dropped like `malformed`.
  over_limit,
  // A type byte no decoder knows, or a packet layer where one message must
  // stand. Dropped like `malformed`.
  unknown_type,
  // The CRC header does not match the rest (§6): the whole datagram is
  // dropped, none of its messages is looked at.
  crc,
  // The label header is malformed, or the receive policy refuses it (§9):
  // dropped; a TCP stream gets the text back in an err reply, as memberlist
  // sends it, and is closed.
  label,
  // A stream is encrypted while we have no keys, or plain while we do (§8.3;
  // the text is memberlist's own, stream.hpp): err reply, closed. A datagram
  // that should have been encrypted fails as `decrypt`.
  encryption,
  // No installed key decrypts it (§8.2): dropped; a stream gets an err reply.
  decrypt,
};
// "none", "truncated", ... as spelled above.
std::string_view to_string(decode_fault f);

struct decode_error {
  decode_fault fault = decode_fault::none;
  std::size_t offset = 0;  // byte offset in the input given to the decoder
  std::string what;        // what broke and where, for people

  decode_error() = default;
  decode_error(decode_fault f, std::size_t at, std::string text) : fault(f), offset(at), what(std::move(text)) {}
  // Malformed input: how the decoders above the packet layer (the Serf codec,
  // tags, coordinates) report, none of which tells its faults apart.
  decode_error(std::string text, std::size_t at) : decode_error(decode_fault::malformed, at, std::move(text)) {}

  bool failed() const { return fault != decode_fault::none; }
};

// A decrypt fault's text is "decrypt: " and the keyring's reason (packet.cpp,
// stream.cpp build it here); Serf's join report shows the keyring's reason
// alone, which keyring_reason gives back.
decode_error decrypt_error(std::string_view keyring_reason, std::size_t offset);
std::string_view keyring_reason(const decode_error& decrypt);

// ---------------------------------------------------------------------------
// TCP exchanges we start (io::start_push_pull, io::start_tcp_ping).
//
// Whatever the fault, the exchange is over and nothing of a reply was
// applied: the core counts a join's address as failed (and reports the join
// once its last exchange ended), a periodic push/pull merged nothing and
// runs again at its next interval, a failed TCP ping leaves the probe to its
// UDP answers. The Serf layer hands the error, per address, to join reports,
// which the agent words as Serf does (agent/join_text.hpp).
enum class exchange_fault : std::uint8_t {
  // Failed, reason not given (a driver that does not tell, e.g. a simulator).
  unknown,
  // The TCP connection was not made (refused, unreachable): `detail` is the
  // operating system's reason.
  connect,
  // Writing our request failed: `detail` is the OS's reason.
  write,
  // The peer closed the connection without answering a byte.
  eof,
  // Reading failed before the first byte of the reply: `detail` is the OS's
  // reason.
  read,
  // The deadline passed before the reply was complete.
  timeout,
  // A reply came but was refused: `reply` says why (cut short by the peer,
  // malformed, too long, or refused by our label, encryption or keys).
  reply,
  // The peer answered with an err message: `detail` is its text.
  remote,
  // The reply is another message than the request asks for (or the ack of a
  // TCP ping carries another sequence number): `detail` names the request,
  // "push/pull" or "TCP ping".
  unexpected,
  // Our own request could not be encoded or sealed (a configuration fault,
  // e.g. a label over 255 bytes): nothing was sent.
  encode,
  // The reply arrived whole, but the core refused its protocol range
  // (memberlist.md 13.4): nothing of it was merged. Only the Serf layer's
  // join report uses it; drivers never do.
  incompatible,
};

struct exchange_error {
  exchange_fault fault = exchange_fault::unknown;
  std::string detail;  // see the fault
  decode_error reply;  // fault == reply: why the reply was refused

  exchange_error() = default;
  exchange_error(exchange_fault f, std::string text = {}) : fault(f), detail(std::move(text)) {}
  // exchange_fault::reply: the reply came and was refused for `why`.
  static exchange_error refused_reply(decode_error why) {
    exchange_error e(exchange_fault::reply);
    e.reply = std::move(why);
    return e;
  }
};

// The transport's words for it, as its log lines show them:
// "connect: Connection refused", "deadline passed", "read: End of file",
// "reply: <the decoder's text>", "remote error: <text>", ...
std::string to_string(const exchange_error& e);

}  // namespace chorus::swim
