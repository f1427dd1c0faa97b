#pragma once
// DNS messages as mDNS uses them (RFC 1035 wire format, RFC 6762 bits), for
// `-discover`. Only what DNS-SD over mDNS needs: questions and resource
// records, with PTR, SRV, TXT, A and AAAA data decoded; other types are kept
// as opaque data.
//
//   header (12 bytes): ID | flags (QR opcode AA TC RD RA Z RCODE) | QDCOUNT |
//                      ANCOUNT | NSCOUNT | ARCOUNT
//   question:          NAME | TYPE | CLASS (top bit: unicast response wanted)
//   resource record:   NAME | TYPE | CLASS (top bit: cache flush) | TTL |
//                      RDLENGTH | RDATA
//   NAME:              length-prefixed labels ending in 0, or ending in a
//                      2-byte pointer (top bits 11) to an earlier name
//
// The parser takes bytes from anyone on the link: it never throws, never
// reads out of bounds, follows at most `max_pointer_hops` compression
// pointers per name (each must point backwards, so loops are impossible),
// and keeps at most `max_records` records, so its allocation is bounded by
// the input size. The encoder writes names uncompressed.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace chorus::agent::dns {

enum : std::uint16_t { type_a = 1, type_ptr = 12, type_txt = 16, type_aaaa = 28, type_srv = 33, type_any = 255 };
constexpr std::uint16_t class_in = 1;
constexpr std::uint16_t class_top_bit = 0x8000;  // QU in questions, cache-flush in records
constexpr std::uint16_t flag_response = 0x8000;
constexpr std::uint16_t flag_authoritative = 0x0400;

// A name as its labels ("_serf_x", "_tcp", "local"); compared case-insensitively.
using name = std::vector<std::string>;
bool same_name(const name& a, const name& b);
std::string to_text(const name& n);  // "a.b.c." (labels as is)

// RFC 1035 limits: 63 bytes per label, 255 per encoded name.
constexpr std::size_t max_label = 63;
constexpr std::size_t max_name = 255;
// A compression pointer chain longer than this is rejected: a 255-byte name
// has at most 127 labels, so a legitimate chain is far shorter.
constexpr int max_pointer_hops = 32;
// More records than this in one datagram are not kept (a 9000-byte datagram
// holds at most ~800 minimal records; mDNS responders send a handful).
constexpr std::size_t max_records = 256;

struct question {
  name qname;
  std::uint16_t qtype = 0;
  std::uint16_t qclass = class_in;  // with the QU bit as sent
};

struct record {
  name rname;
  std::uint16_t rtype = 0;
  std::uint16_t rclass = class_in;  // with the cache-flush bit as sent
  std::uint32_t ttl = 0;
  // Decoded data by type:
  name target;                                       // PTR: the pointed-to name; SRV: the host
  std::uint16_t priority = 0, weight = 0, port = 0;  // SRV
  std::vector<std::string> txt;                      // TXT strings
  std::vector<std::uint8_t> address;                 // A: 4 bytes, AAAA: 16 bytes
  std::vector<std::uint8_t> raw;                     // other types: RDATA as received
};

struct message {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::vector<question> questions;
  std::vector<record> answers;     // answer section
  std::vector<record> additional;  // authority and additional sections
  bool is_response() const { return (flags & flag_response) != 0; }
};

struct parse_result {
  std::optional<message> msg;
  std::string error;  // why the bytes were rejected
};
parse_result parse(std::span<const std::uint8_t> bytes);

// Empty result if a name or a TXT string is too long to encode.
std::vector<std::uint8_t> encode(const message& m);

}  // namespace chorus::agent::dns
