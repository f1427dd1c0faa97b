#pragma once
// Messages as transcript text, both ways. A transcript's inputs are written
// in the same words its outputs are printed in (describe() of
// unit/core/harness.hpp for memberlist messages), so a line copied from an
// expected section can be fed back as an input:
//
//   alive node=n1 inc=1 addr=10.0.0.1:7946 meta=
//   user query ltime=3 id=42 name=deploy source=n1 addr=10.0.0.1:7946 flags=1 relay=1 timeout=1000ms payload=
//
// Peers are named nK and live at 10.0.0.K:7946 (the core harness's
// name_of/addr_of). Byte strings (payload, meta) print as text when every
// byte is a printable non-space ASCII character and as 0x-prefixed hex
// otherwise; empty prints as nothing.
#include <string>
#include <vector>

#include "agent/serf/messages.hpp"
#include "swim/address.hpp"
#include "swim/messages.hpp"
#include "swim/time.hpp"

namespace golden {

using chorus::swim::address;
using chorus::swim::bytes;
using chorus::swim::duration;

// "nK" (10.0.0.K:7946) or "a.b.c.d:port". Throws std::runtime_error.
address parse_address(const std::string& s);
// "250ms", "2s", "1500us". Throws std::runtime_error.
duration parse_duration(const std::string& s);
std::string format_bytes(const bytes& b);
bytes parse_bytes(const std::string& s);

// A memberlist message from its describe() words (the first word is the
// type). Fields left out take the value a test would want (ping source:
// none; alive vsn: the default). Throws std::runtime_error.
chorus::swim::message parse_message(const std::vector<std::string>& words);

// A Serf message, the words after "user".
std::string describe_serf(const chorus::agent::serf_message& m);
chorus::agent::serf_message parse_serf_message(const std::vector<std::string>& words);

}  // namespace golden
