#pragma once
// Serf message codec: serf_message <-> type byte + go-msgpack struct
// (../shared/protocol/serf.md section 2, msgpack rules of memberlist.md
// section 2). No I/O, never throws on bad input, allocation bounded by the
// input size.
//
//   memberlist user message:  0x08 | serf type | msgpack struct
//   relay (9):                0x09 | msgpack relayHeader | serf type | msgpack struct
//   query filter:             filter type (0 node, 1 tag) | msgpack
//   query/response payloads of internal queries are Serf messages too:
//     _serf_*-key request 0x07 keyRequest, response 0x08 keyResponse,
//     _serf_conflict response 0x06 Member-or-nil
//
// Encoding is byte-identical to Serf's, except where Serf writes a Go map
// (tags, StatusLTimes): Go's order is random, ours is sorted.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "agent/serf/messages.hpp"
#include "swim/codec.hpp"
#include "swim/msgpack.hpp"

namespace chorus::agent {

using swim::decode_error;
using swim::decoded;

// "leave", "join", "pushPull", ... as serf.md names them; "unknown(N)".
std::string serf_type_name(std::uint8_t type);
inline serf_message_type type_of(const serf_message& m) { return static_cast<serf_message_type>(m.index()); }

// Type byte + msgpack. Trailing bytes after the struct are ignored (a relay's
// trailing bytes are its inner message). Unknown types are an error.
decoded<serf_message> decode_serf_message(std::span<const std::uint8_t> in);

// Appends type byte + msgpack.
void encode(const serf_message& m, bytes& out);
bytes encode(const serf_message& m);

// Query filters: one wire filter byte string each.
void encode_filter(const query_filter& f, bytes& out);
// Never fails: an undecodable filter becomes an opaque_filter (Serf: no match).
query_filter decode_filter(std::span<const std::uint8_t> raw);

// Relay: header + an already-encoded inner message.
void encode_relay(const relay_header& h, std::span<const std::uint8_t> inner, bytes& out);

// The member struct alone (msgpack, no type byte). The RPC layer shares its
// keys (go_structs.hpp), not these functions: its member holds other types.
void write_member(msgpack::writer& w, const member_info& m);
bool read_member(const msgpack::value& v, member_info& out, std::string& error);

// Go's map[string]string: any key order, nil values as "", later duplicate
// keys win. Non-string keys or values are an error.
bool read_string_map(const msgpack::value& v, tag_map& out, std::string& error);
void write_string_map(msgpack::writer& w, const tag_map& m);

}  // namespace chorus::agent
