#pragma once
// `chorus decode`: dissects a captured gossip packet (or one direction of a
// gossip TCP stream) and prints every layer and message as JSON. The logic
// lives here, CLI11 stays in main.cpp.
#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "swim/messages.hpp"

namespace chorus::cli {

struct decode_options {
  std::vector<std::string> keys_base64;  // --key, primary first; empty = no encryption
  bool stream = false;                   // --stream: input is a TCP stream direction
};

struct decode_report {
  nlohmann::json doc;  // what was understood, and where it broke
  bool ok = false;     // everything decoded
};

// Bytes of a UDP datagram or a TCP direction -> JSON.
decode_report decode_capture(std::span<const std::uint8_t> input, const decode_options& opt);

// A memberlist message's fields, in the vectors' shape (IPs, Meta tags, ack
// coordinate and Serf payloads decoded).
nlohmann::json message_json(const swim::message& m);
nlohmann::json push_node_state_json(const swim::push_node_state& s);

// Input text: hex (whitespace ignored, optional 0x) or, if it is not hex and
// `allow_raw` (stdin), the raw bytes themselves. `error` set on failure.
struct parsed_input {
  std::vector<std::uint8_t> data;
  std::string error;
};
parsed_input parse_input(const std::string& text, bool allow_raw);

// The whole subcommand: `arg` is HEX or "-" (stdin). Prints JSON to `out`,
// returns the exit code (0 decoded, 1 undecodable or bad arguments).
int run_decode(const std::string& arg, const decode_options& opt, std::istream& in, std::ostream& out,
               std::ostream& err);

}  // namespace chorus::cli
